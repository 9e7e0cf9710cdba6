"""Checks moved out of chapter 03: its inline code computes exactly what the helpers it introduces compute."""

import math

import torch
from torch import nn

from helpers import (MixtureDensityNetwork, density_then_log_nll, held_out_gap, inverted_data, mdn_loss,
                     mixture_log_density, mixture_nll, true_conditional_log_density)


class RecipeMixtureDensityNetwork(nn.Module):
    """Chapter 03's MDN of the original recipe, returning (pi, sigma, mu), each of shape (N, K)."""

    def __init__(self, n_components=5, n_hidden=20):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
        self.pi_head = nn.Linear(n_hidden, n_components)
        self.sigma_head = nn.Linear(n_hidden, n_components)
        self.mu_head = nn.Linear(n_hidden, n_components)

    def forward(self, inputs):
        hidden = self.hidden(inputs)
        return torch.softmax(self.pi_head(hidden), dim=1), torch.exp(self.sigma_head(hidden)), self.mu_head(hidden)


def naive_mixture_nll(pi, sigma, mu, targets):
    """Chapter 03's density-then-log loss; targets of shape (N, 1)."""
    densities = torch.exp(-0.5 * ((targets - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return -torch.log((pi * densities).sum(dim=1)).mean()


def test_helper_network_before_adapting_is_the_recipe_network():
    torch.manual_seed(0)
    recipe_network = RecipeMixtureDensityNetwork()
    helper_network = MixtureDensityNetwork()
    helper_network.load_state_dict(recipe_network.state_dict(), strict=False)  # the scaling buffers keep their defaults
    check_inputs = 10 * torch.randn(100, 1)
    pi, sigma, mu = recipe_network(check_inputs)
    log_pi, helper_sigma, helper_mu = helper_network(check_inputs)
    assert torch.allclose(log_pi.exp(), pi, atol=1e-6)
    # The helper computes its three heads as one product, so float32 rounding differs in the last bits: an absolute
    # tolerance, since some means lie near 0, where a relative one is meaningless.
    assert torch.allclose(helper_sigma, sigma, atol=1e-6) and torch.allclose(helper_mu, mu, atol=1e-6)


def test_mdn_loss_is_mixture_nll_of_the_model_outputs():
    train_inputs, train_targets = inverted_data(5000, seed=0)
    check_model = MixtureDensityNetwork(n_components=5)
    assert torch.equal(mdn_loss(check_model(train_inputs), train_targets),
                       mixture_nll(*check_model(train_inputs), train_targets))


def test_density_then_log_nll_is_the_naive_loss():
    generator = torch.Generator().manual_seed(0)
    log_pi = torch.log_softmax(torch.randn(1000, 5, generator=generator, dtype=torch.float64), dim=1)
    sigma = torch.exp(torch.randn(1000, 5, generator=generator, dtype=torch.float64))
    mu = 3 * torch.randn(1000, 5, generator=generator, dtype=torch.float64)
    targets = 3 * torch.randn(1000, 1, generator=generator, dtype=torch.float64)
    assert torch.equal(density_then_log_nll(log_pi, sigma, mu, targets), naive_mixture_nll(log_pi.exp(), sigma, mu, targets))


def test_held_out_gap_is_the_chapters_gap():
    torch.manual_seed(0)
    train_inputs, train_targets = inverted_data(2000, seed=0)
    test_inputs, test_targets = inverted_data(2000, seed=1)
    model = MixtureDensityNetwork(n_components=5).adapt_to_data(train_inputs, train_targets)
    with torch.no_grad():
        model_log_density = mixture_log_density(*model(test_inputs), test_targets)
    true_log_density = true_conditional_log_density(test_inputs, test_targets)[:, 0]
    gap_per_point = true_log_density - model_log_density.double()[:, 0]
    gap, gap_standard_error = gap_per_point.mean().item(), gap_per_point.std().item() / math.sqrt(len(gap_per_point))
    helper_gap, helper_standard_error = held_out_gap(model, test_inputs, test_targets)
    assert abs(helper_gap - gap) < 1e-6 and abs(helper_standard_error - gap_standard_error) < 1e-6
