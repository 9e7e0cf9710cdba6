"""Shared code for the mdn-tutorial notebooks: data, the true density, the MDN, its loss, sampling, training, plots.

Conventions used everywhere below:
- inputs and targets are float tensors of shape (N, 1): one row per example;
- a mixture with K components is described by log_pi (N, K), the log mixture weights, and sigma and mu, the
  standard deviations (> 0) and means: (N, K) for 1-D targets, (N, K, D) for D-dimensional ones (each component
  a Gaussian with a diagonal covariance); the 1-D case is the D = 1 case of the same code; for full covariances
  (D >= 2), sigma is instead each component's Cholesky factor scale_tril (N, K, D, D), lower-triangular with a
  positive diagonal, Sigma = L L^T, and every mixture helper tells the two apart by that shape;
- log densities for T targets per row have shape (N, T); D-dimensional targets have shape (N, D).
"""

import copy
import functools
import math
import numbers
import os
import random
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

DATA_BOUND = 10.5  # x ~ Uniform(-DATA_BOUND, DATA_BOUND)
NOISE_STD = 1.0  # y = true_function(x) + N(0, NOISE_STD^2)
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
DATA_ADVICE = "drop or fix those rows before training"
MIXTURE_ADVICE = (
    "every mixture parameter must be a number and every sigma positive and finite; from a network this usually "
    "means training diverged: lower the learning rate, use the log-space loss mixture_nll, and check the inputs "
    "and targets for NaN, inf or outliers"
)

# These models are tiny: one CPU thread trains them as fast as several on a quiet machine, and many times faster on a
# busy one, where threads that wait for a core spin. Set the OMP_NUM_THREADS environment variable to choose otherwise.
CPU_THREADS = int(os.environ.get("OMP_NUM_THREADS") or 1)
torch.set_num_threads(CPU_THREADS)


# ----------------------------------------------------------------------------------------------
# Input checks: every public helper refuses bad input with a ValueError that says what to pass instead
# ----------------------------------------------------------------------------------------------


def _check_tensor(name: str, value, shape: str, dims: int | None = None) -> None:
    """Raise a clear error unless value is a floating-point tensor, with dims dimensions if given (shape: in words)."""
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a float tensor of shape {shape}, got a {type(value).__name__}: "
                         "convert it with torch.as_tensor(values, dtype=torch.float32)")
    if not value.is_floating_point():
        raise ValueError(f"{name} must hold floating-point numbers, got dtype {value.dtype}: convert it with .float()")
    if dims is not None and value.dim() != dims:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")


def _check_integer(name: str, value, minimum: int, advice: str = "") -> None:
    """Raise a clear error unless value is an integer (not a bool) of at least minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}{advice}")


def _check_number(name: str, value, allowed, description: str) -> None:
    """Raise a clear error unless value is a finite real number for which allowed(value) holds (description: which)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or not allowed(value):
        raise ValueError(f"{name} must be {description}, got {value!r}")


def _check_seed(seed) -> None:
    """Raise a clear error unless seed is an integer that PyTorch and NumPy both accept."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer from 0 to 2**32 - 1 (NumPy's range), got {seed!r}")


def _check_module(name: str, value) -> None:
    """Raise a clear error unless value is a torch module with parameters."""
    if not isinstance(value, nn.Module) or next(value.parameters(), None) is None:
        raise ValueError(f"{name} must be a torch.nn.Module with parameters (a network), got {type(value).__name__}")


def _check_models(models, kind: type = nn.Module) -> None:
    """Raise a clear error unless models is a non-empty list of modules of the given kind."""
    if not isinstance(models, (list, tuple)) or not models or not all(isinstance(model, kind) for model in models):
        raise ValueError(f"models must be a non-empty list of {kind.__name__}s, got {models!r:.80}")


def _check_rows(inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise a clear error unless inputs is (N, d) and targets is (N, T), both float tensors."""
    _check_tensor("inputs", inputs, "(N, number of input features)")
    _check_tensor("targets", targets, "(N, T)")
    if inputs.dim() != 2:
        raise ValueError(f"inputs must have shape (N, number of input features), got {tuple(inputs.shape)}")
    if targets.dim() != 2 or targets.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"targets must have shape (N, T) with N = {inputs.shape[0]} rows like the inputs, "
            f"got {tuple(targets.shape)}; reshape a vector of targets with .reshape(-1, 1)"
        )


def _check_finite(name: str, values: torch.Tensor, advice: str) -> None:
    """Raise a ValueError if values hold NaN or inf, saying name, in how many rows and the first few row indices."""
    bad = ~torch.isfinite(values)
    if not bool(bad.any()):
        return
    bad_rows = bad.reshape(values.shape[0] if values.dim() else 1, -1).any(dim=1)
    count = int(bad_rows.sum())
    listed = ", ".join(str(row) for row in bad_rows.nonzero()[:5, 0].tolist()) + (", ..." if count > 5 else "")
    rows = "rows" if count > 1 else "row"
    raise ValueError(f"{name} hold NaN or inf in {count} {rows} ({rows} {listed}): {advice}")


# ----------------------------------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and all GPUs)."""
    _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# ----------------------------------------------------------------------------------------------
# The toy problem
# ----------------------------------------------------------------------------------------------


def true_function(x: torch.Tensor) -> torch.Tensor:
    """The noise-free curve of the toy problem, f(x) = 7 sin(0.75 x) + 0.5 x."""
    _check_tensor("x", x, "(N, 1) or any other")
    _check_finite("the values x", x, "pass finite inputs")
    return 7.0 * torch.sin(0.75 * x) + 0.5 * x


def forward_data(n: int, seed: int, noise_std: float = NOISE_STD) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n points (x, y) of the forward problem, each of shape (n, 1), on the CPU; noise_std: the noise's width."""
    _check_integer("n", n, 1, ": the number of points to draw is a positive integer")
    _check_seed(seed)
    _check_number("noise_std", noise_std, lambda value: value >= 0, "a finite number >= 0 (0: no noise)")
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, generator=generator) * 2 - 1) * DATA_BOUND
    y = true_function(x) + noise_std * torch.randn(n, 1, generator=generator)
    return x, y


def inverted_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n points of the inverted problem: returns (inputs, targets) = (y, x), each of shape (n, 1)."""
    x, y = forward_data(n, seed)
    return y, x


ARM_LINKS = (0.8, 0.2)  # notebook 07's two-joint arm: upper arm and forearm lengths
ARM_SENSOR_NOISE = 0.005  # standard deviation of each measured hand coordinate
_ARM_SHOULDER_RANGE = (0.3, 1.2)  # arm_data draws the shoulder angle uniformly from this range (radians)
_ARM_ELBOW_RANGE = (math.pi / 2, 1.5 * math.pi)  # and the elbow angle from this one


def hand_position(angles: torch.Tensor) -> torch.Tensor:
    """Forward kinematics of notebook 07's arm: joint angles (N, 2) to hand positions (N, 2)."""
    _check_tensor("angles", angles, "(N, 2): a shoulder and an elbow angle per row, in radians", dims=2)
    if angles.shape[1] != 2:
        raise ValueError(f"angles must have shape (N, 2): a shoulder and an elbow angle per row, got {tuple(angles.shape)}")
    _check_finite("the angles", angles, "pass finite angles in radians")
    shoulder, elbow = angles[:, :1], angles[:, 1:]
    return torch.cat([ARM_LINKS[0] * torch.cos(shoulder) + ARM_LINKS[1] * torch.cos(shoulder + elbow),
                      ARM_LINKS[0] * torch.sin(shoulder) + ARM_LINKS[1] * torch.sin(shoulder + elbow)], dim=1)


def arm_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n random arm configurations: (hand positions as the sensor measures them, joint angles), each (n, 2)."""
    _check_integer("n", n, 1, ": the number of configurations to draw is a positive integer")
    _check_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, 2, generator=generator)
    angles = torch.stack([low + (high - low) * uniform[:, column]
                          for column, (low, high) in enumerate([_ARM_SHOULDER_RANGE, _ARM_ELBOW_RANGE])], dim=1)
    return hand_position(angles) + ARM_SENSOR_NOISE * torch.randn(n, 2, generator=generator), angles


def mirror_configuration(angles: torch.Tensor) -> torch.Tensor:
    """The other configuration (elbow flipped) that puts the arm's hand at the same place, for angles (N, 2)."""
    _check_tensor("angles", angles, "(N, 2): a shoulder and an elbow angle per row, in radians", dims=2)
    if angles.shape[1] != 2:
        raise ValueError(f"angles must have shape (N, 2): a shoulder and an elbow angle per row, got {tuple(angles.shape)}")
    _check_finite("the angles", angles, "pass finite angles in radians")
    shoulder, elbow = angles[:, 0], angles[:, 1]
    return torch.stack([shoulder + 2 * _elbow_turn(elbow), 2 * math.pi - elbow], dim=1)


def _elbow_turn(elbow: torch.Tensor) -> torch.Tensor:
    """The angle at the shoulder between the upper arm and the line from the shoulder to the hand, for elbow angles."""
    return torch.atan2(ARM_LINKS[1] * torch.sin(elbow), ARM_LINKS[0] + ARM_LINKS[1] * torch.cos(elbow))


_ARM_FARTHEST_READING = 10  # sensor widths: the sensor reads farther than this from the arm's reach once in e^50


def _window(width: float, outside: torch.Tensor) -> torch.Tensor:
    """How far (in a Gaussian's widths) from its highest point in a box a Gaussian stays above exp(-width^2 / 2) of its
    value there, when its peak lies `outside` widths beyond the box's edge: width for a peak inside, less farther out."""
    return (outside**2 + width**2).sqrt() - outside


def _arm_log_normaliser(hand: torch.Tensor, nodes: int = 40, width: float = 8.0,
                        chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """log of the integral over the prior's box of N(hand; hand_position(angles), ARM_SENSOR_NOISE^2 I) d(angles), for
    hand (N, 2), in float64; and each reading's distance to the nearest lattice node's hand (to refuse far readings).

    The integrand is negligible except near at most two small regions of angles, one on each side of the fully folded
    elbow (elbow < pi and elbow > pi, the second link folded back at pi: a configuration and its mirror). In polar
    coordinates the hand of (shoulder, elbow) lies at radius r(elbow) and angle shoulder + b(elbow), so
    |hand - hand_position(angles)|^2 = (|hand| - r)^2
    + 4 r |hand| sin^2(u / 2) with u = shoulder + b(elbow) - angle(hand). Each region is integrated over (elbow, u), a
    shear of (elbow, shoulder) with Jacobian 1: the elbows whose radius lies within `width` sensor widths of |hand|, and
    for each the u within `width` angular widths of the peak (fewer for a reading beyond the arm's reach, where the
    integrand falls faster), both clipped to the prior's box, on a nodes x nodes Gauss-Legendre lattice (accurate up to
    the box's edges, where a uniform lattice's trapezoid rule is not), summed in log space."""
    link_1, link_2 = ARM_LINKS
    noise = ARM_SENSOR_NOISE
    points, log_weights = np.polynomial.legendre.leggauss(nodes)
    points = torch.as_tensor(points, dtype=torch.float64)
    log_weights = torch.as_tensor(log_weights, dtype=torch.float64).log()
    shoulder_low, shoulder_high = _ARM_SHOULDER_RANGE
    centre = (shoulder_low + shoulder_high) / 2
    reach_low, reach_high = link_1 - link_2, math.hypot(link_1, link_2)  # the radii of elbow = pi and elbow = pi / 2

    def elbow_of_radius(radius):  # the elbow angle in [pi / 2, pi] that puts the hand at this radius
        cosine = ((radius**2 - link_1**2 - link_2**2) / (2 * link_1 * link_2)).clamp(-1.0, 0.0)
        return torch.acos(cosine)

    normalisers, distances = [], []
    for rows in hand.detach().cpu().double().split(chunk):
        radius = rows.norm(dim=1)
        angle = rows[:, 1].atan2(rows[:, 0])
        angle = centre + torch.remainder(angle - centre + math.pi, 2 * math.pi) - math.pi  # nearest the box's angles
        nearest = radius.clamp(reach_low, reach_high)  # the reachable radius nearest the reading
        reach = _window(width, (radius - nearest).abs() / noise) * noise
        elbow_low = elbow_of_radius((nearest + reach).clamp(max=reach_high))
        elbow_high = elbow_of_radius((nearest - reach).clamp(min=reach_low))
        half, middle = (elbow_high - elbow_low) / 2, (elbow_high + elbow_low) / 2
        below = middle[:, None] + half[:, None] * points  # (n, nodes) elbows in [pi / 2, pi]
        elbow = torch.cat([below, 2 * math.pi - below], dim=1)  # and their mirrors in [pi, 3 pi / 2]: (n, 2 nodes)
        log_elbow_weights = (half[:, None].log() + log_weights).repeat(1, 2)
        arm_radius = ((link_1 - link_2) ** 2 + 4 * link_1 * link_2 * torch.cos(elbow / 2) ** 2).sqrt()
        turn = _elbow_turn(elbow)
        u_low = shoulder_low + turn - angle[:, None]  # the prior's box in u, for each elbow
        u_high = shoulder_high + turn - angle[:, None]
        u_peak = torch.clamp(torch.zeros_like(u_low), u_low, u_high)
        u_width = noise / (arm_radius * radius[:, None]).clamp(min=1e-12).sqrt()
        u_reach = _window(width, u_peak.abs() / u_width) * u_width
        u_start = torch.maximum(u_low, u_peak - u_reach)
        u_end = torch.minimum(u_high, u_peak + u_reach)
        u_half, u_middle = (u_end - u_start) / 2, (u_end + u_start) / 2
        u = u_middle[:, :, None] + u_half[:, :, None] * points  # (n, 2 nodes, nodes)
        squared_distance = ((radius[:, None] - arm_radius) ** 2)[:, :, None] + \
            4 * (arm_radius * radius[:, None])[:, :, None] * torch.sin(u / 2) ** 2
        log_integrand = -0.5 * squared_distance / noise**2 - math.log(2 * math.pi * noise**2)
        log_lattice_weights = log_elbow_weights[:, :, None] + u_half[:, :, None].log() + log_weights
        normalisers.append(torch.logsumexp((log_integrand + log_lattice_weights).flatten(1), dim=1))
        distances.append(squared_distance.flatten(1).min(dim=1).values.sqrt())
    return torch.cat(normalisers), torch.cat(distances)


def arm_true_log_density(hand: torch.Tensor, angles: torch.Tensor, nodes: int = 40) -> torch.Tensor:
    """Exact log p(angles | measured hand) of notebook 07's arm for hand and angles (N, 2): (N,), float64 on the CPU;
    nodes: the lattice's points a side around each configuration (40 is exact to about 1e-8 nats)."""
    _check_tensor("hand", hand, "(N, 2): a measured hand position per row", dims=2)
    if hand.shape[1] != 2:
        raise ValueError(f"hand must have shape (N, 2): a measured hand position (h_1, h_2) per row, "
                         f"got {tuple(hand.shape)}")
    _check_tensor("angles", angles, "(N, 2): a shoulder and an elbow angle per row, in radians", dims=2)
    if angles.shape != hand.shape:
        raise ValueError(f"angles must have shape (N, 2) = {tuple(hand.shape)} like hand: a shoulder and an elbow "
                         f"angle per row, got {tuple(angles.shape)}")
    if len(hand) == 0:
        raise ValueError("hand is empty: pass at least one measured hand position")
    _check_finite("the hand positions", hand, "pass finite measured positions")
    _check_finite("the angles", angles, "pass finite angles in radians")
    _check_integer("nodes", nodes, 8, ": the lattice needs at least 8 points a side; 40 is exact to about 1e-8 nats")
    hand, angles = hand.detach().cpu().double(), angles.detach().cpu().double()
    log_normaliser, distance = _arm_log_normaliser(hand, nodes=nodes)
    far = distance > _ARM_FARTHEST_READING * ARM_SENSOR_NOISE
    if bool(far.any()):
        rows = ", ".join(str(row) for row in far.nonzero()[:5, 0].tolist())
        raise ValueError(f"hand holds readings more than {_ARM_FARTHEST_READING} sensor widths "
                         f"({_ARM_FARTHEST_READING * ARM_SENSOR_NOISE:g}) from every position the arm reaches (rows "
                         f"{rows}), which its sensor never gives: pass measured hand positions, such as arm_data returns")
    log_likelihood = _normal_log_density(hand, hand_position(angles), ARM_SENSOR_NOISE).sum(dim=1)
    in_box = ((angles[:, 0] >= _ARM_SHOULDER_RANGE[0]) & (angles[:, 0] <= _ARM_SHOULDER_RANGE[1])
              & (angles[:, 1] >= _ARM_ELBOW_RANGE[0]) & (angles[:, 1] <= _ARM_ELBOW_RANGE[1]))
    return torch.where(in_box, log_likelihood - log_normaliser, -math.inf)  # the prior's constant cancels


OLD_FAITHFUL_PATH = Path(__file__).resolve().parent / "data" / "old_faithful.csv"  # source: data/README.md


def old_faithful(path: str | Path = OLD_FAITHFUL_PATH) -> tuple[torch.Tensor, torch.Tensor]:
    """Notebook 08's Old Faithful data: (waiting times, eruption durations) in minutes, each (N, 1), float32 (N = 272)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path (a str or pathlib.Path), got a {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the Old Faithful data is not at {path}: it ships with the series as "
                                "data/old_faithful.csv; open the notebook from a checkout of the series")
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    if not lines or lines[0].strip() != "eruptions,waiting":
        raise ValueError(f"{path} must start with the header 'eruptions,waiting', got {lines[:1]}: "
                         "restore the file from the series")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            eruptions, waiting = (float(field) for field in line.split(","))
        except ValueError:
            raise ValueError(f"line {number} of {path} is not two numbers separated by a comma: {line!r}") from None
        if not (math.isfinite(eruptions) and math.isfinite(waiting) and eruptions > 0 and waiting > 0):
            raise ValueError(f"line {number} of {path} must hold two positive durations in minutes, got {line!r}")
        rows.append((waiting, eruptions))
    if len(rows) < 2:
        raise ValueError(f"{path} holds only {len(rows)} data row(s); the Old Faithful data has 272: restore the file")
    data = torch.tensor(rows, dtype=torch.float32)
    return data[:, :1], data[:, 1:]


# ----------------------------------------------------------------------------------------------
# The true conditional density of the inverted problem, p(x | y)
# ----------------------------------------------------------------------------------------------


def _trapezoid_grid(grid_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points over |x| <= DATA_BOUND, in float64, and their trapezoid rule's weights (half weight at both ends)."""
    grid = torch.linspace(-DATA_BOUND, DATA_BOUND, grid_size, dtype=torch.float64)
    rule = torch.full_like(grid, grid[1] - grid[0])
    rule[0] = rule[-1] = rule[0] / 2
    return grid, rule


def _shifted_likelihoods(inputs: torch.Tensor, grid: torch.Tensor, chunk: int = 2048):
    """For each chunk of inputs y (n, 1): N(y; f(x), 1) at every x of the grid, divided by its largest value in each
    row (a log-sum-exp's shift), (n, grid), and the smallest squared distance, (n, 1), which gives that value back.
    In chunks, so that 20 000 inputs never need a 20 000 x 2001 matrix; f is computed on the grid once."""
    curve = true_function(grid)
    for rows in inputs.detach().cpu().double().split(chunk):
        squared = ((rows - curve) / NOISE_STD) ** 2
        closest = squared.amin(dim=1, keepdim=True)
        yield squared.sub_(closest).mul_(-0.5).exp_(), closest


def _true_log_normaliser(inputs: torch.Tensor, grid_size: int = 2001) -> torch.Tensor:
    """log of the integral over |x| <= DATA_BOUND of N(y; f(x), 1) dx, for each y in inputs (N, 1), in float64."""
    grid, rule = _trapezoid_grid(grid_size)
    pieces = [(shifted @ rule[:, None]).log_() - 0.5 * closest for shifted, closest in _shifted_likelihoods(inputs, grid)]
    return torch.cat(pieces) - math.log(NOISE_STD) - LOG_SQRT_2PI  # and the Gaussian's constant


def _normal_log_density(value: torch.Tensor, mean: torch.Tensor, std: float | torch.Tensor) -> torch.Tensor:
    """log N(value; mean, std^2), broadcasting, computed in log space."""
    std = torch.as_tensor(std, dtype=value.dtype, device=value.device)
    return -0.5 * ((value - mean) / std) ** 2 - torch.log(std) - LOG_SQRT_2PI


def true_conditional_log_density(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Exact log p(x | y) of the inverted problem for inputs y (N, 1) and targets x (N, T), in float64 on the CPU."""
    _check_rows(inputs, targets)
    if inputs.shape[1] != 1:
        raise ValueError(f"inputs must have shape (N, 1), got {tuple(inputs.shape)}")
    _check_finite("inputs", inputs, DATA_ADVICE)
    _check_finite("targets", targets, DATA_ADVICE)
    inputs, targets = inputs.detach().cpu().double(), targets.detach().cpu().double()
    log_likelihood = _normal_log_density(inputs, true_function(targets), NOISE_STD)
    log_density = log_likelihood - _true_log_normaliser(inputs)
    return torch.where(targets.abs() <= DATA_BOUND, log_density, -math.inf)


def _true_conditional_moments(inputs: torch.Tensor, grid_size: int = 2001) -> tuple[torch.Tensor, torch.Tensor]:
    """E[x | y] and Var(x | y) of the inverted problem for inputs y (N, 1), by numerical integration; each (N, 1)."""
    _check_tensor("inputs", inputs, "(N, 1)", dims=2)
    if inputs.shape[1] != 1:
        raise ValueError(f"inputs must have shape (N, 1), got {tuple(inputs.shape)}")
    _check_finite("inputs", inputs, DATA_ADVICE)
    _check_integer("grid_size", grid_size, 401, ": a coarser grid cannot resolve the true density's narrowest peaks "
                   "(width about 0.17)")
    grid, rule = _trapezoid_grid(grid_size)  # p(x | y) is proportional to N(y; f(x), 1) on the box
    powers = torch.stack([rule, rule * grid, rule * grid**2], dim=1)  # integrals of the density times 1, x and x^2
    means, variances = [], []
    for shifted, _ in _shifted_likelihoods(inputs, grid):  # the density up to a factor per row
        total, first, second = (shifted @ powers).unbind(dim=1)  # that factor is divided out below
        means.append((first / total)[:, None])
        variances.append((second / total)[:, None] - means[-1] ** 2)  # float64: no cancellation at this size
    return torch.cat(means), torch.cat(variances)


def true_conditional_mean(inputs: torch.Tensor, grid_size: int = 2001) -> torch.Tensor:
    """E[x | y] of the inverted problem for inputs y (N, 1), by numerical integration; shape (N, 1), float64."""
    return _true_conditional_moments(inputs, grid_size)[0]


def true_conditional_variance(inputs: torch.Tensor, grid_size: int = 2001) -> torch.Tensor:
    """Var(x | y) of the inverted problem for inputs y (N, 1), by numerical integration; shape (N, 1), float64."""
    return _true_conditional_moments(inputs, grid_size)[1]


# ----------------------------------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------------------------------


def _check_standardisable(name: str, values: torch.Tensor) -> None:
    """Raise a clear error unless values (N, d) has two or more rows, only finite values and no constant column."""
    _check_tensor(name, values, "(N, d) with N >= 2")
    if values.dim() != 2 or values.shape[0] < 2:
        raise ValueError(f"a standard deviation needs at least two rows; {name} has shape {tuple(values.shape)}")
    _check_finite(name, values, DATA_ADVICE)
    for column, std in enumerate(values.std(dim=0).tolist()):
        if std == 0:
            raise ValueError(f"column {column} of {name} is constant: a constant feature carries no "
                             "information, so drop it (standardising it would divide by zero)")
        if not math.isfinite(std):
            raise ValueError(f"column {column} of {name} has standard deviation {std}: rescale its values")


class Standardise(nn.Module):
    """Map inputs to (inputs - mean) / std, with the mean and std of the data it was built from (no parameters)."""

    def __init__(self, data: torch.Tensor):
        super().__init__()
        _check_standardisable("the data to standardise", data)
        self.register_buffer("mean", data.mean(dim=0))
        self.register_buffer("std", data.std(dim=0))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Standardise inputs (N, d) column by column."""
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.shape[1] != self.mean.shape[0]:
            raise ValueError(f"inputs must be a tensor of shape (N, {self.mean.shape[0]}), like the data this was built "
                             f"from, got {getattr(inputs, 'shape', type(inputs).__name__)}")
        return (inputs - self.mean) / self.std

    def extra_repr(self) -> str:
        """Show the mean and std in the module's printout."""
        return f"mean={[round(value, 3) for value in self.mean.tolist()]}, std={[round(value, 3) for value in self.std.tolist()]}"


def mse_network(inputs: torch.Tensor, n_hidden: int = 20) -> nn.Sequential:
    """The MSE baseline: standardise by the given inputs (N, 1), then 1-n_hidden-1 with tanh."""
    _check_tensor("inputs", inputs, "(N, 1)", dims=2)
    if inputs.shape[1] != 1:
        raise ValueError(f"inputs must have shape (N, 1): one input feature, got {tuple(inputs.shape)}")
    _check_integer("n_hidden", n_hidden, 1)
    return nn.Sequential(Standardise(inputs), nn.Linear(1, n_hidden), nn.Tanh(), nn.Linear(n_hidden, 1))


COVARIANCES = ("diagonal", "full")  # the MDN's component covariances: independent widths, or a Cholesky factor
RECIPE_LEARNING_RATE = 0.02  # the recipe's Adam step (notebook 06)
FULL_COVARIANCE_LEARNING_RATE = 0.005  # the step that full-covariance components need (notebook 07)


def _check_covariance(covariance, output_dim: int) -> None:
    """Raise a clear error unless covariance is one of COVARIANCES, and "full" only for vector targets (D >= 2)."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be 'diagonal' (independent widths) or 'full' (a Cholesky factor per "
                         f"component), got {covariance!r}")
    if covariance == "full" and output_dim < 2:
        raise ValueError("covariance='full' needs vector targets, output_dim >= 2: a 1-D target's covariance is its "
                         "variance, so use covariance='diagonal'")


@functools.lru_cache
def _lower_triangular_layout(size: int) -> tuple[int, ...]:
    """For _lower_triangular: where each entry of a D x D matrix, row by row, comes from: i < D, the diagonal's i-th
    value; D <= i < D (D + 1) / 2, the (i - D)-th entry below the diagonal; -1, zero. Built once per size."""
    below = iter(range(size, size * (size + 1) // 2))  # the entries below the diagonal, row by row
    return tuple(row if row == column else next(below) if column < row else -1
                 for row in range(size) for column in range(size))


def _lower_triangular(diagonal: torch.Tensor, off_diagonal: torch.Tensor) -> torch.Tensor:
    """Lower-triangular matrices (..., D, D) from their diagonals (..., D) and the entries below, row by row
    (..., D (D - 1) / 2), as torch.tril_indices(D, D, -1) orders them; zeros above the diagonal."""
    size = diagonal.shape[-1]
    if off_diagonal.shape[-1] != size * (size - 1) // 2:
        raise ValueError(f"a {size} x {size} factor has {size * (size - 1) // 2} entries below its diagonal, got "
                         f"{off_diagonal.shape[-1]}")
    sources = [*diagonal.unbind(-1), *off_diagonal.unbind(-1)]
    zero = torch.zeros_like(sources[0])
    # A stack of the D x D entries, whose gradient is a slice per entry (indexing a concatenation of the entries
    # instead would make the gradient a scatter, several times slower)
    return torch.stack([sources[index] if index >= 0 else zero for index in _lower_triangular_layout(size)],
                       dim=-1).unflatten(-1, (size, size))


class MixtureDensityNetwork(nn.Module):
    """An MDN: n_layers tanh hidden layers, then heads for log pi (log-softmax), sigma (exp, plus a floor) and mu;
    covariance="full": a Cholesky factor per component (its diagonal as sigma, free entries below) for D >= 2."""

    def __init__(self, n_components: int = 5, n_hidden: int = 20, n_layers: int = 1, input_dim: int = 1,
                 output_dim: int = 1, sigma_floor: float = 0.0, covariance: str = "diagonal"):
        super().__init__()
        sizes = {"n_components": n_components, "n_hidden": n_hidden, "n_layers": n_layers, "input_dim": input_dim,
                 "output_dim": output_dim}
        if any(isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0 for size in sizes.values()):
            raise ValueError(f"all sizes must be positive integers, got {sizes}")
        _check_number("sigma_floor", sigma_floor, lambda value: value >= 0, "a finite number >= 0 (0: no floor)")
        _check_covariance(covariance, output_dim)
        self.n_components, self.output_dim, self.covariance = n_components, output_dim, covariance
        layers = [nn.Linear(input_dim, n_hidden), nn.Tanh()]
        for _ in range(n_layers - 1):
            layers += [nn.Linear(n_hidden, n_hidden), nn.Tanh()]
        self.hidden = nn.Sequential(*layers)
        self.pi_head = nn.Linear(n_hidden, n_components)
        self.sigma_head = nn.Linear(n_hidden, n_components * output_dim)
        self.mu_head = nn.Linear(n_hidden, n_components * output_dim)
        if covariance == "full":  # the entries of each component's Cholesky factor below its diagonal (sigma_head's)
            self.off_diagonal_head = nn.Linear(n_hidden, n_components * output_dim * (output_dim - 1) // 2)
        # Scaling between data units and the network's standardised units; identity until adapt_to_data.
        self.register_buffer("input_mean", torch.zeros(input_dim))
        self.register_buffer("input_std", torch.ones(input_dim))
        self.register_buffer("target_mean", torch.zeros(output_dim))
        self.register_buffer("target_std", torch.ones(output_dim))
        # The narrowest width any component may take, in target standard deviations (notebook 06; 0: no floor).
        self.register_buffer("sigma_floor", torch.tensor(float(sigma_floor)))

    def adapt_to_data(self, inputs: torch.Tensor, targets: torch.Tensor) -> "MixtureDensityNetwork":
        """Standardise inputs and targets inside the model; start with means spread out and components narrow."""
        _check_rows(inputs, targets)
        if inputs.shape[1] != self.input_mean.shape[0] or targets.shape[1] != self.target_mean.shape[0]:
            raise ValueError(f"this network takes inputs (N, {self.input_mean.shape[0]}) and targets "
                             f"(N, {self.target_mean.shape[0]}), got {tuple(inputs.shape)} and {tuple(targets.shape)}: "
                             "build it with input_dim and output_dim to match the data")
        _check_standardisable("inputs", inputs)
        _check_standardisable("targets", targets)
        self.input_mean.copy_(inputs.mean(dim=0))
        self.input_std.copy_(inputs.std(dim=0))
        self.target_mean.copy_(targets.mean(dim=0))
        self.target_std.copy_(targets.std(dim=0))
        with torch.no_grad():
            # Means start evenly spaced from -1.5 to 1.5 target standard deviations, not on top of each other,
            # and every sigma near exp(-1) = 0.37 standard deviations, so that no single component covers all data.
            spread = torch.linspace(-1.5, 1.5, self.n_components)[:, None].expand(-1, self.output_dim)
            self.mu_head.bias.copy_(spread.reshape(-1))
            self.mu_head.weight.mul_(0.1)
            self.sigma_head.bias.fill_(-1.0)
            if self.covariance == "full":  # components start upright (uncorrelated), as the diagonal ones
                self.off_diagonal_head.bias.zero_()
                self.off_diagonal_head.weight.mul_(0.1)
        return self

    def _heads(self) -> list[nn.Linear]:
        """The output heads, in the order forward splits them: log pi, sigma, mu (and the factors' lower entries)."""
        heads = [self.pi_head, self.sigma_head, self.mu_head]
        return heads + [self.off_diagonal_head] if self.covariance == "full" else heads

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Map inputs (N, d) to (log_pi, sigma, mu) in data units: sigma and mu (N, K) if D = 1, else (N, K, D);
        with covariance="full", (log_pi, scale_tril (N, K, D, D), mu (N, K, D)): Sigma_k = L_k L_k^T."""
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.shape[1] != self.input_mean.shape[0]:
            raise ValueError(f"inputs must have shape (N, {self.input_mean.shape[0]}), got "
                             f"{getattr(inputs, 'shape', type(inputs).__name__)}: pass a float tensor, one row per input")
        hidden = (inputs - self.input_mean) / self.input_std
        for layer in self.hidden:  # what each layer computes, called directly (a module call costs more than a tanh)
            if type(layer) is nn.Linear:  # one input: a product, faster than a matrix product
                hidden = (torch.addcmul(layer.bias, hidden, layer.weight.t()) if layer.in_features == 1
                          else torch.addmm(layer.bias, hidden, layer.weight.t()))
            else:
                hidden = torch.tanh(hidden) if type(layer) is nn.Tanh else layer(hidden)
        # The heads as one product, transposed: (outputs, N). PyTorch's CPU kernels run several times faster
        # over a long last axis (the rows) than over a short one (the components).
        heads = self._heads()
        outputs = torch.addmm(torch.cat([head.bias for head in heads])[:, None],
                              torch.cat([head.weight for head in heads]), hidden.t())
        logits, log_sigma, mu, *off_diagonal = outputs.split([head.out_features for head in heads])
        log_pi = torch.log_softmax(logits, dim=0).t()
        scale, shift = self.target_std[:, None], self.target_mean[:, None]
        if self.output_dim == 1:  # 1-D targets: (K, N), viewed as (N, K), the convention of the series
            return log_pi, ((torch.exp(log_sigma) + self.sigma_floor) * scale).t(), (mu * scale + shift).t()
        shape = (self.n_components, self.output_dim, inputs.shape[0])  # (K, D, N), then viewed as (N, K, D)
        mu = (mu.view(shape) * scale + shift).permute(2, 0, 1)
        if self.covariance == "full":  # L = diag(target_std) L_standardised: Sigma = diag(s) Sigma_std diag(s)
            width = (torch.exp(log_sigma).view(shape) + self.sigma_floor).permute(2, 0, 1)
            below = off_diagonal[0].view(self.n_components, -1, inputs.shape[0]).permute(2, 0, 1)
            return log_pi, _lower_triangular(width, below) * scale, mu
        return log_pi, ((torch.exp(log_sigma).view(shape) + self.sigma_floor) * scale).permute(2, 0, 1), mu


# ----------------------------------------------------------------------------------------------
# The mixture: log density, loss, sampling
# ----------------------------------------------------------------------------------------------


def _is_full(sigma) -> bool:
    """Whether the second mixture tensor is a Cholesky factor per component, scale_tril (N, K, D, D), not widths."""
    return isinstance(sigma, torch.Tensor) and sigma.dim() == 4


def _check_mixture_shapes(log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor) -> None:
    """Raise a clear error unless log_pi is (N, K) and sigma and mu are both (N, K) or both (N, K, D), or sigma is
    a Cholesky factor scale_tril (N, K, D, D) for mu (N, K, D)."""
    for name, value in [("log_pi", log_pi), ("sigma", sigma), ("mu", mu)]:
        _check_tensor(name, value, "(N, K), or (N, K, D) for sigma and mu, or (N, K, D, D) for a scale_tril sigma")
    if _is_full(sigma):
        if log_pi.dim() != 2 or mu.dim() != 3 or mu.shape[:2] != log_pi.shape or sigma.shape != (*mu.shape, mu.shape[2]):
            raise ValueError(
                "a full-covariance mixture needs log_pi (N, K), sigma = scale_tril (N, K, D, D) and mu (N, K, D), got "
                f"{tuple(log_pi.shape)}, {tuple(sigma.shape)}, {tuple(mu.shape)}: pass each component's Cholesky "
                "factor, such as torch.linalg.cholesky(covariance), as sigma"
            )
        return
    if log_pi.dim() != 2 or sigma.shape != mu.shape or mu.dim() not in (2, 3) or mu.shape[:2] != log_pi.shape:
        raise ValueError(
            "log_pi must have shape (N, K) and sigma and mu the same shape (N, K) or (N, K, D), got "
            f"{tuple(log_pi.shape)}, {tuple(sigma.shape)}, {tuple(mu.shape)}"
        )


def _above_diagonal(matrices: torch.Tensor) -> torch.Tensor:
    """The entries above the diagonal of square matrices (..., D, D), without gradients: (..., D (D - 1) / 2)."""
    rows, columns = torch.triu_indices(matrices.shape[-1], matrices.shape[-1], 1, device=matrices.device)
    return matrices.detach()[..., rows, columns]


def _check_scale_tril(scale_tril: torch.Tensor) -> None:
    """Raise a clear error unless scale_tril (N, K, D, D) is finite, lower-triangular, with a positive diagonal."""
    _check_finite("the Cholesky factors scale_tril", scale_tril, MIXTURE_ADVICE)
    if not bool((_above_diagonal(scale_tril) == 0).all()):
        raise ValueError("sigma = scale_tril must be lower-triangular (zeros above the diagonal), got entries above "
                         "it: pass torch.linalg.cholesky(covariance), or torch.tril(matrix), not a covariance matrix")
    if not bool((scale_tril.detach().diagonal(dim1=-2, dim2=-1) > 0).all()):
        raise ValueError("the diagonal of sigma = scale_tril must be positive, got an entry <= 0: pass "
                         "torch.linalg.cholesky(covariance), whose diagonal is positive")


def check_mixture(log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor) -> None:
    """Raise a clear error unless the shapes fit, mu is finite, log_pi not NaN, 0 < sigma < inf (or sigma a Cholesky
    factor (N, K, D, D): lower-triangular, finite, its diagonal > 0) and pi sums to 1."""
    _check_mixture_shapes(log_pi, sigma, mu)
    _check_finite("the means mu", mu, MIXTURE_ADVICE)
    _check_finite("the log weights log_pi", log_pi.detach().clamp_min(-1.0), MIXTURE_ADVICE)  # -inf (pi = 0) is fine
    if _is_full(sigma):
        _check_scale_tril(sigma)
    else:
        _check_finite("the widths sigma", sigma, MIXTURE_ADVICE)
        if not bool((sigma > 0).all()):
            raise ValueError("every sigma must be positive; got a sigma <= 0")
    total = torch.logsumexp(log_pi.detach(), dim=1)
    if not bool((total.abs() < 1e-3).all()):
        raise ValueError(
            "the mixture weights pi = exp(log_pi) must sum to 1 in every row; "
            "pass log_softmax(logits), not raw logits or log of unnormalised weights"
        )


def _exp_floor(dtype: torch.dtype) -> float:
    """A log value a little above the point where exp underflows in dtype: about -79 in float32, -638 in float64."""
    return 0.9 * math.log(torch.finfo(dtype).tiny)


def _logsumexp_over_components(values: torch.Tensor) -> torch.Tensor:
    """log sum exp over the first axis (the components), as torch.logsumexp but faster on the CPU: arguments that
    would underflow exp are raised to just above that point (exp is many times slower there, and the change is far
    below the float's precision)."""
    largest = values.detach().amax(dim=0)
    shift = torch.where(torch.isfinite(largest), largest, 0.0)
    # Adding the largest value itself keeps a column of -inf at -inf (and one holding inf or NaN so), as logsumexp does.
    return (values - shift).clamp_min(_exp_floor(values.dtype)).exp().sum(dim=0).log() + largest


class _ScalarMixtureLogDensity(torch.autograd.Function):
    """log of sum_k pi_k N(target; mu_k, sigma_k^2) for components-first tensors, with the gradients written by hand:
    the responsibilities give all of them at once, in far fewer operations than autograd's chain (a faster step)."""

    @staticmethod
    def forward(ctx, log_weights: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, targets: torch.Tensor):
        """log_weights, mu, sigma (K, N, 1) and targets (1, N, T): the log densities (N, T), and whether every
        component's log density was finite (a flag that costs no extra pass)."""
        z = (targets - mu) / sigma
        spread = 0.5 * z * z + torch.log(sigma)  # minus each component's log density, less the constant
        log_joint = log_weights - spread
        largest = log_joint.amax(dim=0)
        shift = torch.where(torch.isfinite(largest), largest, 0.0)  # as in _logsumexp_over_components
        weights = (log_joint - shift).clamp_min(_exp_floor(log_joint.dtype)).exp()
        total = weights.sum(dim=0)
        ctx.save_for_backward(z, sigma, weights, total)
        finite = torch.isfinite(spread.sum())
        ctx.mark_non_differentiable(finite)
        return torch.log(total) + largest - LOG_SQRT_2PI, finite

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor, _):
        """With r_k the responsibilities: d/d log pi_k = r_k, d/d mu_k = r_k z_k / sigma_k, d/d sigma_k =
        r_k (z_k^2 - 1) / sigma_k, d/d target = -sum_k r_k z_k / sigma_k, each times the incoming gradient."""
        z, sigma, weights, total = ctx.saved_tensors
        weighted = weights * (grad_output / total)  # responsibilities times the incoming gradient, (K, N, T)
        weighted_z = weighted * z / sigma
        grad_sigma = weighted * (z * z - 1) / sigma
        grad_targets = -weighted_z.sum(dim=0, keepdim=True) if ctx.needs_input_grad[3] else None
        if z.shape[2] > 1:  # several targets per row share one mixture: their gradients add up
            weighted, weighted_z, grad_sigma = (grad.sum(dim=2, keepdim=True) for grad in (weighted, weighted_z, grad_sigma))
        return weighted, weighted_z, grad_sigma, grad_targets


def _solve_lower_triangular(entries: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """z with L z = values for lower-triangular L given entry first, (D, D, ...), and values (D, ...); z is (D, ...).
    Forward substitution, row by row, for small D (two to three times faster than torch.linalg.solve_triangular for
    D = 2, backward pass included). Entry first, every step works on contiguous blocks, not on strided views."""
    size = entries.shape[0]
    if size > 8:  # the row loop grows as D^2 operations: a library solve wins for large D
        matrices, columns = entries.movedim((0, 1), (-2, -1)), values.movedim(0, -1)[..., None]
        return torch.linalg.solve_triangular(matrices, columns, upper=False)[..., 0].movedim(-1, 0)
    solved = []
    for row in range(size):
        remainder = values[row]
        for column in range(row):
            remainder = remainder - entries[row, column] * solved[column]
        solved.append(remainder / entries[row, row])
    return torch.stack(solved)


def mixture_log_density(
    log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """log p(target | mixture), each row against its own mixture, in log space: 1-D targets (N, T) give (N, T),
    D-dimensional targets (N, D) give (N, 1), with diagonal (sigma (N, K, D)) or full covariance (sigma = scale_tril
    (N, K, D, D), by a triangular solve)."""
    _check_mixture_shapes(log_pi, sigma, mu)
    if targets.dim() != 2 or targets.shape[0] != log_pi.shape[0]:
        raise ValueError(
            f"targets must have shape (N, T) with N = {log_pi.shape[0]} rows like the mixture parameters, "
            f"got {tuple(targets.shape)}; reshape a vector of targets with .reshape(-1, 1)"
        )
    if log_pi.shape[0] == 0:
        raise ValueError("the batch has no rows (N = 0): the loss of an empty batch is undefined; pass at least 1 row")
    # Components first: (K, N, T) for 1-D targets, (K, D, N) for vectors. PyTorch's CPU kernels reduce a short last
    # axis several times more slowly than a leading one, and a mixture has few components and many rows.
    log_weights = log_pi.t().contiguous()
    if mu.dim() == 2:  # 1-D: T separate scalar targets per row, (K, N, T)
        log_density, densities_finite = _ScalarMixtureLogDensity.apply(
            log_weights[:, :, None], mu.t().contiguous()[:, :, None], sigma.t().contiguous()[:, :, None], targets[None])
    elif _is_full(sigma) and targets.shape[1] == mu.shape[2]:  # full covariance: z = L^-1 (target - mu), (D, K, N)
        # Entry first: each entry of the factors, and each coordinate of target - mu, a contiguous (K, N) block. On
        # strided views of (N, K, D, D) the same elementwise steps run several times more slowly.
        entries = sigma.permute(2, 3, 1, 0).contiguous()
        z = _solve_lower_triangular(entries, (targets.t()[:, None] - mu.permute(2, 1, 0)).contiguous())
        diagonal = torch.stack([entries[index, index] for index in range(len(entries))])
        log_determinant = torch.log(diagonal).sum(dim=0)  # log sqrt(det Sigma)
        component_log_density = -0.5 * (z * z).sum(dim=0) - log_determinant - mu.shape[2] * LOG_SQRT_2PI
        # The solve reads only the lower triangle: entries above it must be refused, not silently ignored.
        densities_finite = torch.isfinite(component_log_density.detach().sum()) & (_above_diagonal(sigma) == 0).all()
        log_density = _logsumexp_over_components(log_weights + component_log_density)[:, None]
    elif targets.shape[1] == mu.shape[2]:  # D-dimensional: one target vector per row; diagonal covariance, (K, D, N)
        component_log_density = _normal_log_density(targets.t()[None], mu.permute(1, 2, 0).contiguous(),
                                                    sigma.permute(1, 2, 0).contiguous()).sum(dim=1)
        densities_finite = torch.isfinite(component_log_density.detach().sum())
        log_density = _logsumexp_over_components(log_weights + component_log_density)[:, None]
    else:
        raise ValueError(f"targets must have shape (N, D) with D = {mu.shape[2]}, got {tuple(targets.shape)}")
    # One synchronisation per call, reusing the densities: NaN or inf in mu or targets, or sigma <= 0, NaN or inf, make
    # their sum non-finite. Only if this or the sum of pi fails do the slower checks find and name the problem; if they
    # find none (a target so far out that its density underflows), the result stands.
    pi_total = log_weights.detach().clamp_min(_exp_floor(log_pi.dtype)).exp().sum(dim=0)  # a weight below e^-79 adds e^-79
    if not bool(densities_finite & ((pi_total - 1).abs().max() < 1e-3)):
        check_mixture(log_pi, sigma, mu)
        _check_finite("targets", targets, DATA_ADVICE)
    return log_density


def mixture_nll(log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of targets, (N, 1) or (N, D), under the mixtures, computed in log space."""
    if mu.dim() == 2 and (targets.dim() != 2 or targets.shape[1] != 1):
        raise ValueError(
            f"targets must have shape (N, 1), got {tuple(targets.shape)}; "
            "reshape a vector of targets with .reshape(-1, 1)"
        )
    return -mixture_log_density(log_pi, sigma, mu, targets).mean()


def density_then_log_nll(
    log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """The original recipe's loss (densities, times pi, summed, then the log): kept only to show how it fails."""
    check_mixture(log_pi, sigma, mu)  # valid parameters: the failure it shows comes from the formula, not the input
    if mu.dim() != 2 or targets.dim() != 2 or targets.shape != (mu.shape[0], 1):
        raise ValueError(f"this loss takes 1-D mixtures (N, K) and targets (N, 1), got mu {tuple(mu.shape)} and "
                         f"targets {tuple(targets.shape)}; reshape a vector of targets with .reshape(-1, 1)")
    _check_finite("targets", targets, DATA_ADVICE)
    densities = torch.exp(-0.5 * ((targets - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return -torch.log((log_pi.exp() * densities).sum(dim=1)).mean()


def mixture_distribution(
    log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor
) -> torch.distributions.MixtureSameFamily:
    """The same mixture as a torch.distributions object: batch shape (N,), events scalar (1-D) or of length D."""
    check_mixture(log_pi, sigma, mu)
    if _is_full(sigma):  # full covariance: sigma is each component's Cholesky factor
        components = torch.distributions.MultivariateNormal(mu, scale_tril=sigma)
        return torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=log_pi), components)
    components = torch.distributions.Normal(mu, sigma)
    if mu.dim() == 3:  # a diagonal Gaussian over D dimensions per component
        components = torch.distributions.Independent(components, 1)
    return torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=log_pi), components)


def probability_integral_transform(log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor,
                                   targets: torch.Tensor) -> torch.Tensor:
    """The 1-D mixture's CDF at each row's target (N, 1): the PIT values u = F(target | input), shape (N,)."""
    check_mixture(log_pi, sigma, mu)
    _check_tensor("targets", targets, "(N, 1)")
    if mu.dim() != 2 or targets.shape != (mu.shape[0], 1):
        raise ValueError(f"need a 1-D mixture, mu (N, K), and targets (N, 1) with the same N, got mu {tuple(mu.shape)} "
                         f"and targets {tuple(targets.shape)}; reshape a vector of targets with .reshape(-1, 1)")
    _check_finite("targets", targets, DATA_ADVICE)
    return (log_pi.exp() * torch.special.ndtr((targets - mu) / sigma)).sum(dim=1)


def critical_distance(n: int, significance: float) -> float:
    """The KS distance that n uniform values exceed with probability `significance` (Kolmogorov's limit, for large n)."""
    _check_integer("n", n, 1, ": the number of values tested")
    _check_number("significance", significance, lambda value: 0 < value < 1, "a probability strictly between 0 and 1, "
                  "such as 0.05")
    return math.sqrt(-math.log(significance / 2) / 2) / math.sqrt(n)


def distance_from_uniform(values: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance between the values' empirical CDF and the uniform CDF on [0, 1]."""
    _check_tensor("values", values, "(N,)", dims=1)
    if len(values) == 0:
        raise ValueError("values is empty: pass at least one PIT value")
    _check_finite("values", values, "PIT values are numbers in [0, 1]")
    if bool((values < 0).any() | (values > 1).any()):
        raise ValueError("values must lie in [0, 1], as PIT values (CDF values) do; got values outside it")
    ordered = values.sort().values
    n = len(ordered)
    above = torch.arange(1, n + 1, device=ordered.device) / n - ordered
    below = ordered - torch.arange(0, n, device=ordered.device) / n
    return torch.maximum(above, below).max().item()


def count_modes(density: torch.Tensor) -> int:
    """Local maxima of a density tabulated on a grid (1-D) that reach at least 5% of its highest value."""
    _check_tensor("density", density, "(G,): a density's values on a grid", dims=1)
    if len(density) < 3:
        raise ValueError(f"density must hold at least 3 grid values to have an inner maximum, got {len(density)}")
    _check_finite("density", density, "tabulate a density (exp of a log density), not a log density with -inf")
    if bool((density < 0).any()):
        raise ValueError("density must be >= 0 everywhere: pass the density itself, not its logarithm")
    inner = density[1:-1]
    return int(((inner > density[:-2]) & (inner >= density[2:]) & (inner > 0.05 * density.max())).sum())


def binned_log_density(logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """log p(target) of a softmax over bins with these edges (B + 1): log P(bin) - log(its width), shape (N,).
    A target outside [edges[0], edges[-1]] counts in the nearest end bin: choose edges that span every target."""
    _check_rows(logits, targets)
    _check_tensor("edges", edges, "(B + 1,): the bins' edges, increasing", dims=1)
    if targets.shape[1] != 1 or logits.shape[1] != len(edges) - 1:
        raise ValueError(f"need targets (N, 1) and one logit per bin, got targets {tuple(targets.shape)}, "
                         f"logits {tuple(logits.shape)} and {len(edges) - 1} bins")
    _check_finite("edges", edges, "pass finite bin edges")
    widths = edges.diff().to(targets.device)
    if not bool((widths > 0).all()):
        raise ValueError("edges must be strictly increasing: every bin needs a positive width")
    _check_finite("targets", targets, DATA_ADVICE)
    bins = torch.bucketize(targets[:, 0], edges[1:-1].to(targets.device))
    return torch.log_softmax(logits, dim=1).gather(1, bins[:, None])[:, 0] - torch.log(widths[bins])


def pinball_loss(predictions: torch.Tensor, targets: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of quantile predictions (N, Q) at levels (Q,) for targets (N, 1) (notebook 09)."""
    _check_rows(predictions, targets)
    _check_tensor("levels", levels, "(Q,): the quantile levels", dims=1)
    if targets.shape[1] != 1 or predictions.shape[1] != len(levels):
        raise ValueError(f"need targets (N, 1) and one prediction per level, got targets {tuple(targets.shape)}, "
                         f"predictions {tuple(predictions.shape)} and {len(levels)} levels")
    if not bool(((levels > 0) & (levels < 1)).all()):
        raise ValueError(f"every quantile level must lie strictly between 0 and 1, got {levels.tolist()}")
    _check_finite("targets", targets, DATA_ADVICE)
    residual = targets - predictions
    levels = levels.to(predictions.device)
    return torch.maximum(levels * residual, (levels - 1) * residual).mean()


def gumbel_max_choice(log_pi: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick one component per row with probability pi: argmax of log_pi + Gumbel noise; shape (N,)."""
    _check_tensor("log_pi", log_pi, "(N, K): log weights, one row per choice", dims=2)
    if log_pi.shape[1] == 0:
        raise ValueError("log_pi has no components (K = 0): there is nothing to choose from")
    if bool(torch.isnan(log_pi).any() | (log_pi == math.inf).any() | (log_pi == -math.inf).all(dim=1).any()):
        raise ValueError("log_pi must hold numbers below +inf with at least one weight above 0 (log > -inf) in every "
                         "row: pass log_softmax(logits)")
    uniform = torch.rand(log_pi.shape, generator=generator).to(log_pi.device)
    gumbel = -torch.log(-torch.log(uniform.clamp_min(torch.finfo(uniform.dtype).tiny)))
    return torch.argmax(log_pi + gumbel, dim=1)


def sample_mixture(
    log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw one sample per row: a component by the Gumbel-max trick, then mu + sigma * N(0, 1), or mu + L N(0, I) for
    a Cholesky factor sigma = L (N, K, D, D); shape (N, D)."""
    check_mixture(log_pi, sigma, mu)
    if mu.dim() == 2:  # 1-D: D = 1
        mu, sigma = mu[:, :, None], sigma[:, :, None]
    chosen = gumbel_max_choice(log_pi, generator)
    component = chosen[:, None, None].expand(-1, 1, mu.shape[2])
    noise = torch.randn((mu.shape[0], mu.shape[2]), generator=generator).to(mu.device)
    if _is_full(sigma):
        scale_tril = sigma[torch.arange(len(chosen), device=chosen.device), chosen]  # (N, D, D)
        return mu.gather(1, component)[:, 0] + (scale_tril @ noise.to(scale_tril.dtype)[:, :, None])[:, :, 0]
    return mu.gather(1, component)[:, 0] + sigma.gather(1, component)[:, 0] * noise


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------


def progress_bar(iterable, desc: str = "training", unit: str = "epoch", disable: bool = False) -> tqdm:
    """A tqdm bar on standard output (not an error stream), without a machine-specific rate, redrawn once a second."""
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + "s [{elapsed}<{remaining}{postfix}]"
    return tqdm(iterable, desc=desc, unit=unit, disable=disable, mininterval=1.0, file=sys.stdout, bar_format=bar_format)


def train(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    seed: int = 0,
    progress: bool = True,
    shuffle_seeds: list[int] | None = None,
) -> list[float]:
    """Train model on (inputs, targets) with loss_fn; return the mean loss of every epoch (ValueError if not finite).
    shuffle_seeds: for a SeedEnsemble, one seed per stacked model, each shuffling the data in its own order, as train
    would with that seed alone (the models then see different batches; loss_fn gets targets (S, batch, T))."""
    _check_module("model", model)
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a function of (model outputs, targets), such as mdn_loss, got {loss_fn!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim optimizer of the model's parameters, got {optimizer!r}")
    _check_rows(inputs, targets)
    if inputs.shape[0] == 0:
        raise ValueError("inputs and targets have no rows (N = 0): there is nothing to train on")
    _check_finite("inputs", inputs, DATA_ADVICE)
    _check_finite("targets", targets, DATA_ADVICE)
    _check_integer("epochs", epochs, 1, ": epochs must be positive")
    if batch_size is not None:
        _check_integer("batch_size", batch_size, 1, ": batch_size must be positive (or None for full batches)")
    _check_seed(seed)
    if shuffle_seeds is not None:
        if not isinstance(model, SeedEnsemble) or not isinstance(shuffle_seeds, (list, tuple)) or len(shuffle_seeds) != (
                len(model.stacked_parameters[0])):
            raise ValueError("shuffle_seeds gives each model of a SeedEnsemble its own order: pass a list with one seed "
                             f"per stacked model, or None, got {shuffle_seeds!r} for a {type(model).__name__}")
        for each in shuffle_seeds:
            _check_seed(each)
    device = next(model.parameters()).device
    inputs, targets = inputs.to(device), targets.to(device)
    n = inputs.shape[0]
    batch_size = n if batch_size is None else batch_size
    shuffles = [torch.Generator().manual_seed(each) for each in (shuffle_seeds or [seed])]
    history = []
    bar = progress_bar(range(epochs), disable=not progress)
    for epoch in bar:
        if shuffle_seeds is not None:  # each stacked model its own order: (S, N, features)
            orders = torch.stack([torch.randperm(n, generator=shuffle) for shuffle in shuffles]).to(device)
            epoch_inputs, epoch_targets = inputs[orders], targets[orders]
        elif batch_size < n:  # shuffled once per epoch, then cut into batches (one gather, not one per batch)
            order = torch.randperm(n, generator=shuffles[0]).to(device)
            epoch_inputs, epoch_targets = inputs[order], targets[order]
        else:
            epoch_inputs, epoch_targets = inputs, targets
        epoch_loss = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size)
            batch = (epoch_inputs[:, rows], epoch_targets[:, rows]) if shuffle_seeds is not None else (
                epoch_inputs[rows], epoch_targets[rows])
            try:
                loss = loss_fn(model(batch[0]), batch[1])
            except ValueError as error:  # e.g. a mixture gone NaN after too large a step: say when it happened
                bar.close()
                raise ValueError(f"epoch {epoch + 1}: {error}") from error
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.detach() * (min(start + batch_size, n) - start)
        if scheduler is not None:
            scheduler.step()
        history.append((epoch_loss / n).item())
        if not math.isfinite(history[-1]):  # the data passed the checks above: the training itself went bad
            bar.close()
            raise ValueError(
                f"the mean training loss of epoch {epoch + 1} is {history[-1]}, so training stopped. Likely causes: "
                "a learning rate too large (try one ten times smaller); the density-then-log loss density_then_log_nll "
                "underflowing (use the log-space mixture_nll, e.g. through mdn_loss); sigma collapsing towards 0 "
                "(use more data, a smaller model or a floor under sigma); or bad data (look for outliers)"
            )
        bar.set_postfix(loss=f"{history[-1]:.4f}", refresh=False)
    return history


def mdn_loss(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """The MDN's loss for train(): mixture_nll of the model's (log_pi, sigma, mu) against targets (N, 1)."""
    if not isinstance(outputs, tuple) or len(outputs) != 3:
        raise ValueError("outputs must be the tuple (log_pi, sigma, mu) that a MixtureDensityNetwork returns, got "
                         f"{type(outputs).__name__}: pass model(inputs) of an MDN")
    return mixture_nll(*outputs, targets)


def train_with_budget(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn,
                      learning_rate: float = RECIPE_LEARNING_RATE, epochs: int = 70, seed: int = 0, progress: bool = False,
                      batch_size: int | None = 1000, shuffle_seeds: list[int] | None = None) -> float:
    """Train with the recommended recipe's budget (Adam, cosine decay, batches of 1000, 70 epochs); return seconds.
    shuffle_seeds: one per model of a SeedEnsemble, each its own batch order (see train)."""
    _check_number("learning_rate", learning_rate, lambda value: value > 0, "a positive number, such as 0.02")
    _check_integer("epochs", epochs, 1, ": epochs must be positive")
    _check_module("model", model)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)  # as the recipe's: one kernel per step
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    start = time.perf_counter()
    train(model, inputs, targets, loss_fn, optimizer, epochs, batch_size, scheduler, seed, progress, shuffle_seeds)
    return time.perf_counter() - start


def tanh_network(inputs: torch.Tensor, n_outputs: int, n_hidden: int = 32) -> nn.Sequential:
    """Standardise by the given inputs (N, d), two tanh layers of n_hidden units, then n_outputs (notebook 09)."""
    _check_standardisable("inputs", inputs)
    _check_integer("n_outputs", n_outputs, 1)
    _check_integer("n_hidden", n_hidden, 1)
    return nn.Sequential(Standardise(inputs), nn.Linear(inputs.shape[1], n_hidden), nn.Tanh(),
                         nn.Linear(n_hidden, n_hidden), nn.Tanh(), nn.Linear(n_hidden, n_outputs))


def recipe_network(inputs: torch.Tensor, targets: torch.Tensor, n_components: int = 12,
                   covariance: str = "diagonal") -> MixtureDensityNetwork:
    """The recipe's network (notebook 06): 2 x 32 tanh, K = 12, adapted to (inputs, targets), first layer 4x steeper."""
    _check_rows(inputs, targets)
    model = MixtureDensityNetwork(n_components, n_hidden=32, n_layers=2, input_dim=inputs.shape[1],
                                  output_dim=targets.shape[1], covariance=covariance).adapt_to_data(inputs, targets)
    with torch.no_grad():  # first-layer tanh units 4x steeper than by default (notebook 06 measures what it is worth)
        model.hidden[0].weight.mul_(4.0)
        model.hidden[0].bias.mul_(4.0)
    return model


def train_mixture_density_network(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_components: int = 12,
    epochs: int = 70,
    seed: int = 0,
    progress: bool = True,
    covariance: str = "diagonal",
    learning_rate: float | None = None,
) -> tuple[MixtureDensityNetwork, list[float]]:
    """The series' recommended recipe (notebook 06): recipe_network, Adam with cosine decay, batches of 1000; the
    learning rate by default 0.02, or 0.005 for covariance="full" (notebook 07: at 0.02 its loss keeps jumping)."""
    _check_rows(inputs, targets)
    _check_integer("epochs", epochs, 1, ": epochs must be positive")
    _check_covariance(covariance, targets.shape[1])
    if learning_rate is None:
        learning_rate = FULL_COVARIANCE_LEARNING_RATE if covariance == "full" else RECIPE_LEARNING_RATE
    _check_number("learning_rate", learning_rate, lambda value: value > 0, "a positive number, such as 0.02, or None")
    seed_everything(seed)
    model = recipe_network(inputs, targets, n_components, covariance).to(pick_device())
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = train(model, inputs, targets, mdn_loss, optimizer, epochs, 1000, scheduler, seed, progress)
    return model, history


def _stacked_mixture_forward(ensemble: "SeedEnsemble", inputs: torch.Tensor):
    """MixtureDensityNetwork.forward for the ensemble's S stacked copies at once, by batched matrix products (faster
    than vmap); inputs (N, d) for every copy, or (S, N, d), each copy its own rows."""
    template, buffers = ensemble.template[0], ensemble._stacked_buffers()
    n_models, width = buffers["input_mean"].shape
    if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (2, 3) or inputs.shape[-1] != width or (
            inputs.dim() == 3 and inputs.shape[0] != n_models):
        raise ValueError(f"inputs must have shape (N, {width}), or ({n_models}, N, {width}) with rows for each model, "
                         f"got {getattr(inputs, 'shape', type(inputs).__name__)}: pass a float tensor, one row per input")
    hidden = (inputs - buffers["input_mean"][:, None]) / buffers["input_std"][:, None]  # (S, N, d) either way
    parameters = list(ensemble.stacked_parameters.parameters())  # hidden layers' weights and biases, then the heads'
    n_hidden = len(template.hidden)  # (Linear, Tanh) pairs, so also the number of hidden weights and biases
    for index in range(0, n_hidden, 2):  # (S, N, in) -> (S, N, out); one input: a product, not a matrix product
        weight, bias = parameters[index], parameters[index + 1]
        hidden = torch.tanh(torch.addcmul(bias[:, None], hidden, weight.transpose(1, 2)) if hidden.shape[2] == 1
                            else torch.baddbmm(bias[:, None], hidden, weight.transpose(1, 2)))
    # The heads as one product, then split; transposed, (S, outputs, N), as in MixtureDensityNetwork.forward.
    heads = parameters[n_hidden:]  # weight, bias of each head, in the order forward splits them
    outputs = torch.baddbmm(torch.cat(heads[1::2], dim=1)[:, :, None], torch.cat(heads[0::2], dim=1),
                            hidden.transpose(1, 2))
    logits, log_sigma, mu, *off_diagonal = outputs.split(ensemble.head_sizes, dim=1)
    log_pi = torch.log_softmax(logits, dim=1).transpose(1, 2)
    floor = buffers["sigma_floor"][:, None, None]
    if template.output_dim == 1:  # (S, K, N), then viewed as (S, N, K)
        scale, shift = buffers["target_std"][:, :, None], buffers["target_mean"][:, :, None]
        return log_pi, ((torch.exp(log_sigma) + floor) * scale).transpose(1, 2), (mu * scale + shift).transpose(1, 2)
    shape = (hidden.shape[0], template.n_components, template.output_dim, hidden.shape[1])  # (S, K, D, N)
    scale, shift = buffers["target_std"][:, None, :, None], buffers["target_mean"][:, None, :, None]
    mu = (mu.view(shape) * scale + shift).permute(0, 3, 1, 2)  # viewed as (S, N, K, D)
    if template.covariance == "full":  # each factor's rows scaled by the target's std, as in the single model
        width = (torch.exp(log_sigma).view(shape) + floor[..., None]).permute(0, 3, 1, 2)
        below = off_diagonal[0].view(hidden.shape[0], template.n_components, -1, hidden.shape[1]).permute(0, 3, 1, 2)
        return log_pi, _lower_triangular(width, below) * buffers["target_std"][:, None, None, :, None], mu
    return log_pi, ((torch.exp(log_sigma).view(shape) + floor[..., None]) * scale).permute(0, 3, 1, 2), mu


class SeedEnsemble(nn.Module):
    """Same-shaped models trained side by side: stacked weights, one batched call; outputs gain a leading seed axis."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        _check_models(models)
        shapes = [[(name, tuple(value.shape)) for name, value in model.state_dict().items()] for model in models]
        if any(type(model) is not type(models[0]) or shape != shapes[0] for model, shape in zip(models, shapes)):
            raise ValueError("every model must be of the same class with the same sizes (the same parameter and buffer "
                             "shapes), so that their weights can be stacked: train different sizes in separate ensembles")
        parameters, buffers = torch.func.stack_module_state(models)
        self.head_sizes = []  # for MixtureDensityNetwork (not a subclass, whose forward may differ): each head's outputs
        if type(models[0]) is MixtureDensityNetwork:  # the hidden layers' weights and biases in turn, then the heads'
            names = {module: name for name, module in models[0].named_children()}
            heads = [names[head] for head in models[0]._heads()]  # in the order forward splits them
            order = [name for name in parameters if name.startswith("hidden.")]
            parameters = {name: parameters[name] for name in order + [f"{head}.{kind}" for head in heads
                                                                      for kind in ("weight", "bias")]}
            self.head_sizes = [getattr(models[0], head).out_features for head in heads]
        self.parameter_names, self.buffer_names = list(parameters), list(buffers)
        self.stacked_parameters = nn.ParameterList(nn.Parameter(parameters[name]) for name in self.parameter_names)
        for index, name in enumerate(self.buffer_names):
            self.register_buffer(f"stacked_buffer_{index}", buffers[name])
        self.template = [copy.deepcopy(models[0]).to("meta")]  # held in a list, so it is not a submodule

    def _stacked_buffers(self) -> dict[str, torch.Tensor]:
        """The models' buffers, stacked, by their names in one model."""
        return {name: getattr(self, f"stacked_buffer_{index}") for index, name in enumerate(self.buffer_names)}

    def forward(self, inputs: torch.Tensor):
        """Every model's outputs, stacked along a new first axis: on the same inputs (N, d), or each model on its own
        rows of inputs (S, N, d)."""
        if self.head_sizes:
            return _stacked_mixture_forward(self, inputs)
        run_one = lambda one_parameters, one_buffers, one_inputs: torch.func.functional_call(  # noqa: E731
            self.template[0], (one_parameters, one_buffers), (one_inputs,)
        )
        own_rows = isinstance(inputs, torch.Tensor) and inputs.dim() == 3
        parameters = dict(zip(self.parameter_names, self.stacked_parameters))
        return torch.func.vmap(run_one, in_dims=(0, 0, 0 if own_rows else None))(parameters, self._stacked_buffers(),
                                                                                  inputs)

    def unstack(self, models: list[nn.Module]) -> list[nn.Module]:
        """Copy each seed's trained weights back into models (same order as given), on the ensemble's device."""
        _check_models(models)
        if len(models) != len(self.stacked_parameters[0]):
            raise ValueError(f"pass as many models as the ensemble holds ({len(self.stacked_parameters[0])}), "
                             f"got {len(models)}")
        stacked = dict(zip(self.parameter_names, self.stacked_parameters)) | self._stacked_buffers()
        for seed_index, model in enumerate(models):
            model.to(self.stacked_parameters[0].device)
            model.load_state_dict({name: value[seed_index].detach() for name, value in stacked.items()})
        return models


def ensemble_nll(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: torch.Tensor,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over seeds of each seed's mixture_nll, for a SeedEnsemble of MDNs: each seed gets its own gradients.
    mask (S, N) of 0s and 1s, optional: each seed's NLL is the mean over its own rows only (notebook 08's folds)."""
    if not isinstance(outputs, tuple) or len(outputs) != 3 or not all(
            isinstance(tensor, torch.Tensor) and tensor.dim() >= 3 for tensor in outputs):
        raise ValueError("outputs must be the tuple (log_pi, sigma, mu) of a SeedEnsemble of MDNs, each with a leading "
                         "seed axis: (S, N, K), and (S, N, K) or (S, N, K, D) for sigma and mu")
    log_pi, sigma, mu = outputs
    n_seeds = log_pi.shape[0]
    if targets.dim() == 3:  # each model its own targets (train's shuffle_seeds): (S, N, T) to (S N, T)
        if targets.shape[:2] != log_pi.shape[:2]:
            raise ValueError(f"targets of shape (S, N, T) must match the outputs' (S, N) = {tuple(log_pi.shape[:2])}, "
                             f"got {tuple(targets.shape)}: pass (N, T) targets shared by every model, or one set per model")
        targets = targets.flatten(0, 1)
    else:
        targets = targets.repeat(n_seeds, 1)
    if mu.dim() == 3:  # 1-D targets: (S, N, K) to (S N, K) as a view of a components-first copy, the layout that
        # mixture_log_density works in, so that its own transpose copies nothing (one copy per tensor instead of two)
        rows = tuple(tensor.permute(2, 0, 1).reshape(tensor.shape[2], -1).t() for tensor in (log_pi, sigma, mu))
    else:
        rows = (log_pi.flatten(0, 1), sigma.flatten(0, 1), mu.flatten(0, 1))
    if mask is None:
        return mixture_nll(*rows, targets)
    if mask.shape != log_pi.shape[:2]:
        raise ValueError(f"mask must have shape (seeds, N) = {tuple(log_pi.shape[:2])}, got {tuple(mask.shape)}")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0s (row left out) and 1s (row kept)")
    if not bool((mask.sum(dim=1) > 0).all()):
        raise ValueError("every seed's mask must select at least one row: a seed with no rows has no loss")
    log_density = mixture_log_density(*rows, targets).view(n_seeds, -1)
    kept = torch.where(mask.bool(), log_density, 0.0)  # not log_density * mask: -inf * 0 would be NaN
    return -(kept.sum(dim=1) / mask.sum(dim=1)).mean()


def outputs_on_cpu(model: nn.Module, inputs: torch.Tensor):
    """The model's outputs at inputs, computed without gradients on the model's device and returned on the CPU."""
    _check_module("model", model)
    _check_tensor("inputs", inputs, "(N, number of input features)")
    device = next(model.parameters()).device
    with torch.no_grad():
        outputs = model(inputs.to(device))
    return tuple(tensor.cpu() for tensor in outputs) if isinstance(outputs, tuple) else outputs.cpu()


def train_side_by_side(models: list[MixtureDensityNetwork], inputs: torch.Tensor, targets: torch.Tensor,
                       masks: torch.Tensor, epochs: int = 700, learning_rate: float = 0.02) -> SeedEnsemble:
    """Train same-shaped MDNs at once, model s on the rows where masks[s] (S, N) is 1 (notebook 08's folds): full
    batches, Adam with cosine decay; returns the trained SeedEnsemble."""
    _check_models(models, MixtureDensityNetwork)
    _check_rows(inputs, targets)
    if not isinstance(masks, torch.Tensor) or masks.shape != (len(models), len(inputs)):
        raise ValueError(f"masks must be a tensor of shape (models, N) = ({len(models)}, {len(inputs)}): one row of 0s "
                         f"and 1s per model, got {getattr(masks, 'shape', type(masks).__name__)}")
    _check_integer("epochs", epochs, 1, ": epochs must be positive")
    _check_number("learning_rate", learning_rate, lambda value: value > 0, "a positive number, such as 0.02")
    ensemble = SeedEnsemble(models).to(pick_device())
    masks = masks.to(pick_device())  # full batches: the masks' rows are the data's rows
    masked_loss = lambda outputs, batch_targets: ensemble_nll(outputs, batch_targets, masks)  # noqa: E731
    train_with_budget(ensemble, inputs, targets, masked_loss, learning_rate, epochs, batch_size=None)
    return ensemble


def pool_mixtures(log_pi: torch.Tensor, sigma: torch.Tensor,
                  mu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """S stacked mixtures, (S, N, K) or (S, N, K, D), as one mixture of S * K components per row, weights pi / S;
    sigma may be stacked Cholesky factors (S, N, K, D, D) for mu (S, N, K, D)."""
    for name, value in [("log_pi", log_pi), ("sigma", sigma), ("mu", mu)]:
        _check_tensor(name, value, "(S, N, K), or (S, N, K, D) for sigma and mu")
    full = sigma.dim() == 5 and mu.dim() == 4 and sigma.shape == (*mu.shape, mu.shape[3])
    if log_pi.dim() != 3 or not (sigma.shape == mu.shape or full) or mu.shape[:3] != log_pi.shape or mu.dim() not in (3, 4):
        raise ValueError("need stacked mixtures: log_pi (S, N, K), and sigma and mu both (S, N, K) or (S, N, K, D), "
                         "or sigma (S, N, K, D, D) Cholesky factors for mu (S, N, K, D), "
                         f"got {tuple(log_pi.shape)}, {tuple(sigma.shape)}, {tuple(mu.shape)}: stack the models' "
                         "outputs along a new first axis (a SeedEnsemble's outputs are so)")
    n_models = log_pi.shape[0]
    log_pi, sigma, mu = (tensor.transpose(0, 1).flatten(1, 2) for tensor in (log_pi, sigma, mu))
    return log_pi - math.log(n_models), sigma, mu


def gaps_to_truth(models: list[MixtureDensityNetwork], inputs: torch.Tensor, targets: torch.Tensor,
                  truth_log_density: torch.Tensor | None = None) -> list[tuple[float, float]]:
    """Each model's mean NLL on (inputs, targets) minus the true density's (nats), with its standard error;
    truth_log_density (N, 1), optional: true_conditional_log_density(inputs, targets), if already computed."""
    _check_models(models, MixtureDensityNetwork)
    _check_rows(inputs, targets)
    if targets.shape[1] != 1:
        raise ValueError(f"targets must have shape (N, 1), got {tuple(targets.shape)}")
    if truth_log_density is not None and (not isinstance(truth_log_density, torch.Tensor)
                                          or truth_log_density.shape != (len(inputs), 1)):
        raise ValueError(f"truth_log_density must be a tensor of shape ({len(inputs)}, 1), as "
                         "true_conditional_log_density(inputs, targets) returns, or None to compute it here")
    if truth_log_density is not None:  # the right shape, yet perhaps another data set's: recompute its first rows
        first = slice(0, 8)
        if not torch.allclose(truth_log_density[first].detach().cpu().double(),
                              true_conditional_log_density(inputs[first], targets[first]), rtol=1e-9, atol=1e-9):
            raise ValueError("truth_log_density is not true_conditional_log_density(inputs, targets) for these inputs "
                             "and targets (its first rows differ): compute it for these very points, or pass None")
    # The slow part, computed once for all the models (or passed in, computed once for all the calls).
    truth = true_conditional_log_density(inputs, targets) if truth_log_density is None else truth_log_density
    gaps = []
    for model in models:
        with torch.no_grad():
            device = model.target_std.device
            model_log_density = mixture_log_density(*model(inputs.to(device)), targets.to(device)).cpu().double()
        gaps.append(gap_to_truth(truth[:, 0], model_log_density[:, 0]))
    return gaps


def gap_to_truth(truth_log_density: torch.Tensor, model_log_density: torch.Tensor) -> tuple[float, float]:
    """Mean of truth minus model log density over the points, (N,) each: the NLL gap (nats) and its standard error."""
    _check_tensor("truth_log_density", truth_log_density, "(N,)", dims=1)
    _check_tensor("model_log_density", model_log_density, "(N,)", dims=1)
    if len(truth_log_density) != len(model_log_density) or len(truth_log_density) < 2:
        raise ValueError("truth_log_density and model_log_density must have the same length N >= 2 (a standard error "
                         f"needs two points), got {len(truth_log_density)} and {len(model_log_density)}")
    _check_finite("truth_log_density", truth_log_density, "the true density is positive wherever data can fall")
    if bool(torch.isnan(model_log_density).any()):
        raise ValueError("model_log_density holds NaN: evaluate the model with mixture_log_density on finite data")
    gap_per_point = truth_log_density.double() - model_log_density.double()
    return gap_per_point.mean().item(), gap_per_point.std().item() / math.sqrt(len(gap_per_point))


def held_out_gap(model: MixtureDensityNetwork, inputs: torch.Tensor, targets: torch.Tensor,
                 truth_log_density: torch.Tensor | None = None) -> tuple[float, float]:
    """Mean held-out NLL of model minus that of the true density (nats), and its standard error;
    truth_log_density (N, 1), optional: true_conditional_log_density(inputs, targets), if already computed."""
    if not isinstance(model, MixtureDensityNetwork):
        raise ValueError(f"model must be a MixtureDensityNetwork, got {type(model).__name__}")
    return gaps_to_truth([model], inputs, targets, truth_log_density)[0]


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------


# The series' palette: every figure draws each role in the same colour. The exact conditional mean E[x | y] is also
# dashed, so that it reads apart from a network's curve; a model's own estimate of E[x | y] is dashed in its colour.
DATA_COLOUR = "tab:gray"  # data points
TRUTH_COLOUR = "black"  # the true curve or density
CONDITIONAL_MEAN_COLOUR = "tab:green"  # the exact E[x | y], dashed
MSE_COLOUR = "tab:red"  # the network trained on squared error
MDN_COLOUR = "tab:blue"  # the mixture density network (its density, mean or samples)
# Colours for mixture components: tab10 without its grey, so that no component is drawn in the data's colour.
COMPONENT_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
                     "tab:cyan", "navy", "darkgoldenrod", "teal"]


def component_colour(k: int) -> str:
    """The colour of mixture component k (0-based) in every plot of the series."""
    _check_integer("k", k, 0, ": components are numbered from 0")
    return COMPONENT_COLOURS[k % len(COMPONENT_COLOURS)]


def plot_data(ax: plt.Axes, inputs: torch.Tensor, targets: torch.Tensor, label: str = "data") -> None:
    """Scatter (inputs, targets) lightly on ax, in the data's grey."""
    _check_rows(inputs, targets)
    if inputs.shape[1] != 1 or targets.shape[1] != 1:
        raise ValueError(f"a scatter plot takes one input and one target per row, (N, 1) each, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
    ax.scatter(inputs.cpu().numpy(), targets.cpu().numpy(), s=4, alpha=0.25, color=DATA_COLOUR, label=label)


def plot_loss_curve(history: list[float], title: str, ylabel: str, reference: float | None = None,
                    reference_label: str = "", log_scale: bool = False) -> plt.Figure:
    """Plot a training loss history against the epoch, with an optional horizontal reference line (a floor)."""
    if not isinstance(history, (list, tuple)) or not history or not all(
            isinstance(loss, numbers.Real) and math.isfinite(loss) for loss in history):
        raise ValueError("history must be a non-empty list of finite losses, one per epoch, as train returns")
    if log_scale and min(history) <= 0:
        raise ValueError("a log scale needs positive losses; an NLL can be negative: pass log_scale=False")
    if reference is not None:
        _check_number("reference", reference, lambda value: True, "a finite number (or None for no line)")
    figure, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(range(1, len(history) + 1), history, label="training loss")
    if reference is not None:
        ax.axhline(reference, color=TRUTH_COLOUR, linestyle=":", label=reference_label)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel, yscale="log" if log_scale else "linear")
    ax.legend(loc="best")  # matplotlib picks the corner that covers the least of the curve
    return figure


def plot_mixture_bands(ax: plt.Axes, model: MixtureDensityNetwork, input_grid: torch.Tensor, min_weight: float = 0.05) -> None:
    """Draw each component's mean +- one sigma against the inputs, only where its weight exceeds min_weight."""
    if not isinstance(model, MixtureDensityNetwork) or model.output_dim != 1 or model.input_mean.shape[0] != 1:
        raise ValueError("model must be a MixtureDensityNetwork with one input and one target (bands need 1-D targets)")
    _check_tensor("input_grid", input_grid, "(G, 1): the inputs to draw at, in order", dims=2)
    if input_grid.shape[1] != 1:
        raise ValueError(f"input_grid must have shape (G, 1), got {tuple(input_grid.shape)}")
    _check_number("min_weight", min_weight, lambda value: 0 <= value < 1, "a weight in [0, 1)")
    with torch.no_grad():
        log_pi, sigma, mu = (parameter.cpu() for parameter in model(input_grid.to(model.target_std.device)))
    for k in range(mu.shape[1]):
        matters = log_pi[:, k].exp() > min_weight
        if not bool(matters.any()):
            continue  # never carries weight on this grid: not drawn, not in the legend
        mean = torch.where(matters, mu[:, k], math.nan)
        ax.plot(input_grid[:, 0], mean, color=component_colour(k), linewidth=1.5,
                label=rf"$\mu_{{{k + 1}}} \pm \sigma_{{{k + 1}}}$")
        ax.fill_between(input_grid[:, 0], mean - sigma[:, k], mean + sigma[:, k], color=component_colour(k), alpha=0.3)
