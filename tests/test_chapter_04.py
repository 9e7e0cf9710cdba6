"""Checks moved out of chapter 04: its inline Gumbel-max sampler draws exactly what helpers.gumbel_max_choice draws."""

import torch

from helpers import gumbel_max_choice


def gumbel_max(log_pi, generator):
    """Chapter 04's sampler: one component index per row of log_pi (N, K), chosen with probability pi."""
    uniform = torch.rand(log_pi.shape, generator=generator)
    return torch.argmax(log_pi + -torch.log(-torch.log(uniform)), dim=1)


def test_gumbel_max_choice_is_the_chapters_sampler():
    fixed_pi = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03], dtype=torch.float64)
    rows_of_log_pi = fixed_pi.log().expand(200_000, -1)
    choices = gumbel_max(rows_of_log_pi, torch.Generator().manual_seed(0))
    assert torch.equal(gumbel_max_choice(rows_of_log_pi, torch.Generator().manual_seed(0)), choices)


def test_gumbel_max_choice_is_the_chapters_wrong_sampler_when_handed_pi():
    """Chapter 04 and its solutions draw the wrong sampler (noise on pi) with either function."""
    fixed_pi = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03], dtype=torch.float64).expand(200_000, -1)
    assert torch.equal(gumbel_max_choice(fixed_pi, torch.Generator().manual_seed(0)),
                       gumbel_max(fixed_pi, torch.Generator().manual_seed(0)))
