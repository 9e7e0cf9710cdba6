"""Chapter 05 writes some computations out in the open; these tests check that they agree with the helpers
that other chapters use."""

import math

import torch

import helpers
from helpers import inverted_data, mixture_log_density, recipe_network, true_conditional_log_density


def probability_integral_transform(log_pi, sigma, mu, targets):
    """Chapter 05's inline version: the mixture's CDF at each target, F(target | input), shape (N,)."""
    return (log_pi.exp() * torch.special.ndtr((targets - mu) / sigma)).sum(dim=1)


def distance_from_uniform(values):
    """Chapter 05's inline version: the Kolmogorov-Smirnov distance from the uniform CDF on [0, 1]."""
    ordered = values.sort().values
    n = len(ordered)
    above = torch.arange(1, n + 1) / n - ordered
    below = ordered - torch.arange(0, n) / n
    return torch.maximum(above, below).max().item()


def _mixture(n=2000, seed=0):
    inputs, targets = inverted_data(n, seed=seed)
    torch.manual_seed(seed)
    model = recipe_network(inputs, targets)
    with torch.no_grad():
        log_pi, sigma, mu = model(inputs)
    return model, inputs, targets, log_pi, sigma, mu


def test_inline_pit_and_distance_equal_the_helpers():
    _, _, targets, log_pi, sigma, mu = _mixture()
    pit = probability_integral_transform(log_pi, sigma, mu, targets)
    assert torch.equal(pit, helpers.probability_integral_transform(log_pi, sigma, mu, targets))
    assert distance_from_uniform(pit) == helpers.distance_from_uniform(pit)
    uniform = torch.rand(5000, generator=torch.Generator().manual_seed(1))
    assert distance_from_uniform(uniform) == helpers.distance_from_uniform(uniform)


def test_mean_gap_per_point_equals_held_out_gap():
    """Chapter 05, section 2: the per-point gaps it bins average to helpers.held_out_gap's gap."""
    model, inputs, targets, log_pi, sigma, mu = _mixture()
    gap_per_point = (true_conditional_log_density(inputs, targets)
                     - mixture_log_density(log_pi, sigma, mu, targets).double())[:, 0]
    gap, _ = helpers.held_out_gap(model, inputs, targets)
    assert math.isclose(gap_per_point.mean().item(), gap, abs_tol=1e-6)
