"""Every public helper refuses bad input with a ValueError that names the argument and says what to pass instead.

One test per refusal, from the table REFUSALS. A last test lists the public functions and classes of helpers.py and
fails for any that has no entry in the table (or on the short list of helpers that take no tensors), so that a helper
added later without checks fails the suite.
"""

import inspect
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import helpers  # noqa: E402
from helpers import (  # noqa: E402
    MixtureDensityNetwork,
    SeedEnsemble,
    Standardise,
    arm_data,
    arm_true_log_density,
    binned_log_density,
    check_mixture,
    component_colour,
    count_modes,
    critical_distance,
    density_then_log_nll,
    distance_from_uniform,
    ensemble_nll,
    forward_data,
    gap_to_truth,
    gaps_to_truth,
    gumbel_max_choice,
    hand_position,
    held_out_gap,
    inverted_data,
    mdn_loss,
    mirror_configuration,
    mixture_distribution,
    mixture_log_density,
    mixture_nll,
    mse_network,
    old_faithful,
    outputs_on_cpu,
    pinball_loss,
    plot_data,
    plot_loss_curve,
    plot_mixture_bands,
    pool_mixtures,
    probability_integral_transform,
    recipe_network,
    sample_mixture,
    seed_everything,
    tanh_network,
    train,
    train_mixture_density_network,
    train_side_by_side,
    train_with_budget,
    true_conditional_log_density,
    true_conditional_mean,
    true_conditional_variance,
    true_function,
)

# Small valid inputs; each refusal below spoils one thing about them.
INPUTS, TARGETS = inverted_data(50, seed=0)
LOG_PI = torch.log_softmax(torch.zeros(50, 3), dim=1)
SIGMA, MU = torch.ones(50, 3), torch.zeros(50, 3)
NAN_ROW = torch.cat([TARGETS[:5], torch.tensor([[math.nan]]), TARGETS[6:]])
ANGLES = torch.tensor([[0.5, 2.0], [1.0, 3.0]])
# A full-covariance mixture over 2-D targets: each component's Cholesky factor scale_tril (N, K, D, D) as sigma.
SCALE_TRIL, MU_2D, TARGETS_2D = torch.eye(2).expand(50, 3, 2, 2), torch.zeros(50, 3, 2), torch.zeros(50, 2)
UPPER = torch.tensor([[1.0, 0.5], [0.0, 1.0]]).expand(50, 3, 2, 2)  # upper-triangular: not a Cholesky factor
ZERO_DIAGONAL = torch.tensor([[1.0, 0.0], [0.3, 0.0]]).expand(50, 3, 2, 2)
NEGATIVE_DIAGONAL = torch.tensor([[-1.0, 0.0], [0.3, 1.0]]).expand(50, 3, 2, 2)


def mdn() -> MixtureDensityNetwork:
    """A small MDN adapted to the data above."""
    return MixtureDensityNetwork(n_components=3, n_hidden=4).adapt_to_data(INPUTS, TARGETS)


def optimiser(model: torch.nn.Module) -> torch.optim.Optimizer:
    """Adam over the model's parameters."""
    return torch.optim.Adam(model.parameters())


def stacked(n_seeds: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Valid outputs of a SeedEnsemble of n_seeds MDNs on the data above: (S, N, K) each."""
    return tuple(tensor.expand(n_seeds, -1, -1) for tensor in (LOG_PI, SIGMA, MU))


def new_axes() -> plt.Axes:
    """A fresh matplotlib axes (closed at once: only the refusal matters)."""
    figure, ax = plt.subplots()
    plt.close(figure)
    return ax


# (helper, what is wrong, the call, a pattern the message must match: the argument's name and what to pass instead)
REFUSALS = [
    ("seed_everything", "a negative seed", lambda: seed_everything(-1), "seed must be an integer from 0 to 2"),
    ("seed_everything", "a seed that is not an integer", lambda: seed_everything(1.5), "seed must be an integer"),
    ("true_function", "a list, not a tensor", lambda: true_function([1.0, 2.0]), "x must be a float tensor.*as_tensor"),
    ("true_function", "NaN", lambda: true_function(torch.tensor([[math.nan]])), "x hold NaN or inf in 1 row"),
    ("forward_data", "no points", lambda: forward_data(0, seed=0), "n must be an integer >= 1"),
    ("forward_data", "a negative noise width", lambda: forward_data(10, seed=0, noise_std=-1.0),
     "noise_std must be a finite number >= 0"),
    ("forward_data", "a seed that is not an integer", lambda: forward_data(10, seed="0"), "seed must be an integer"),
    ("inverted_data", "a fractional number of points", lambda: inverted_data(2.5, seed=0), "n must be an integer >= 1"),
    ("hand_position", "three angles per row", lambda: hand_position(torch.zeros(4, 3)), r"angles must have shape \(N, 2\)"),
    ("hand_position", "an infinite angle", lambda: hand_position(torch.tensor([[0.0, math.inf]])),
     "angles hold NaN or inf in 1 row.*finite angles"),
    ("arm_data", "no configurations", lambda: arm_data(0, seed=0), "n must be an integer >= 1"),
    ("mirror_configuration", "a vector of angles", lambda: mirror_configuration(torch.zeros(2)),
     r"angles must have shape \(N, 2\)"),
    ("mirror_configuration", "NaN", lambda: mirror_configuration(torch.tensor([[math.nan, 1.0]])), "angles hold NaN"),
    ("arm_true_log_density", "a list of hand positions", lambda: arm_true_log_density([[0.5, 0.5]], ANGLES[:1]),
     r"hand must be a float tensor of shape \(N, 2\).*as_tensor"),
    ("arm_true_log_density", "integer hand positions", lambda: arm_true_log_density(
        torch.zeros(2, 2, dtype=torch.long), ANGLES), r"hand must hold floating-point numbers.*\.float\(\)"),
    ("arm_true_log_density", "three coordinates per hand", lambda: arm_true_log_density(torch.zeros(2, 3), ANGLES),
     r"hand must have shape \(N, 2\): a measured hand position"),
    ("arm_true_log_density", "a vector of angles", lambda: arm_true_log_density(hand_position(ANGLES), ANGLES[0]),
     r"angles must have shape \(N, 2\): a shoulder and an elbow angle"),
    ("arm_true_log_density", "fewer angles than hand positions", lambda: arm_true_log_density(
        hand_position(ANGLES), ANGLES[:1]), r"angles must have shape \(N, 2\) = \(2, 2\) like hand"),
    ("arm_true_log_density", "no rows", lambda: arm_true_log_density(torch.zeros(0, 2), torch.zeros(0, 2)),
     "hand is empty: pass at least one"),
    ("arm_true_log_density", "a NaN hand position", lambda: arm_true_log_density(
        torch.tensor([[0.5, 0.5], [math.nan, 0.5]]), ANGLES), r"hand positions hold NaN or inf in 1 row \(row 1\)"),
    ("arm_true_log_density", "an infinite angle", lambda: arm_true_log_density(
        hand_position(ANGLES), torch.tensor([[0.5, 2.0], [math.inf, 3.0]])), "angles hold NaN or inf in 1 row.*radians"),
    ("arm_true_log_density", "a lattice of 4 points a side", lambda: arm_true_log_density(
        hand_position(ANGLES), ANGLES, nodes=4), r"nodes must be an integer >= 8, got 4: the lattice needs"),
    ("arm_true_log_density", "a reading far beyond the arm's reach", lambda: arm_true_log_density(
        torch.tensor([[0.5, 0.5], [2.0, 0.0]]), ANGLES), r"more than 10 sensor widths .* \(rows 1\).*arm_data"),
    ("old_faithful", "a number, not a path", lambda: old_faithful(3), "path must be a file path"),
    ("true_conditional_log_density", "a NaN input", lambda: true_conditional_log_density(
        torch.tensor([[math.nan]]), torch.zeros(1, 1)), "inputs hold NaN or inf in 1 row.*drop or fix"),
    ("true_conditional_log_density", "a NaN target", lambda: true_conditional_log_density(INPUTS, NAN_ROW),
     r"targets hold NaN or inf in 1 row \(row 5\)"),
    ("true_conditional_log_density", "integer inputs", lambda: true_conditional_log_density(
        torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 1)), r"inputs must hold floating-point numbers.*\.float\(\)"),
    ("true_conditional_mean", "two input columns", lambda: true_conditional_mean(torch.zeros(3, 2)),
     r"inputs must have shape \(N, 1\)"),
    ("true_conditional_mean", "a grid too coarse for the narrow peaks", lambda: true_conditional_mean(INPUTS, 50),
     "grid_size must be an integer >= 401.*narrowest peaks"),
    ("true_conditional_variance", "an infinite input", lambda: true_conditional_variance(torch.tensor([[math.inf]])),
     "inputs hold NaN or inf"),
    ("Standardise", "a constant column", lambda: Standardise(torch.ones(5, 1)), "column 0 of .* is constant"),
    ("Standardise", "inputs of another width than its data", lambda: Standardise(INPUTS)(torch.zeros(4, 2)),
     r"inputs must be a tensor of shape \(N, 1\), like the data"),
    ("mse_network", "two input columns", lambda: mse_network(torch.randn(10, 2)), r"inputs must have shape \(N, 1\)"),
    ("mse_network", "no hidden units", lambda: mse_network(INPUTS, n_hidden=0), "n_hidden must be an integer >= 1"),
    ("MixtureDensityNetwork", "a fractional number of components", lambda: MixtureDensityNetwork(n_components=2.5),
     "all sizes must be positive integers"),
    ("MixtureDensityNetwork", "data of another width than the network", lambda: MixtureDensityNetwork().adapt_to_data(
        torch.randn(10, 2), torch.randn(10, 1)), r"this network takes inputs \(N, 1\).*input_dim and output_dim"),
    ("MixtureDensityNetwork", "a list as inputs", lambda: MixtureDensityNetwork()([0.5]), r"inputs must have shape \(N, 1\)"),
    ("MixtureDensityNetwork", "full covariance for 1-D targets", lambda: MixtureDensityNetwork(covariance="full"),
     r"covariance='full' needs vector targets, output_dim >= 2.*use covariance='diagonal'"),
    ("MixtureDensityNetwork", "an unknown covariance", lambda: MixtureDensityNetwork(output_dim=2, covariance="Full"),
     r"covariance must be 'diagonal' \(independent widths\) or 'full'"),
    ("check_mixture", "weights that do not sum to 1", lambda: check_mixture(torch.zeros(50, 3), SIGMA, MU),
     "must sum to 1 in every row.*log_softmax"),
    ("check_mixture", "an upper-triangular scale_tril", lambda: check_mixture(LOG_PI, UPPER, MU_2D),
     r"sigma = scale_tril must be lower-triangular.*torch\.linalg\.cholesky\(covariance\)"),
    ("check_mixture", "a scale_tril with a negative diagonal entry", lambda: check_mixture(
        LOG_PI, NEGATIVE_DIAGONAL, MU_2D), r"the diagonal of sigma = scale_tril must be positive.*cholesky"),
    ("check_mixture", "NaN in scale_tril", lambda: check_mixture(
        LOG_PI, torch.cat([SCALE_TRIL[:2], torch.full((1, 3, 2, 2), math.nan), SCALE_TRIL[3:]]), MU_2D),
     r"the Cholesky factors scale_tril hold NaN or inf in 1 row \(row 2\)"),
    ("check_mixture", "a 3 x 3 scale_tril for 2-D means", lambda: check_mixture(
        LOG_PI, torch.eye(3).expand(50, 3, 3, 3), MU_2D),
     r"needs log_pi \(N, K\), sigma = scale_tril \(N, K, D, D\) and mu \(N, K, D\).*cholesky"),
    ("mixture_log_density", "a numpy array", lambda: mixture_log_density(LOG_PI.numpy(), SIGMA, MU, TARGETS),
     "log_pi must be a float tensor"),
    ("mixture_log_density", "an upper-triangular scale_tril (a triangular solve would ignore its upper entries)",
     lambda: mixture_log_density(LOG_PI, UPPER, MU_2D, TARGETS_2D), "sigma = scale_tril must be lower-triangular"),
    ("mixture_log_density", "a scale_tril with a zero on its diagonal", lambda: mixture_log_density(
        LOG_PI, ZERO_DIAGONAL, MU_2D, TARGETS_2D), "the diagonal of sigma = scale_tril must be positive"),
    ("mixture_log_density", "1-D targets for a full-covariance mixture over 2-D", lambda: mixture_log_density(
        LOG_PI, SCALE_TRIL, MU_2D, TARGETS), r"targets must have shape \(N, D\) with D = 2"),
    ("mixture_nll", "a vector of targets", lambda: mixture_nll(LOG_PI, SIGMA, MU, TARGETS[:, 0]),
     r"reshape a vector of targets with \.reshape\(-1, 1\)"),
    ("mixture_nll", "a scale_tril with one component fewer than mu", lambda: mixture_nll(
        LOG_PI, SCALE_TRIL[:, :2], MU_2D, TARGETS_2D), r"sigma = scale_tril \(N, K, D, D\)"),
    ("density_then_log_nll", "a negative sigma", lambda: density_then_log_nll(LOG_PI, -SIGMA, MU, TARGETS),
     "every sigma must be positive"),
    ("density_then_log_nll", "a vector of targets", lambda: density_then_log_nll(LOG_PI, SIGMA, MU, TARGETS[:, 0]),
     r"targets \(N, 1\).*reshape\(-1, 1\)"),
    ("mixture_distribution", "sigma of another shape than mu", lambda: mixture_distribution(LOG_PI, SIGMA[:, :2], MU),
     "the same shape"),
    ("mixture_distribution", "a covariance matrix, not its Cholesky factor", lambda: mixture_distribution(
        LOG_PI, torch.tensor([[1.0, 0.5], [0.5, 1.0]]).expand(50, 3, 2, 2), MU_2D),
     "must be lower-triangular.*not a covariance matrix"),
    ("probability_integral_transform", "a NaN target", lambda: probability_integral_transform(
        LOG_PI, SIGMA, MU, NAN_ROW), r"targets hold NaN or inf in 1 row \(row 5\)"),
    ("probability_integral_transform", "NaN in mu", lambda: probability_integral_transform(
        LOG_PI, SIGMA, torch.full_like(MU, math.nan), TARGETS), "the means mu hold NaN"),
    ("probability_integral_transform", "a vector of targets", lambda: probability_integral_transform(
        LOG_PI, SIGMA, MU, TARGETS[:, 0]), r"targets \(N, 1\)"),
    ("critical_distance", "a significance of 5 (per cent, not a probability)", lambda: critical_distance(100, 5),
     "significance must be a probability strictly between 0 and 1"),
    ("critical_distance", "no values", lambda: critical_distance(0, 0.05), "n must be an integer >= 1"),
    ("distance_from_uniform", "values outside [0, 1]", lambda: distance_from_uniform(torch.tensor([0.5, 1.5])),
     r"values must lie in \[0, 1\]"),
    ("distance_from_uniform", "NaN", lambda: distance_from_uniform(torch.tensor([0.5, math.nan])), "values hold NaN"),
    ("distance_from_uniform", "a column instead of a vector", lambda: distance_from_uniform(torch.rand(5, 1)),
     r"values must have shape \(N,\)"),
    ("distance_from_uniform", "no values", lambda: distance_from_uniform(torch.zeros(0)), "values is empty"),
    ("count_modes", "a log density with -inf", lambda: count_modes(torch.tensor([-math.inf, 0.0, -1.0])),
     "density hold NaN or inf.*not a log density"),
    ("count_modes", "negative values", lambda: count_modes(torch.tensor([-1.0, 0.0, -1.0])), "density must be >= 0"),
    ("count_modes", "too few grid values", lambda: count_modes(torch.tensor([1.0, 2.0])), "at least 3 grid values"),
    ("binned_log_density", "edges that are not increasing", lambda: binned_log_density(
        torch.zeros(50, 2), TARGETS, torch.tensor([0.0, 2.0, 1.0])), "edges must be strictly increasing"),
    ("binned_log_density", "a NaN target", lambda: binned_log_density(
        torch.zeros(50, 2), NAN_ROW, torch.tensor([-11.0, 0.0, 11.0])), r"targets hold NaN or inf in 1 row \(row 5\)"),
    ("binned_log_density", "edges as a list", lambda: binned_log_density(torch.zeros(50, 2), TARGETS, [-11.0, 0.0, 11.0]),
     "edges must be a float tensor"),
    ("pinball_loss", "a quantile level of 1.5", lambda: pinball_loss(torch.zeros(50, 2), TARGETS, torch.tensor([0.5, 1.5])),
     "every quantile level must lie strictly between 0 and 1"),
    ("pinball_loss", "a level of 0", lambda: pinball_loss(torch.zeros(50, 1), TARGETS, torch.tensor([0.0])),
     "strictly between 0 and 1"),
    ("pinball_loss", "a NaN target", lambda: pinball_loss(torch.zeros(50, 1), NAN_ROW, torch.tensor([0.5])),
     r"targets hold NaN or inf in 1 row \(row 5\)"),
    ("gumbel_max_choice", "NaN in log_pi", lambda: gumbel_max_choice(torch.full((3, 2), math.nan)),
     "log_pi must hold numbers below \\+inf.*log_softmax"),
    ("gumbel_max_choice", "a row in which every weight is 0", lambda: gumbel_max_choice(
        torch.tensor([[0.0, -1.0], [-math.inf, -math.inf]])), "at least one weight above 0"),
    ("gumbel_max_choice", "a vector", lambda: gumbel_max_choice(torch.zeros(3)), r"log_pi must have shape \(N, K\)"),
    ("sample_mixture", "a zero sigma", lambda: sample_mixture(LOG_PI, torch.zeros_like(SIGMA), MU),
     "every sigma must be positive"),
    ("sample_mixture", "a scale_tril with a negative diagonal entry", lambda: sample_mixture(
        LOG_PI, NEGATIVE_DIAGONAL, MU_2D), "the diagonal of sigma = scale_tril must be positive"),
    ("train", "a learning rate, not an optimizer", lambda: train(mdn(), INPUTS, TARGETS, mdn_loss, 0.01, epochs=1),
     "optimizer must be a torch.optim optimizer"),
    ("train", "a fractional number of epochs", lambda: (lambda model: train(
        model, INPUTS, TARGETS, mdn_loss, optimiser(model), epochs=1.5))(mdn()), "epochs must be an integer >= 1"),
    ("train", "a loss that is not a function", lambda: (lambda model: train(
        model, INPUTS, TARGETS, "nll", optimiser(model), epochs=1))(mdn()), "loss_fn must be a function"),
    ("train", "a model without parameters", lambda: train(torch.nn.Tanh(), INPUTS, TARGETS, mdn_loss,
                                                          optimiser(mdn()), epochs=1), "model must be a torch.nn.Module with parameters"),
    ("mdn_loss", "a tensor instead of (log_pi, sigma, mu)", lambda: mdn_loss(MU, TARGETS),
     r"outputs must be the tuple \(log_pi, sigma, mu\)"),
    ("mdn_loss", "an upper-triangular scale_tril", lambda: mdn_loss((LOG_PI, UPPER, MU_2D), TARGETS_2D),
     "sigma = scale_tril must be lower-triangular"),
    ("train_with_budget", "a negative learning rate", lambda: train_with_budget(
        mdn(), INPUTS, TARGETS, mdn_loss, learning_rate=-0.02), "learning_rate must be a positive number"),
    ("train_with_budget", "no epochs", lambda: train_with_budget(mdn(), INPUTS, TARGETS, mdn_loss, epochs=0),
     "epochs must be an integer >= 1"),
    ("tanh_network", "no outputs", lambda: tanh_network(INPUTS, n_outputs=0), "n_outputs must be an integer >= 1"),
    ("tanh_network", "a NaN input", lambda: tanh_network(NAN_ROW, n_outputs=2), "hold NaN or inf in 1 row"),
    ("recipe_network", "a vector of targets", lambda: recipe_network(INPUTS, TARGETS[:, 0]),
     r"targets must have shape \(N, T\).*reshape\(-1, 1\)"),
    ("recipe_network", "full covariance for 1-D targets", lambda: recipe_network(INPUTS, TARGETS, covariance="full"),
     "covariance='full' needs vector targets"),
    ("train_mixture_density_network", "a negative learning rate", lambda: train_mixture_density_network(
        INPUTS, TARGETS, learning_rate=-0.01), "learning_rate must be a positive number"),
    ("train_mixture_density_network", "no epochs", lambda: train_mixture_density_network(INPUTS, TARGETS, epochs=0),
     "epochs must be an integer >= 1"),
    ("train_mixture_density_network", "a vector of inputs", lambda: train_mixture_density_network(INPUTS[:, 0], TARGETS),
     r"inputs must have shape \(N, number of input features\)"),
    ("train_mixture_density_network", "full covariance for 1-D targets", lambda: train_mixture_density_network(
        INPUTS, TARGETS, covariance="full"), "covariance='full' needs vector targets"),
    ("train_mixture_density_network", "a covariance that is not a name", lambda: train_mixture_density_network(
        INPUTS, torch.randn(50, 2), covariance=True), "covariance must be 'diagonal'"),
    ("SeedEnsemble", "no models", lambda: SeedEnsemble([]), "models must be a non-empty list"),
    ("SeedEnsemble", "models of different sizes", lambda: SeedEnsemble(
        [MixtureDensityNetwork(n_components=3), MixtureDensityNetwork(n_components=4)]), "the same sizes"),
    ("SeedEnsemble", "fewer models to unstack into than it holds", lambda: SeedEnsemble([mdn(), mdn()]).unstack([mdn()]),
     r"pass as many models as the ensemble holds \(2\)"),
    ("ensemble_nll", "one model's outputs, with no seed axis", lambda: ensemble_nll((LOG_PI, SIGMA, MU), TARGETS),
     "leading seed axis"),
    ("ensemble_nll", "a mask of weights other than 0 and 1", lambda: ensemble_nll(
        stacked(), TARGETS, torch.full((2, 50), 0.5)), "mask must hold only 0s"),
    ("ensemble_nll", "stacked full-covariance outputs with a non-positive diagonal", lambda: ensemble_nll(
        (LOG_PI.expand(2, -1, -1), ZERO_DIAGONAL.expand(2, -1, -1, -1, -1), MU_2D.expand(2, -1, -1, -1)),
        TARGETS_2D), "the diagonal of sigma = scale_tril must be positive"),
    ("outputs_on_cpu", "a list of inputs", lambda: outputs_on_cpu(mdn(), [[0.5]]), "inputs must be a float tensor"),
    ("outputs_on_cpu", "a function, not a model", lambda: outputs_on_cpu(torch.tanh, INPUTS),
     "model must be a torch.nn.Module"),
    ("train_side_by_side", "one mask row for two models", lambda: train_side_by_side(
        [mdn(), mdn()], INPUTS, TARGETS, torch.ones(1, 50)), r"masks must be a tensor of shape \(models, N\) = \(2, 50\)"),
    ("train_side_by_side", "a zero learning rate", lambda: train_side_by_side(
        [mdn()], INPUTS, TARGETS, torch.ones(1, 50), learning_rate=0.0), "learning_rate must be a positive number"),
    ("pool_mixtures", "one mixture without a seed axis", lambda: pool_mixtures(LOG_PI, SIGMA, MU),
     r"need stacked mixtures: log_pi \(S, N, K\)"),
    ("pool_mixtures", "stacked Cholesky factors for means of another dimension", lambda: pool_mixtures(
        LOG_PI.expand(2, -1, -1), torch.eye(3).expand(2, 50, 3, 3, 3), MU_2D.expand(2, -1, -1, -1)),
     r"or sigma \(S, N, K, D, D\) Cholesky factors for mu \(S, N, K, D\)"),
    ("gaps_to_truth", "a single model, not a list", lambda: gaps_to_truth(mdn(), INPUTS, TARGETS),
     "models must be a non-empty list of MixtureDensityNetworks"),
    ("gaps_to_truth", "a precomputed truth of the wrong shape", lambda: gaps_to_truth(
        [mdn()], INPUTS, TARGETS, torch.zeros(50)), r"truth_log_density must be a tensor of shape \(50, 1\)"),
    ("gap_to_truth", "log densities of different lengths", lambda: gap_to_truth(torch.zeros(5), torch.zeros(4)),
     "the same length"),
    ("gap_to_truth", "a NaN model log density", lambda: gap_to_truth(torch.zeros(3), torch.tensor([0.0, math.nan, 0.0])),
     "model_log_density holds NaN"),
    ("gap_to_truth", "a true log density of -inf", lambda: gap_to_truth(torch.tensor([0.0, -math.inf]), torch.zeros(2)),
     "truth_log_density hold NaN or inf"),
    ("held_out_gap", "a network that is not an MDN", lambda: held_out_gap(mse_network(INPUTS), INPUTS, TARGETS),
     "model must be a MixtureDensityNetwork"),
    ("held_out_gap", "a precomputed truth of the wrong length", lambda: held_out_gap(
        mdn(), INPUTS, TARGETS, torch.zeros(10, 1)), r"truth_log_density must be a tensor of shape \(50, 1\)"),
    ("held_out_gap", "the precomputed truth of another data set", lambda: held_out_gap(
        mdn(), INPUTS, TARGETS, true_conditional_log_density(*inverted_data(50, seed=1))),
     "truth_log_density is not true_conditional_log_density"),
    ("component_colour", "a negative component", lambda: component_colour(-1), "k must be an integer >= 0"),
    ("plot_data", "inputs and targets of different lengths", lambda: plot_data(new_axes(), INPUTS, TARGETS[:10]),
     "targets must have shape .* rows like the inputs"),
    ("plot_loss_curve", "an empty history", lambda: plot_loss_curve([], "title", "loss"),
     "history must be a non-empty list of finite losses"),
    ("plot_loss_curve", "a log scale for a negative NLL", lambda: plot_loss_curve([1.0, -0.5], "t", "NLL", log_scale=True),
     "a log scale needs positive losses"),
    ("plot_mixture_bands", "a weight threshold of 1", lambda: plot_mixture_bands(new_axes(), mdn(), INPUTS, 1.0),
     r"min_weight must be a weight in \[0, 1\)"),
    ("plot_mixture_bands", "a vector grid", lambda: plot_mixture_bands(new_axes(), mdn(), INPUTS[:, 0]),
     r"input_grid must have shape \(G, 1\)"),
]

# Public helpers that take no tensors or numbers to check, each with the reason.
NOTHING_TO_CHECK = {
    "pick_device": "takes no arguments",
    "progress_bar": "passes any iterable and its labels to tqdm, which checks them itself",
}


@pytest.mark.parametrize("helper, case, call, message", REFUSALS, ids=[f"{helper}: {case}" for helper, case, *_ in REFUSALS])
def test_the_helper_refuses_bad_input_and_says_what_to_pass(helper, case, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_train_refuses_before_it_changes_the_model():
    model = mdn()
    before = [parameter.detach().clone() for parameter in model.parameters()]
    with pytest.raises(ValueError, match="seed must be an integer"):
        train(model, INPUTS, TARGETS, mdn_loss, optimiser(model), epochs=5, seed=-1)
    assert all(torch.equal(old, new) for old, new in zip(before, model.parameters())), "the checks come first"


def test_binned_log_density_uses_each_bins_own_width():
    edges = torch.tensor([0.0, 1.0, 3.0])  # widths 1 and 2
    logits = torch.zeros(2, 2)  # probability 1/2 for each bin
    targets = torch.tensor([[0.5], [2.0]])
    expected = torch.tensor([math.log(0.5 / 1.0), math.log(0.5 / 2.0)])
    assert torch.allclose(binned_log_density(logits, targets, edges), expected)


def test_every_public_helper_has_a_refusal_test():
    public = {name for name, value in vars(helpers).items()
              if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
              and value.__module__ == "helpers"}
    covered = {helper for helper, *_ in REFUSALS}
    missing = sorted(public - covered - set(NOTHING_TO_CHECK))
    assert not missing, f"public helpers with no refusal test in REFUSALS (add one, or a reason to NOTHING_TO_CHECK): {missing}"
    stale = sorted((covered | set(NOTHING_TO_CHECK)) - public)
    assert not stale, f"entries for helpers that no longer exist: {stale}"
    assert not covered & set(NOTHING_TO_CHECK), "a helper with refusal tests does not belong on NOTHING_TO_CHECK"
