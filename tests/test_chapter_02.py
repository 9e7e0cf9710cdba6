"""Chapter 02's conditional density at y = 3, written out, equals the helpers that compute it for many inputs.

Chapter 02 computes p(x | y = 3) and its mean on a grid by hand; later cells and chapters call
`true_conditional_log_density` and `true_conditional_mean` instead. These tests rebuild the chapter's inline
computation and compare.
"""

import torch

from helpers import true_conditional_log_density, true_conditional_mean, true_function


def density_and_mean_written_out(y0):
    """Chapter 02's computation: the normalised density p(x | y0) on a grid of x, and its mean."""
    x_grid = torch.linspace(-10.5, 10.5, 2001, dtype=torch.float64)
    log_likelihood = -0.5 * (y0 - true_function(x_grid)) ** 2  # log N(y0; f(x), 1), up to a constant
    unnormalised = torch.exp(log_likelihood - log_likelihood.max())  # subtract the max first: no underflow
    density = unnormalised / torch.trapezoid(unnormalised, x_grid)
    return x_grid, density, torch.trapezoid(x_grid * density, x_grid)


def test_the_helpers_compute_the_chapters_density_and_mean():
    for y0 in (3.0, -7.5, 0.0, 12.0):
        x_grid, density, mean = density_and_mean_written_out(y0)
        helper_density = true_conditional_log_density(torch.tensor([[y0]]), x_grid[None, :]).exp()[0]
        assert torch.allclose(density, helper_density, rtol=1e-6, atol=1e-12)
        assert torch.isclose(mean, true_conditional_mean(torch.tensor([[y0]]))[0, 0], atol=1e-6)


def test_a_wrong_density_fails_the_comparison():
    x_grid, density, mean = density_and_mean_written_out(3.0)
    shifted = true_conditional_log_density(torch.tensor([[3.5]]), x_grid[None, :]).exp()[0]
    assert not torch.allclose(density, shifted, rtol=1e-6, atol=1e-12)
