"""Chapter 01's inline code equals the helpers that later chapters use in its place.

Chapter 01 teaches the data, the network and the training loop written out; later chapters call `forward_data`,
`mse_network` and `train` instead. These tests rebuild the chapter's inline versions and compare them with the helpers.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from helpers import Standardise, forward_data, mse_network, seed_everything, train


def make_forward_data(n, seed):
    """The data recipe of chapter 01, written out: x uniform on [-10.5, 10.5], y = f(x) + N(0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, generator=generator) * 2 - 1) * 10.5  # uniform on [-10.5, 10.5]
    y = 7 * torch.sin(0.75 * x) + 0.5 * x + torch.randn(n, 1, generator=generator)
    return x, y


def test_forward_data_follows_the_written_out_recipe():
    for n, seed in [(100, 3), (1000, 0)]:
        for written_out, helper in zip(make_forward_data(n, seed), forward_data(n, seed)):
            assert torch.equal(written_out, helper)


def test_mse_network_is_the_network_built_in_the_chapter():
    train_x, _ = forward_data(1000, seed=0)
    network = nn.Sequential(Standardise(train_x), nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))
    assert repr(network) == repr(mse_network(train_x))
    seed_everything(0)
    written_out = nn.Sequential(Standardise(train_x), nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))
    seed_everything(0)
    helper = mse_network(train_x)
    for a, b in zip(written_out.state_dict().values(), helper.state_dict().values()):
        assert torch.equal(a, b), "the same seed gives the same initial weights"


def test_train_follows_the_chapters_loop():
    train_x, train_y = forward_data(1000, seed=0)
    seed_everything(0)
    network = mse_network(train_x)
    initial_network = copy.deepcopy(network)

    # Chapter 01's loop, written out (20 of its 3 000 full-batch steps).
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    history = []
    for epoch in range(20):
        loss = F.mse_loss(network(train_x), train_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())

    helper_history = train(initial_network, train_x, train_y, F.mse_loss,
                           torch.optim.Adam(initial_network.parameters(), lr=0.01), epochs=20, progress=False)
    # rtol 1e-4: the helper accumulates the epoch's loss as a weighted sum, which may round differently
    assert torch.allclose(torch.tensor(helper_history), torch.tensor(history), rtol=1e-4)
    assert history[-1] < history[0], "the loop trains: a comparison of two frozen networks would prove nothing"
