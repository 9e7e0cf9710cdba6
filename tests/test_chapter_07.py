"""Chapter 07 builds the arm inline (hand_position, arm_data, mirror_configuration); helpers.py has the same arm for
the exercises. The chapter's inline code is copied here and compared with the helpers."""

import math

import torch

import helpers

LINK_1, LINK_2 = 0.8, 0.2
SENSOR_NOISE = 0.005


def hand_position(angles):
    shoulder, elbow = angles[:, :1], angles[:, 1:]
    return torch.cat([LINK_1 * torch.cos(shoulder) + LINK_2 * torch.cos(shoulder + elbow),
                      LINK_1 * torch.sin(shoulder) + LINK_2 * torch.sin(shoulder + elbow)], dim=1)


def arm_data(n, seed):
    generator = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, 2, generator=generator)
    angles = torch.stack([0.3 + 0.9 * uniform[:, 0], math.pi / 2 + math.pi * uniform[:, 1]], dim=1)
    return hand_position(angles) + SENSOR_NOISE * torch.randn(n, 2, generator=generator), angles


def mirror_configuration(angles):
    shoulder, elbow = angles[:, 0], angles[:, 1]
    turn = torch.atan2(LINK_2 * torch.sin(elbow), LINK_1 + LINK_2 * torch.cos(elbow))
    return torch.stack([shoulder + 2 * turn, 2 * math.pi - elbow], dim=1)


def test_the_chapters_arm_is_the_helpers_arm():
    assert (LINK_1, LINK_2) == tuple(helpers.ARM_LINKS) and SENSOR_NOISE == helpers.ARM_SENSOR_NOISE
    for built_here, from_helpers in zip(arm_data(100, seed=0), helpers.arm_data(100, seed=0)):
        assert torch.equal(built_here, from_helpers)
    some_angles = arm_data(100, seed=0)[1]
    assert torch.equal(hand_position(some_angles), helpers.hand_position(some_angles))
    assert torch.equal(mirror_configuration(some_angles), helpers.mirror_configuration(some_angles))
