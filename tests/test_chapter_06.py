"""Chapter 06 writes the recipe out in the open; these tests check that it is the helpers' recipe, and that the
helpers' width floor is what the chapter says it is."""

import torch

from helpers import MixtureDensityNetwork, inverted_data, mdn_loss, seed_everything, train, train_mixture_density_network


def recipe_network(inputs, targets):
    """Chapter 06's inline version: 2 x 32 tanh, K = 12, adapted to the data, first layer 4 times steeper."""
    model = MixtureDensityNetwork(n_components=12, n_hidden=32, n_layers=2).adapt_to_data(inputs, targets)
    with torch.no_grad():
        model.hidden[0].weight.mul_(4.0)
        model.hidden[0].bias.mul_(4.0)
    return model


def train_with_recipe(model, inputs, targets, loss_fn, epochs=70, batch_size=1000, decay=True, seed=0, progress=True):
    """Chapter 06's inline version: fused Adam at 0.02, cosine decay to 0 over the epochs, batches of 1000."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02, fused=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if decay else None
    return train(model, inputs, targets, loss_fn, optimizer, epochs, batch_size=batch_size, scheduler=scheduler,
                 seed=seed, progress=progress)


def test_inline_recipe_trains_as_the_helper():
    inputs, targets = inverted_data(20_000, seed=0)
    seed_everything(0)
    open_model = recipe_network(inputs, targets)
    open_history = train_with_recipe(open_model, inputs, targets, mdn_loss, epochs=3, seed=0, progress=False)
    _, helper_history = train_mixture_density_network(inputs, targets, epochs=3, seed=0, progress=False)
    assert torch.allclose(torch.tensor(open_history), torch.tensor(helper_history), rtol=1e-5)


def test_floored_width_is_the_plain_width_plus_the_floor():
    """Chapter 06, section 3: sigma = (exp(s) + floor) * std(targets), so the floor adds floor * std(targets)."""
    inputs, targets = inverted_data(20_000, seed=0)
    test_inputs, _ = inverted_data(100, seed=1)
    seed_everything(0)
    plain_network = recipe_network(inputs, targets)
    seed_everything(0)
    floored_network = recipe_network(inputs, targets)
    floored_network.sigma_floor.fill_(0.05)
    with torch.no_grad():
        _, plain_sigma, _ = plain_network(test_inputs)
        _, floored_sigma, _ = floored_network(test_inputs)
    assert torch.allclose(floored_sigma, plain_sigma + 0.05 * targets.std(), atol=1e-5)
