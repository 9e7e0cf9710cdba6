"""Unit tests of helpers.py: the loss, the sampler, the true density, shapes, errors and reproducibility."""

import math

import pytest
import torch

import helpers
from helpers import (
    ARM_LINKS,
    ARM_SENSOR_NOISE,
    MixtureDensityNetwork,
    SeedEnsemble,
    density_then_log_nll,
    distance_from_uniform,
    ensemble_nll,
    arm_data,
    arm_true_log_density,
    forward_data,
    gaps_to_truth,
    held_out_gap,
    gumbel_max_choice,
    hand_position,
    mirror_configuration,
    inverted_data,
    mdn_loss,
    mixture_distribution,
    mixture_log_density,
    mixture_nll,
    mse_network,
    old_faithful,
    outputs_on_cpu,
    pool_mixtures,
    train_side_by_side,
    count_modes,
    critical_distance,
    binned_log_density,
    pinball_loss,
    tanh_network,
    train_with_budget,
    Standardise,
    pick_device,
    probability_integral_transform,
    sample_mixture,
    train,
    train_mixture_density_network,
    true_conditional_log_density,
    true_conditional_mean,
    true_conditional_variance,
    true_function,
)


def random_mixture(n_rows=500, n_components=5, dtype=torch.float64, seed=0):
    """A random batch of valid mixtures (log_pi, sigma, mu) and targets (N, 1)."""
    generator = torch.Generator().manual_seed(seed)
    log_pi = torch.log_softmax(torch.randn(n_rows, n_components, generator=generator, dtype=dtype), dim=1)
    sigma = torch.exp(torch.randn(n_rows, n_components, generator=generator, dtype=dtype))
    mu = 3 * torch.randn(n_rows, n_components, generator=generator, dtype=dtype)
    targets = 3 * torch.randn(n_rows, 1, generator=generator, dtype=dtype)
    return log_pi, sigma, mu, targets


# ---- the loss ---------------------------------------------------------------------------------


def test_mixture_nll_matches_torch_distributions():
    log_pi, sigma, mu, targets = random_mixture()
    reference = -mixture_distribution(log_pi, sigma, mu).log_prob(targets[:, 0]).mean()
    assert torch.allclose(mixture_nll(log_pi, sigma, mu, targets), reference, rtol=1e-12)


def test_mixture_log_density_matches_a_direct_float64_computation():
    log_pi, sigma, mu, targets = random_mixture()
    density = (log_pi.exp() * torch.exp(-0.5 * ((targets - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))).sum(1)
    assert torch.allclose(mixture_log_density(log_pi, sigma, mu, targets)[:, 0], density.log(), rtol=1e-12)


def test_mixture_log_density_takes_several_targets_per_row():
    log_pi, sigma, mu, targets = random_mixture(n_rows=7)
    grid = torch.linspace(-5, 5, 11, dtype=torch.float64).expand(7, -1)
    columns = torch.stack([mixture_log_density(log_pi, sigma, mu, grid[:, [j]])[:, 0] for j in range(11)], dim=1)
    assert torch.allclose(mixture_log_density(log_pi, sigma, mu, grid), columns)


def test_loss_and_gradients_stay_finite_for_targets_far_from_every_component():
    log_pi, sigma, mu, _ = random_mixture(n_rows=8, dtype=torch.float32)
    sigma = torch.ones_like(sigma, requires_grad=True)
    mu = mu.clone().requires_grad_(True)
    targets = torch.full((8, 1), 1e4)  # 1e4 sigma from every mean: every density underflows in float32
    loss = mixture_nll(log_pi, sigma, mu, targets)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 1e7
    assert torch.isfinite(mu.grad).all() and torch.isfinite(sigma.grad).all()


def test_model_gradients_stay_finite_for_far_targets():
    model = MixtureDensityNetwork()
    loss = mixture_nll(*model(torch.zeros(4, 1)), torch.full((4, 1), 1e4))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters())


# ---- sampling ---------------------------------------------------------------------------------


def test_gumbel_max_frequencies_match_pi():
    pi = torch.tensor([0.6, 0.2, 0.1, 0.06, 0.04], dtype=torch.float64)
    n = 100_000
    choices = gumbel_max_choice(pi.log().expand(n, -1), torch.Generator().manual_seed(0))
    frequencies = torch.bincount(choices, minlength=5).double() / n
    assert ((frequencies - pi).abs() / torch.sqrt(pi * (1 - pi) / n)).max() < 5


def test_gumbel_max_never_picks_a_component_of_zero_weight():
    log_pi = torch.log(torch.tensor([[0.5, 0.0, 0.5]])).expand(10_000, -1)
    assert not (gumbel_max_choice(log_pi, torch.Generator().manual_seed(0)) == 1).any()


def test_samples_have_the_mixture_mean_and_variance():
    log_pi = torch.log(torch.tensor([[0.3, 0.7]], dtype=torch.float64)).expand(200_000, -1)
    sigma = torch.tensor([[1.0, 0.5]], dtype=torch.float64).expand(200_000, -1)
    mu = torch.tensor([[-4.0, 2.0]], dtype=torch.float64).expand(200_000, -1)
    samples = sample_mixture(log_pi, sigma, mu, torch.Generator().manual_seed(0))
    mean = 0.3 * -4.0 + 0.7 * 2.0
    variance = 0.3 * (1.0 + 16.0) + 0.7 * (0.25 + 4.0) - mean**2
    assert samples.shape == (200_000, 1)
    assert abs(samples.mean().item() - mean) < 5 * math.sqrt(variance / 200_000)
    assert abs(samples.var().item() / variance - 1) < 0.02


# ---- the toy problem and its true density -----------------------------------------------------


def test_data_shapes_range_and_roles():
    x, y = forward_data(100, seed=0)
    inputs, targets = inverted_data(100, seed=0)
    assert x.shape == y.shape == (100, 1)
    assert x.abs().max() <= 10.5
    assert torch.equal(inputs, y) and torch.equal(targets, x)


def test_true_conditional_density_integrates_to_one():
    grid = torch.linspace(-10.5, 10.5, 20_001, dtype=torch.float64)
    inputs = torch.tensor([[-12.0], [-3.0], [0.0], [2.5], [11.0]])
    density = true_conditional_log_density(inputs, grid.expand(5, -1)).exp()
    assert torch.allclose(torch.trapezoid(density, grid, dim=1), torch.ones(5, dtype=torch.float64), atol=1e-5)


def test_true_conditional_density_is_zero_outside_the_data_range():
    assert true_conditional_log_density(torch.zeros(1, 1), torch.tensor([[11.0]])).item() == -math.inf


def test_true_conditional_mean_is_odd_like_the_curve():
    inputs = torch.tensor([[0.5], [3.0], [7.0]])
    assert torch.allclose(true_conditional_mean(inputs), -true_conditional_mean(-inputs), atol=1e-9)


def test_bayes_optimum_matches_the_spec():
    inputs, targets = inverted_data(20_000, seed=123)
    assert abs(-true_conditional_log_density(inputs, targets).mean().item() - 1.285) < 0.03


# ---- shapes and clear errors ------------------------------------------------------------------


def test_network_output_shapes():
    log_pi, sigma, mu = MixtureDensityNetwork(n_components=3)(torch.zeros(6, 1))
    assert log_pi.shape == sigma.shape == mu.shape == (6, 3)
    assert torch.allclose(log_pi.exp().sum(dim=1), torch.ones(6))
    assert mse_network(torch.linspace(-1, 1, 20)[:, None])(torch.zeros(6, 1)).shape == (6, 1)


def test_vector_targets_are_refused():
    log_pi, sigma, mu, targets = random_mixture()
    with pytest.raises(ValueError, match=r"shape \(N, 1\)"):
        mixture_nll(log_pi, sigma, mu, targets[:, 0])


def test_targets_with_the_wrong_number_of_rows_are_refused():
    log_pi, sigma, mu, targets = random_mixture()
    with pytest.raises(ValueError, match="rows"):
        mixture_log_density(log_pi, sigma, mu, targets[:10])


@pytest.mark.parametrize("bad_sigma", [0.0, -1.0, math.nan])
def test_non_positive_sigma_is_refused(bad_sigma):
    log_pi, sigma, mu, targets = random_mixture()
    sigma[3, 2] = bad_sigma
    with pytest.raises(ValueError, match="positive"):
        mixture_nll(log_pi, sigma, mu, targets)


def test_weights_that_do_not_sum_to_one_are_refused():
    log_pi, sigma, mu, targets = random_mixture()
    with pytest.raises(ValueError, match="sum to 1"):
        mixture_nll(log_pi + 0.1, sigma, mu, targets)  # log of weights that sum to e^0.1
    with pytest.raises(ValueError, match="sum to 1"):
        sample_mixture(torch.zeros_like(log_pi), sigma, mu)  # raw logits instead of log_softmax


def test_parameters_of_different_shapes_are_refused():
    log_pi, sigma, mu, targets = random_mixture()
    with pytest.raises(ValueError, match="same shape"):
        mixture_nll(log_pi, sigma[:, :4], mu, targets)


@pytest.mark.parametrize("n", [0, -5, 2.5])
def test_bad_sample_counts_are_refused(n):
    with pytest.raises(ValueError, match="positive integer"):
        forward_data(n, seed=0)


def test_network_refuses_vector_inputs():
    with pytest.raises(ValueError, match=r"shape \(N, 1\)"):
        MixtureDensityNetwork()(torch.zeros(6))


# ---- bad data: a clear error, never a silent NaN -----------------------------------------------


@pytest.mark.parametrize("bad_rows, listed", [([5], r"1 row \(row 5\)"), ([5, 17, 42], r"3 rows \(rows 5, 17, 42\)"),
                                              (list(range(7)), r"7 rows \(rows 0, 1, 2, 3, 4, \.\.\.\)")])
def test_nan_targets_are_refused_by_row(bad_rows, listed):
    log_pi, sigma, mu, targets = random_mixture()
    targets[bad_rows] = math.nan
    with pytest.raises(ValueError, match=f"targets hold NaN or inf in {listed}: drop or fix those rows"):
        mixture_nll(log_pi, sigma, mu, targets)


@pytest.mark.parametrize("position, name, value", [(2, "the means mu", math.nan), (2, "the means mu", math.inf),
                                                   (1, "the widths sigma", math.nan), (1, "the widths sigma", math.inf),
                                                   (0, "the log weights log_pi", math.nan)])
@pytest.mark.parametrize("in_loss", [True, False], ids=["mixture_nll", "sample_mixture"])
def test_nan_or_inf_mixture_parameters_are_named(position, name, value, in_loss):
    mixture = list(random_mixture())  # log_pi, sigma, mu, targets
    mixture[position][4, 1] = value
    with pytest.raises(ValueError, match=f"{name} hold NaN or inf in 1 row \\(row 4\\): .*lower the learning rate"):
        mixture_nll(*mixture) if in_loss else sample_mixture(*mixture[:3])


def test_a_weight_of_exactly_zero_is_still_accepted():
    log_pi, sigma, mu, targets = random_mixture(n_components=3)
    log_pi = torch.log(torch.tensor([[0.5, 0.0, 0.5]], dtype=torch.float64)).expand(len(targets), -1)
    assert torch.isfinite(mixture_nll(log_pi, sigma, mu, targets))


@pytest.mark.parametrize("loss", [mixture_nll, mixture_log_density])
def test_an_empty_batch_is_refused(loss):
    log_pi, sigma, mu, targets = random_mixture()
    with pytest.raises(ValueError, match=r"no rows \(N = 0\)"):
        loss(log_pi[:0], sigma[:0], mu[:0], targets[:0])


def test_adapt_to_data_refuses_one_row():
    with pytest.raises(ValueError, match="a standard deviation needs at least two rows"):
        MixtureDensityNetwork().adapt_to_data(torch.zeros(1, 1), torch.zeros(1, 1))


@pytest.mark.parametrize("which", ["inputs", "targets"])
def test_adapt_to_data_refuses_a_constant_column(which):
    data = {"inputs": torch.randn(50, 2), "targets": torch.randn(50, 3)}
    data[which][:, 1] = 4.0
    with pytest.raises(ValueError, match=f"column 1 of {which} is constant: a constant feature carries no information"):
        MixtureDensityNetwork(input_dim=2, output_dim=3).adapt_to_data(data["inputs"], data["targets"])


@pytest.mark.parametrize("which", ["inputs", "targets"])
def test_adapt_to_data_refuses_nan_or_inf_rows(which):
    data = {"inputs": torch.randn(50, 1), "targets": torch.randn(50, 1)}
    data[which][7] = math.inf
    with pytest.raises(ValueError, match=rf"{which} hold NaN or inf in 1 row \(row 7\)"):
        MixtureDensityNetwork().adapt_to_data(data["inputs"], data["targets"])


def never_called(outputs, targets):
    """A loss for train() that fails the test if training starts at all."""
    raise AssertionError("train started on bad data")


@pytest.mark.parametrize("which, value", [("inputs", math.inf), ("targets", math.nan)])
def test_train_refuses_bad_data_before_it_starts(which, value):
    data = {"inputs": torch.randn(20, 1), "targets": torch.randn(20, 1)}
    data[which][3] = value
    network = mse_network(torch.linspace(-1, 1, 20)[:, None])
    with pytest.raises(ValueError, match=rf"{which} hold NaN or inf in 1 row \(row 3\): drop or fix those rows"):
        train(network, data["inputs"], data["targets"], never_called, torch.optim.Adam(network.parameters()),
              epochs=5, progress=False)


def test_train_refuses_no_rows():
    network = mse_network(torch.linspace(-1, 1, 20)[:, None])
    with pytest.raises(ValueError, match=r"no rows \(N = 0\)"):
        train(network, torch.zeros(0, 1), torch.zeros(0, 1), never_called, torch.optim.Adam(network.parameters()),
              epochs=5, progress=False)


def test_train_stops_at_the_first_epoch_whose_loss_is_not_finite():
    x, y = forward_data(40, seed=0)
    calls = []

    def nan_from_epoch_3(outputs, targets):
        calls.append(1)
        loss = torch.nn.functional.mse_loss(outputs, targets)
        return loss * math.nan if len(calls) >= 3 else loss

    network = mse_network(torch.linspace(-1, 1, 20)[:, None])
    with pytest.raises(ValueError, match="epoch 3 is nan, so training stopped.*learning rate too large"):
        train(network, x, y, nan_from_epoch_3, torch.optim.Adam(network.parameters()), epochs=10, progress=False)
    assert len(calls) == 3  # full batches: one call per epoch, and none after the bad one


def test_train_stops_when_the_density_then_log_loss_underflows():
    inputs, targets = inverted_data(200, seed=0)
    targets[0] = 60.0  # one data-entry error, 60 widths from every mean: its density underflows to 0 (notebook 06)
    torch.manual_seed(0)
    model = MixtureDensityNetwork()
    with pytest.raises(ValueError, match="epoch 1 is inf.*density_then_log_nll"):
        train(model, inputs, targets, lambda outputs, batch_targets: density_then_log_nll(*outputs, batch_targets),
              torch.optim.Adam(model.parameters()), epochs=5, progress=False)


def test_train_names_the_epoch_when_a_huge_learning_rate_breaks_the_mixture():
    inputs, targets = inverted_data(200, seed=0)
    torch.manual_seed(0)
    model = MixtureDensityNetwork().adapt_to_data(inputs, targets)
    with pytest.raises(ValueError, match=r"^epoch [2-9]: the .* hold NaN or inf .*lower the learning rate"):
        train(model, inputs, targets, mdn_loss, torch.optim.SGD(model.parameters(), lr=1e4), epochs=10, progress=False)


# ---- training, devices and reproducibility ----------------------------------------------------


def test_pick_device_prefers_an_accelerator():
    device = pick_device()
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif torch.backends.mps.is_available():
        assert device.type == "mps"
    else:
        assert device.type == "cpu"


def test_helpers_use_one_cpu_thread_unless_told_otherwise():
    import os
    import subprocess
    import sys

    command = [sys.executable, "-c", "import helpers, torch; print(torch.get_num_threads())"]
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    assert subprocess.run(command, capture_output=True, text=True, env=environment, check=True).stdout.strip() == "1"
    environment["OMP_NUM_THREADS"] = "2"
    assert subprocess.run(command, capture_output=True, text=True, env=environment, check=True).stdout.strip() == "2"


def test_standardise_maps_its_data_to_mean_zero_and_std_one():
    data = torch.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    standardised = Standardise(data)(data)
    assert torch.allclose(standardised.mean(dim=0), torch.zeros(2), atol=1e-6)
    assert torch.allclose(standardised.std(dim=0), torch.ones(2))
    assert not list(Standardise(data).parameters())  # fixed from the data, not trained


@pytest.mark.parametrize("data, message", [(torch.ones(1, 1), "at least two rows"), (torch.ones(5, 1), "constant"),
                                           (torch.tensor([[1.0], [math.nan]]), "NaN or inf")])
def test_standardise_refuses_data_it_cannot_standardise(data, message):
    with pytest.raises(ValueError, match=message):
        Standardise(data)


def test_train_lowers_the_loss():
    x, y = forward_data(200, seed=0)
    torch.manual_seed(0)
    network = mse_network(torch.linspace(-1, 1, 20)[:, None])
    history = train(network, x, y, torch.nn.functional.mse_loss, torch.optim.Adam(network.parameters(), lr=0.01),
                    epochs=200, batch_size=50, progress=False)
    assert len(history) == 200 and history[-1] < 0.5 * history[0]


def test_same_seed_gives_the_same_data_and_the_same_model():
    assert torch.equal(forward_data(50, seed=7)[0], forward_data(50, seed=7)[0])
    assert not torch.equal(forward_data(50, seed=7)[0], forward_data(50, seed=8)[0])
    inputs, targets = inverted_data(1000, seed=0)
    first_model, first_history = train_mixture_density_network(inputs, targets, epochs=3, seed=0, progress=False)
    second_model, second_history = train_mixture_density_network(inputs, targets, epochs=3, seed=0, progress=False)
    assert first_history == second_history
    assert all(torch.equal(a, b) for a, b in zip(first_model.state_dict().values(), second_model.state_dict().values()))


@pytest.mark.parametrize("settings", [{"epochs": 0}, {"epochs": 5, "batch_size": 0}])
def test_train_refuses_bad_settings(settings):
    x, y = forward_data(20, seed=0)
    network = mse_network(torch.linspace(-1, 1, 20)[:, None])
    with pytest.raises(ValueError, match="positive"):
        train(network, x, y, torch.nn.functional.mse_loss, torch.optim.Adam(network.parameters()), progress=False,
              **settings)


def seeded_models(inputs: torch.Tensor, targets: torch.Tensor, seeds: list[int], **sizes) -> list[MixtureDensityNetwork]:
    """One MDN of these sizes per seed, each started from torch.manual_seed(seed) and adapted to the data."""
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(MixtureDensityNetwork(**sizes).adapt_to_data(inputs, targets))
    return models


def assert_same_weights(model: torch.nn.Module, other: torch.nn.Module) -> None:
    """The two models' parameters and buffers agree to float32 rounding after a few training steps."""
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_seed_ensemble_trains_each_seed_as_on_its_own():
    inputs, targets = inverted_data(500, seed=0)
    sizes = {"n_components": 3, "n_hidden": 8, "n_layers": 2}
    ensemble_models = seeded_models(inputs, targets, [0, 1, 2], **sizes)
    ensemble = SeedEnsemble(ensemble_models)
    train(ensemble, inputs, targets, ensemble_nll, torch.optim.Adam(ensemble.parameters(), lr=0.01), epochs=5,
          progress=False)
    ensemble.unstack(ensemble_models)
    for ensemble_model, alone in zip(ensemble_models, seeded_models(inputs, targets, [0, 1, 2], **sizes)):
        train(alone, inputs, targets, mdn_loss, torch.optim.Adam(alone.parameters(), lr=0.01), epochs=5, progress=False)
        assert_same_weights(ensemble_model, alone)


def test_seed_ensemble_with_its_own_batch_orders_trains_each_seed_as_train_would_with_that_seed():
    # shuffle_seeds: model s shuffles the data as train(seed=s) would alone, so the stacked seeds vary both their start
    # and their batch order (notebook 05's choice of K), in mini-batches; with one shared order they would not.
    inputs, targets = inverted_data(600, seed=0)
    seeds, sizes = [0, 1, 2], {"n_components": 3, "n_hidden": 8}

    def adam(model):
        return torch.optim.Adam(model.parameters(), lr=0.01)

    ensemble_models = seeded_models(inputs, targets, seeds, **sizes)
    ensemble = SeedEnsemble(ensemble_models)
    train(ensemble, inputs, targets, ensemble_nll, adam(ensemble), epochs=3, batch_size=200, progress=False,
          shuffle_seeds=seeds)
    ensemble.unstack(ensemble_models)
    for seed, ensemble_model, alone in zip(seeds, ensemble_models, seeded_models(inputs, targets, seeds, **sizes)):
        train(alone, inputs, targets, mdn_loss, adam(alone), epochs=3, batch_size=200, seed=seed, progress=False)
        assert_same_weights(ensemble_model, alone)
    shared_models = seeded_models(inputs, targets, seeds, **sizes)
    shared = SeedEnsemble(shared_models)
    train(shared, inputs, targets, ensemble_nll, adam(shared), epochs=3, batch_size=200, progress=False)
    shared.unstack(shared_models)
    assert not torch.allclose(shared_models[1].mu_head.weight, ensemble_models[1].mu_head.weight, atol=1e-4), (
        "with one shared order, seed 1 trains differently: the check above can fail")


@pytest.mark.parametrize("model, shuffle_seeds, message", [
    (MixtureDensityNetwork(), [0, 1], "one seed per stacked model"),
    (SeedEnsemble([MixtureDensityNetwork(), MixtureDensityNetwork()]), [0, 1, 2], "one seed per stacked model"),
    (SeedEnsemble([MixtureDensityNetwork(), MixtureDensityNetwork()]), [0, -1], "seed"),
])
def test_train_refuses_shuffle_seeds_that_do_not_fit_the_model(model, shuffle_seeds, message):
    inputs, targets = inverted_data(50, seed=0)
    with pytest.raises(ValueError, match=message):
        train(model, inputs, targets, ensemble_nll, torch.optim.Adam(model.parameters()), epochs=1,
              shuffle_seeds=shuffle_seeds, progress=False)


def test_ensemble_nll_and_the_stacked_forward_refuse_rows_for_the_wrong_number_of_models():
    inputs, targets = inverted_data(40, seed=0)
    ensemble = SeedEnsemble([MixtureDensityNetwork(), MixtureDensityNetwork()])
    with pytest.raises(ValueError, match=r"\(2, N, 1\) with rows for each model"):
        ensemble(inputs.expand(3, -1, -1))
    outputs = ensemble(inputs.expand(2, -1, -1))
    with pytest.raises(ValueError, match="must match the outputs' \\(S, N\\)"):
        ensemble_nll(outputs, targets.expand(3, -1, -1))


def test_held_out_gap_matches_a_direct_computation():
    inputs, targets = inverted_data(300, seed=0)
    torch.manual_seed(0)
    model = MixtureDensityNetwork().adapt_to_data(inputs, targets)
    gap, standard_error = held_out_gap(model, inputs, targets)
    with torch.no_grad():
        direct = mixture_nll(*model(inputs), targets).item() + true_conditional_log_density(inputs, targets).mean().item()
    assert abs(gap - direct) < 1e-5 and standard_error > 0


def test_deeper_networks_keep_the_output_shapes():
    log_pi, sigma, mu = MixtureDensityNetwork(n_components=4, n_hidden=16, n_layers=3)(torch.zeros(5, 1))
    assert log_pi.shape == sigma.shape == mu.shape == (5, 4)


# ---- vector targets (diagonal Gaussians) ------------------------------------------------------


def random_vector_mixture(n_rows=300, n_components=4, n_dims=3, seed=0):
    """A random batch of D-dimensional mixtures (log_pi, sigma, mu) and targets (N, D), in float64."""
    generator = torch.Generator().manual_seed(seed)
    log_pi = torch.log_softmax(torch.randn(n_rows, n_components, generator=generator, dtype=torch.float64), dim=1)
    sigma = torch.exp(torch.randn(n_rows, n_components, n_dims, generator=generator, dtype=torch.float64))
    mu = torch.randn(n_rows, n_components, n_dims, generator=generator, dtype=torch.float64)
    targets = torch.randn(n_rows, n_dims, generator=generator, dtype=torch.float64)
    return log_pi, sigma, mu, targets


def test_vector_log_density_matches_mixture_of_independent_normals():
    log_pi, sigma, mu, targets = random_vector_mixture()
    reference = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=log_pi),
        torch.distributions.Independent(torch.distributions.Normal(mu, sigma), 1),
    ).log_prob(targets)
    assert mixture_log_density(log_pi, sigma, mu, targets).shape == (300, 1)
    assert torch.allclose(mixture_log_density(log_pi, sigma, mu, targets)[:, 0], reference, rtol=1e-12)
    assert torch.allclose(mixture_nll(log_pi, sigma, mu, targets), -reference.mean(), rtol=1e-12)


def test_one_dimensional_case_is_the_vector_code_with_d_equal_one():
    log_pi, sigma, mu, targets = random_vector_mixture(n_dims=1)
    vector = mixture_log_density(log_pi, sigma, mu, targets)
    scalar = mixture_log_density(log_pi, sigma[:, :, 0], mu[:, :, 0], targets)
    assert torch.allclose(vector, scalar, rtol=1e-12)


def test_vector_samples_have_the_right_shape_and_moments():
    n = 100_000
    log_pi = torch.log(torch.tensor([[0.25, 0.75]], dtype=torch.float64)).expand(n, -1)
    mu = torch.tensor([[[-2.0, 1.0], [2.0, 3.0]]], dtype=torch.float64).expand(n, -1, -1)
    sigma = torch.tensor([[[0.5, 1.0], [1.0, 0.2]]], dtype=torch.float64).expand(n, -1, -1)
    samples = sample_mixture(log_pi, sigma, mu, torch.Generator().manual_seed(0))
    assert samples.shape == (n, 2)
    expected_mean = torch.tensor([0.25 * -2.0 + 0.75 * 2.0, 0.25 * 1.0 + 0.75 * 3.0], dtype=torch.float64)
    assert torch.allclose(samples.mean(dim=0), expected_mean, atol=0.02)


def test_vector_targets_of_the_wrong_width_are_refused():
    log_pi, sigma, mu, targets = random_vector_mixture(n_dims=3)
    with pytest.raises(ValueError, match=r"shape \(N, D\) with D = 3"):
        mixture_nll(log_pi, sigma, mu, targets[:, :2])


def test_network_with_vector_inputs_and_targets():
    model = MixtureDensityNetwork(n_components=4, n_hidden=16, input_dim=2, output_dim=3)
    log_pi, sigma, mu = model(torch.zeros(5, 2))
    assert log_pi.shape == (5, 4) and sigma.shape == mu.shape == (5, 4, 3)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model(torch.zeros(5, 1))


def test_gaps_to_truth_matches_held_out_gap_for_each_model_with_or_without_a_precomputed_truth():
    inputs, targets = inverted_data(300, seed=0)
    models = []
    for seed in range(2):
        torch.manual_seed(seed)
        models.append(MixtureDensityNetwork().adapt_to_data(inputs, targets))
    assert gaps_to_truth(models, inputs, targets) == [held_out_gap(model, inputs, targets) for model in models]
    truth = true_conditional_log_density(inputs, targets)
    assert [held_out_gap(model, inputs, targets, truth) for model in models] == gaps_to_truth(models, inputs, targets)


def test_probability_integral_transform_of_one_gaussian_is_its_cdf():
    log_pi, sigma, mu, targets = random_mixture(n_components=1)
    expected = torch.distributions.Normal(mu[:, 0], sigma[:, 0]).cdf(targets[:, 0])
    assert torch.allclose(probability_integral_transform(log_pi, sigma, mu, targets), expected, atol=1e-12)


def test_distance_from_uniform_of_known_samples():
    n = 1000
    assert distance_from_uniform((torch.arange(n) + 0.5) / n) == pytest.approx(0.5 / n, abs=1e-6)
    assert distance_from_uniform(torch.zeros(n)) == pytest.approx(1.0)


@pytest.mark.parametrize("n_layers, output_dim, covariance", [(1, 1, "diagonal"), (2, 1, "diagonal"), (2, 2, "diagonal"),
                                                                (1, 3, "full"), (2, 2, "full")])
def test_seed_ensemble_outputs_match_each_model(n_layers, output_dim, covariance):
    inputs = torch.randn(50, 2)
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = MixtureDensityNetwork(n_components=4, n_hidden=8, n_layers=n_layers, input_dim=2, output_dim=output_dim,
                                      sigma_floor=0.1 * seed,  # each model its own floor, 0 included
                                      covariance=covariance)
        models.append(model.adapt_to_data(inputs, torch.randn(50, output_dim) * (seed + 1)))
    with torch.no_grad():
        stacked = SeedEnsemble(models)(inputs)
        for index, model in enumerate(models):
            for together, alone in zip(stacked, model(inputs)):
                assert torch.allclose(together[index], alone, atol=1e-6)


def test_sigma_floor_adds_to_every_width_in_target_units():
    inputs, targets = inverted_data(200, seed=0)
    torch.manual_seed(0)
    plain = MixtureDensityNetwork(n_components=3).adapt_to_data(inputs, targets)
    torch.manual_seed(0)
    floored = MixtureDensityNetwork(n_components=3, sigma_floor=0.1).adapt_to_data(inputs, targets)
    with torch.no_grad():
        _, plain_sigma, plain_mu = plain(inputs)
        _, floored_sigma, floored_mu = floored(inputs)
    assert torch.allclose(floored_sigma, plain_sigma + 0.1 * targets.std(), atol=1e-5)
    assert torch.equal(floored_mu, plain_mu)
    assert (floored_sigma >= 0.1 * targets.std() - 1e-6).all()


@pytest.mark.parametrize("floor", [-0.1, math.nan, math.inf])
def test_a_bad_sigma_floor_is_refused(floor):
    with pytest.raises(ValueError, match="sigma_floor"):
        MixtureDensityNetwork(sigma_floor=floor)


def test_arm_data_measures_the_hand_of_angles_in_range():
    positions, angles = arm_data(2000, seed=0)
    assert positions.shape == angles.shape == (2000, 2)
    assert ((angles[:, 0] >= 0.3) & (angles[:, 0] <= 1.2)).all()
    assert ((angles[:, 1] >= math.pi / 2) & (angles[:, 1] <= 1.5 * math.pi)).all()
    noise = positions - hand_position(angles)
    assert abs(noise.std().item() - ARM_SENSOR_NOISE) < 0.1 * ARM_SENSOR_NOISE
    assert torch.equal(arm_data(2000, seed=0)[0], positions)
    mirror = mirror_configuration(angles)
    assert torch.allclose(hand_position(mirror), hand_position(angles), atol=1e-5), "the mirror reaches the same place"
    assert torch.allclose(mirror_configuration(mirror), angles, atol=1e-5), "and mirroring twice is the identity"
    straight = hand_position(torch.tensor([[0.0, 0.0]]))
    assert torch.allclose(straight, torch.tensor([[sum(ARM_LINKS), 0.0]]))


def test_arm_true_log_density_matches_the_laplace_normaliser_away_from_the_fold_and_the_edges():
    # For a noise-free reading and small noise, the normaliser integral of N(hand; f(angles), s^2 I) over the angles is
    # sum over the configurations in range of 1 / |det J| = 1 / (l_1 l_2 |sin elbow|), each mirror alike, so that
    # log p(angles | hand) = -log(2 pi s^2) + log(l_1 l_2 |sin elbow|) - log(number of configurations in range).
    angles = torch.tensor([[0.5, math.pi - 0.9], [0.45, math.pi - 1.2], [1.0, math.pi + 1.0], [1.1, math.pi + 1.3],
                           [0.6, math.pi + 1.0], [1.0, math.pi - 1.1]], dtype=torch.float64)
    mirror_shoulder = mirror_configuration(angles)[:, 0]
    in_range = (mirror_shoulder >= 0.3) & (mirror_shoulder <= 1.2)
    assert in_range[:4].all() and not in_range[4:].any(), "four with their mirror in range, two with it far outside"
    assert ((mirror_shoulder - 0.75).abs() > 0.6)[4:].all() and ((mirror_shoulder - 0.75).abs() < 0.3)[:4].all()
    link_1, link_2 = ARM_LINKS
    laplace = (-math.log(2 * math.pi * ARM_SENSOR_NOISE**2) + torch.log(link_1 * link_2 * angles[:, 1].sin().abs())
               - torch.log(1.0 + in_range.double()))
    exact = arm_true_log_density(hand_position(angles), angles)
    assert exact.shape == (6,) and exact.dtype == torch.float64
    # The Laplace formula's next term is of order s^2 / (l_1 l_2 sin elbow)^2, about 1e-3 nats at these elbows
    # (measured: 3e-4 to 1e-3); a lost mirror or Jacobian would be off by 0.69 nats or more.
    assert torch.allclose(exact, laplace, atol=3e-3), (exact - laplace).tolist()


def _global_lattice_log_normaliser(hand: torch.Tensor, size: int) -> torch.Tensor:
    """log of the integral of N(hand; f(angles), s^2 I) over the whole prior box, by the trapezoid rule on a uniform
    size x size lattice (brute force, independent of the helper's local lattices), float64, one reading at a time."""
    shoulder = torch.linspace(0.3, 1.2, size, dtype=torch.float64)
    elbow = torch.linspace(math.pi / 2, 1.5 * math.pi, size, dtype=torch.float64)
    weights = []
    for values in (shoulder, elbow):
        weight = torch.full_like(values, values[1] - values[0])
        weight[0] = weight[-1] = weight[0] / 2
        weights.append(weight.log())
    log_weights = (weights[0][:, None] + weights[1][None, :]).flatten()
    lattice_hands = hand_position(torch.cartesian_prod(shoulder, elbow))
    return torch.stack([torch.logsumexp(-0.5 * ((reading - lattice_hands) ** 2).sum(dim=1) / ARM_SENSOR_NOISE**2
                                        - math.log(2 * math.pi * ARM_SENSOR_NOISE**2) + log_weights, dim=0)
                        for reading in hand.double()])


def test_arm_true_log_density_matches_a_brute_force_lattice_over_the_whole_box():
    # Noisy readings of: two configurations; one; a shoulder at its range's edge; the elbow nearly folded back (elbow near pi,
    # where the two configurations merge and the Laplace formula fails); an elbow at its edge; both angles at an edge.
    angles = torch.tensor([[0.6, 2.3], [0.4, 3.9], [1.18, 2.6], [0.8, math.pi + 0.05], [0.31, 4.65], [0.9, 1.58]],
                          dtype=torch.float64)
    noise = torch.tensor([[1.0, -0.5], [-1.2, 0.3], [0.4, 1.1], [-1.5, -1.0], [0.2, -0.9], [1.3, 0.6]],
                         dtype=torch.float64)
    hand = hand_position(angles) + ARM_SENSOR_NOISE * noise
    coarse, fine = _global_lattice_log_normaliser(hand, 500), _global_lattice_log_normaliser(hand, 1000)
    brute_force = (4 * fine - coarse) / 3  # Richardson: the trapezoid rule's error falls as the spacing squared
    log_likelihood = (-0.5 * ((hand - hand_position(angles)) ** 2).sum(dim=1) / ARM_SENSOR_NOISE**2
                      - math.log(2 * math.pi * ARM_SENSOR_NOISE**2))
    exact = arm_true_log_density(hand, angles)
    # Measured: the two agree within 4e-6 nats (1000 x 1000 alone is within 1.2e-3); the tolerance leaves 25 times that.
    difference = exact - (log_likelihood - brute_force)
    assert torch.allclose(difference, torch.zeros_like(difference), atol=1e-4), difference.tolist()


def test_arm_true_log_density_is_minus_infinity_outside_the_prior_box_and_finite_on_the_data():
    positions, angles = arm_data(500, seed=3)
    log_density = arm_true_log_density(positions, angles)
    assert log_density.shape == (500,) and torch.isfinite(log_density).all()
    outside = torch.tensor([[0.29, 2.5], [1.21, 2.5], [0.7, 1.5], [0.7, 4.8]])
    assert (arm_true_log_density(hand_position(outside), outside) == -math.inf).all()
    # The optimum that notebook 07's MDN is measured against: a held-out NLL of about -5.0 nats (-5.00 on its 5000
    # test points; on these 500, -5.00 with a standard error of 0.05: the tolerance is 3 of them).
    assert abs(-log_density.mean().item() + 5.0) < 0.15
    assert torch.equal(arm_true_log_density(positions.double(), angles.double()), log_density), "float64 inside"


def test_forward_data_scales_only_the_noise_with_noise_std():
    x, y = forward_data(500, seed=3)
    wide_x, wide_y = forward_data(500, seed=3, noise_std=2.0)
    assert torch.equal(wide_x, x)
    assert torch.allclose(wide_y - true_function(x), 2 * (y - true_function(x)), atol=1e-5)


def test_old_faithful_has_its_272_eruptions_in_minutes():
    waiting, duration = old_faithful()
    assert waiting.shape == duration.shape == (272, 1) and waiting.dtype == torch.float32
    assert (waiting[0, 0].item(), duration[0, 0].item()) == (79.0, pytest.approx(3.6))
    assert 40 < waiting.min() and waiting.max() < 100 and 1.5 < duration.min() and duration.max() < 5.5


def test_old_faithful_says_where_a_missing_file_should_be(tmp_path):
    with pytest.raises(FileNotFoundError, match="ships with the series as data/old_faithful.csv"):
        old_faithful(tmp_path / "old_faithful.csv")


@pytest.mark.parametrize("text, message", [
    ("waiting,eruptions\n79,3.6\n54,1.8\n", "must start with the header 'eruptions,waiting'"),
    ("eruptions,waiting\n3.6,79\n1.8,fifty\n", "line 3 .* is not two numbers"),
    ("eruptions,waiting\n3.6,79,1\n1.8,54\n", "line 2 .* is not two numbers"),
    ("eruptions,waiting\n3.6,79\nnan,54\n", "line 3 .* two positive durations"),
    ("eruptions,waiting\n3.6,79\n-1.8,54\n", "line 3 .* two positive durations"),
    ("eruptions,waiting\n3.6,79\n", "holds only 1 data row"),
])
def test_old_faithful_names_what_is_wrong_with_a_damaged_file(tmp_path, text, message):
    path = tmp_path / "old_faithful.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        old_faithful(path)


def test_ensemble_nll_with_a_mask_is_each_seeds_nll_on_its_own_rows():
    inputs, targets = inverted_data(40, seed=0)
    models = [MixtureDensityNetwork(3, 8).adapt_to_data(inputs, targets) for _ in range(2)]
    mask = torch.zeros(2, 40)
    mask[0, :10] = 1
    mask[1, 25:] = 1
    with torch.no_grad():
        outputs = SeedEnsemble(models)(inputs)
        expected = (mixture_nll(*(tensor[0, :10] for tensor in outputs), targets[:10])
                    + mixture_nll(*(tensor[1, 25:] for tensor in outputs), targets[25:])) / 2
        assert torch.allclose(ensemble_nll(outputs, targets, mask), expected)
        assert torch.allclose(ensemble_nll(outputs, targets, torch.ones(2, 40)), ensemble_nll(outputs, targets))


@pytest.mark.parametrize("mask, message", [(torch.ones(3, 40), "mask must have shape"),
                                           (torch.cat([torch.ones(1, 40), torch.zeros(1, 40)]), "at least one row")])
def test_ensemble_nll_refuses_a_bad_mask(mask, message):
    inputs, targets = inverted_data(40, seed=0)
    with torch.no_grad():
        outputs = SeedEnsemble([MixtureDensityNetwork(3, 8) for _ in range(2)])(inputs)
    with pytest.raises(ValueError, match=message):
        ensemble_nll(outputs, targets, mask)


def test_pool_mixtures_averages_the_members_densities():
    inputs, targets = inverted_data(30, seed=0)
    with torch.no_grad():
        log_pi, sigma, mu = SeedEnsemble([MixtureDensityNetwork(3, 8) for _ in range(4)])(inputs)
    members = torch.stack([mixture_log_density(log_pi[s], sigma[s], mu[s], targets) for s in range(4)])
    pooled = mixture_log_density(*pool_mixtures(log_pi, sigma, mu), targets)
    assert torch.allclose(pooled, torch.logsumexp(members, dim=0) - math.log(4), atol=1e-5)


def test_train_side_by_side_ignores_the_rows_a_mask_leaves_out():
    inputs, targets = inverted_data(60, seed=0)
    mask = torch.ones(1, 60)
    mask[0, 40:] = 0
    changed_targets = targets.clone()
    changed_targets[40:] += 100.0  # only rows the mask leaves out
    trained = []
    for these_targets in (targets, changed_targets):
        torch.manual_seed(0)
        model = MixtureDensityNetwork(2, 8).adapt_to_data(inputs[:40], targets[:40])
        ensemble = train_side_by_side([model], inputs, these_targets, mask, epochs=20)
        trained.append(outputs_on_cpu(ensemble, inputs))
    assert all(torch.allclose(first, second) for first, second in zip(*trained))


def test_ensemble_nll_with_a_mask_ignores_an_impossible_left_out_row():
    inputs, targets = inverted_data(10, seed=0)
    with torch.no_grad():
        outputs = SeedEnsemble([MixtureDensityNetwork(2, 8) for _ in range(2)])(inputs)
    far_targets = targets.clone()
    far_targets[9] = 1e30  # its log density is -inf under every model
    mask = torch.ones(2, 10)
    mask[:, 9] = 0
    assert torch.isfinite(ensemble_nll(outputs, far_targets, mask))


def test_count_modes_and_critical_distance():
    grid = torch.linspace(-5, 5, 501)
    two_bumps = torch.exp(-0.5 * (grid - 2) ** 2) + torch.exp(-0.5 * (grid + 2) ** 2)
    assert count_modes(torch.exp(-0.5 * grid**2)) == 1 and count_modes(two_bumps) == 2
    assert count_modes(two_bumps + 0.01 * torch.exp(-0.5 * ((grid - 4.5) / 0.1) ** 2)) == 2  # too small to count
    assert critical_distance(100, 0.05) == pytest.approx(0.136, abs=0.001)  # Kolmogorov's 1.36 / sqrt(n)


def test_binned_log_density_of_equal_logits_is_the_uniform_density():
    edges = torch.linspace(-2.0, 3.0, 11)
    targets = torch.tensor([[-2.0], [0.1], [2.99]])
    log_density = binned_log_density(torch.zeros(3, 10), targets, edges)
    assert torch.allclose(log_density, torch.full((3,), -math.log(5.0)))


def test_binned_log_density_puts_a_target_in_its_own_bin():
    edges = torch.linspace(0.0, 4.0, 5)  # bins [0, 1), [1, 2), [2, 3), [3, 4]
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4]]))
    assert binned_log_density(logits, torch.tensor([[2.5]]), edges).item() == pytest.approx(math.log(0.3))


def test_pinball_loss_by_hand_and_at_the_true_quantiles():
    assert pinball_loss(torch.tensor([[1.0]]), torch.tensor([[0.0]]), torch.tensor([0.25])).item() == pytest.approx(0.75)
    assert pinball_loss(torch.tensor([[-1.0]]), torch.tensor([[0.0]]), torch.tensor([0.25])).item() == pytest.approx(0.25)
    targets = torch.randn(200_000, 1, generator=torch.Generator().manual_seed(0))
    levels = torch.tensor([0.1, 0.5, 0.9])
    true_quantiles = torch.distributions.Normal(0.0, 1.0).icdf(levels).expand(len(targets), -1)
    assert pinball_loss(true_quantiles, targets, levels) < pinball_loss(true_quantiles + 0.2, targets, levels)


def test_tanh_network_trained_with_the_budget_lowers_its_loss():
    inputs, targets = forward_data(2000, seed=0)
    torch.manual_seed(0)
    network = tanh_network(inputs, 1)
    before = torch.nn.functional.mse_loss(network(inputs), targets).item()
    seconds = train_with_budget(network, inputs, targets, torch.nn.functional.mse_loss, epochs=40)
    assert seconds > 0 and torch.nn.functional.mse_loss(network(inputs), targets).item() < 0.8 * before


@pytest.mark.parametrize("loss", ["pinball", "binned"])
def test_pinball_and_binned_losses_refuse_vector_targets(loss):
    with pytest.raises(ValueError, match="need targets"):
        if loss == "pinball":
            pinball_loss(torch.zeros(5, 1), torch.zeros(5, 2), torch.tensor([0.5]))
        else:
            binned_log_density(torch.zeros(5, 3), torch.zeros(5, 2), torch.linspace(0, 1, 4))


def test_true_conditional_variance_averages_to_the_best_possible_mse():
    inputs, _ = inverted_data(4000, seed=0)
    variance = true_conditional_variance(inputs)
    assert variance.shape == (4000, 1) and bool((variance > 0).all())
    assert abs(variance.mean().item() - 21.3) < 0.5, "E[Var(x | y)], the spec's best possible MSE"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_fast_logsumexp_over_components_matches_torch_logsumexp(dtype):
    generator = torch.Generator().manual_seed(0)
    values = (300 * torch.randn(12, 500, generator=generator)).to(dtype)  # spreads far past exp's underflow
    values[:, 0] = -math.inf  # a column of zeros: log 0
    values[3, 1] = -math.inf  # one zero among numbers
    values.requires_grad_()
    fast = helpers._logsumexp_over_components(values)
    reference = torch.logsumexp(values, dim=0)
    assert torch.equal(torch.isneginf(fast), torch.isneginf(reference)) and bool(torch.isneginf(fast[0]))
    finite = torch.isfinite(reference)
    assert torch.allclose(fast[finite], reference[finite], rtol=1e-6 if dtype == torch.float32 else 1e-13)
    fast_gradient, = torch.autograd.grad(fast[1:].sum(), values)
    reference_gradient, = torch.autograd.grad(reference[1:].sum(), values)
    # Column 0 left out: torch.logsumexp's own gradient there is NaN (-inf minus -inf), even with nothing summed.
    tolerance = 1e-4 if dtype == torch.float32 else 1e-12  # float32 values near 400 are rounded to about 3e-5
    assert torch.allclose(fast_gradient[:, 1:], reference_gradient[:, 1:], atol=tolerance)
    assert torch.equal(fast_gradient[:, 0], torch.zeros(12, dtype=dtype))


@pytest.mark.parametrize("n_targets", [1, 3])
def test_the_hand_written_gradients_of_the_mixture_log_density_match_autograd(n_targets):
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    sigma = torch.exp(torch.randn(6, 4, generator=generator, dtype=torch.float64)).requires_grad_()
    mu = (3 * torch.randn(6, 4, generator=generator, dtype=torch.float64)).requires_grad_()
    targets = (3 * torch.randn(6, n_targets, generator=generator, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda logits, sigma, mu, targets: mixture_log_density(torch.log_softmax(logits, dim=1), sigma, mu, targets),
        (logits, sigma, mu, targets))


# ---- full covariance: a Cholesky factor per component ---------------------------------------------


def random_full_mixture(n_rows=300, n_components=4, n_dims=3, seed=0):
    """A random batch of full-covariance mixtures (log_pi, scale_tril (N, K, D, D), mu) and targets (N, D), float64."""
    generator = torch.Generator().manual_seed(seed)
    log_pi = torch.log_softmax(torch.randn(n_rows, n_components, generator=generator, dtype=torch.float64), dim=1)
    scale_tril = torch.randn(n_rows, n_components, n_dims, n_dims, generator=generator, dtype=torch.float64).tril(-1)
    diagonal = torch.exp(torch.randn(n_rows, n_components, n_dims, generator=generator, dtype=torch.float64))
    scale_tril = scale_tril + torch.diag_embed(diagonal)
    mu = torch.randn(n_rows, n_components, n_dims, generator=generator, dtype=torch.float64)
    targets = 2 * torch.randn(n_rows, n_dims, generator=generator, dtype=torch.float64)
    return log_pi, scale_tril, mu, targets


def correlated_data(n, seed, rho=0.9, noise=0.3):
    """Inputs x (n, 1) and 2-D targets (sin 3x, -x) plus noise of correlation rho; and their true log density (n,)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=generator) * 2 - 1
    first = torch.randn(n, 1, generator=generator)
    second = rho * first + math.sqrt(1 - rho**2) * torch.randn(n, 1, generator=generator)
    mean = torch.cat([torch.sin(3 * x), -x], dim=1)
    targets = mean + noise * torch.cat([first, second], dim=1)
    covariance = noise**2 * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    truth = torch.distributions.MultivariateNormal(mean.double(), covariance).log_prob(targets.double())
    return x, targets, truth


@pytest.mark.parametrize("n_dims", [2, 3, 12])  # 12: past the row-by-row solve, the library's triangular solve
def test_full_covariance_log_density_matches_torch_multivariate_normals(n_dims):
    log_pi, scale_tril, mu, targets = random_full_mixture(n_dims=n_dims)
    reference = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=log_pi),
        torch.distributions.MultivariateNormal(mu, scale_tril=scale_tril),
    ).log_prob(targets)
    log_density = mixture_log_density(log_pi, scale_tril, mu, targets)
    assert log_density.shape == (300, 1)
    assert torch.allclose(log_density[:, 0], reference, rtol=1e-12, atol=1e-10)  # float64 rounding, at values up to 1e4
    assert torch.allclose(mixture_nll(log_pi, scale_tril, mu, targets), -reference.mean(), rtol=1e-12, atol=1e-10)
    distribution = mixture_distribution(log_pi, scale_tril, mu)
    assert isinstance(distribution.component_distribution, torch.distributions.MultivariateNormal)
    assert torch.allclose(distribution.log_prob(targets), reference, rtol=0, atol=1e-10)


def test_a_diagonal_cholesky_factor_gives_the_diagonal_paths_result():
    log_pi, sigma, mu, targets = random_vector_mixture(n_dims=3)
    scale_tril = torch.diag_embed(sigma)
    # The same numbers summed in another order: equal to float64 rounding (about 1e-16 relative), not bit for bit.
    assert torch.allclose(mixture_log_density(log_pi, scale_tril, mu, targets),
                          mixture_log_density(log_pi, sigma, mu, targets), rtol=1e-13, atol=0)
    # The same draws: the component by the same Gumbel noise, then the same N(0, I) noise times the same widths.
    full = sample_mixture(log_pi, scale_tril, mu, torch.Generator().manual_seed(0))
    diagonal = sample_mixture(log_pi, sigma, mu, torch.Generator().manual_seed(0))
    assert torch.allclose(full, diagonal, rtol=1e-15, atol=0)


def test_full_covariance_gradients_match_torch_multivariate_normals():
    # The row-by-row solve is differentiated by autograd: its gradients must be the library's.
    log_pi, scale_tril, mu, targets = random_full_mixture(n_dims=3)
    ours = [tensor.clone().requires_grad_() for tensor in (scale_tril, mu)]
    theirs = [tensor.clone().requires_grad_() for tensor in (scale_tril, mu)]
    mixture_nll(log_pi, ours[0], ours[1], targets).backward()
    reference = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=log_pi),
        torch.distributions.MultivariateNormal(theirs[1], scale_tril=theirs[0]),
    )
    (-reference.log_prob(targets).mean()).backward()
    for mine, reference in zip(ours, theirs):
        assert torch.allclose(mine.grad.tril(), reference.grad.tril(), rtol=0, atol=1e-10)


def test_full_covariance_samples_have_the_components_mean_and_covariance():
    n = 200_000
    scale_tril = torch.tensor([[0.5, 0.0], [0.6, 0.8]], dtype=torch.float64)  # Sigma = [[0.25, 0.3], [0.3, 1.0]]
    covariance = scale_tril @ scale_tril.T
    mu = torch.tensor([1.0, -2.0], dtype=torch.float64)
    samples = sample_mixture(torch.zeros(n, 1, dtype=torch.float64), scale_tril.expand(n, 1, 2, 2), mu.expand(n, 1, 2),
                             torch.Generator().manual_seed(0))
    assert samples.shape == (n, 2)
    # Statistical tolerance, 5 standard errors (a false alarm about once in 10^6 per entry): the mean's standard error
    # is sqrt(Sigma_ii / n); that of the sample covariance's entry (i, j) is sqrt((Sigma_ij^2 + Sigma_ii Sigma_jj) / n).
    mean_error = (covariance.diagonal() / n).sqrt()
    assert ((samples.mean(dim=0) - mu).abs() < 5 * mean_error).all()
    covariance_error = ((covariance**2 + covariance.diagonal()[:, None] * covariance.diagonal()[None, :]) / n).sqrt()
    assert ((torch.cov(samples.T) - covariance).abs() < 5 * covariance_error).all()


def test_full_covariance_samples_choose_each_component_by_its_weight():
    n = 100_000
    log_pi = torch.log(torch.tensor([[0.3, 0.7]], dtype=torch.float64)).expand(n, -1)
    mu = torch.tensor([[[-10.0, 0.0], [10.0, 0.0]]], dtype=torch.float64).expand(n, -1, -1)
    scale_tril = torch.eye(2, dtype=torch.float64).expand(n, 2, 2, 2)
    samples = sample_mixture(log_pi, scale_tril, mu, torch.Generator().manual_seed(0))
    share = (samples[:, 0] > 0).double().mean().item()  # 10 widths apart: each sample's side names its component
    assert abs(share - 0.7) < 5 * math.sqrt(0.3 * 0.7 / n)  # 5 standard errors of a binomial share


def test_full_covariance_network_outputs_cholesky_factors_in_target_units():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(200, 2, generator=generator)
    targets = torch.randn(200, 3, generator=generator) * torch.tensor([0.1, 2.0, 30.0]) + 5.0
    torch.manual_seed(0)
    model = MixtureDensityNetwork(n_components=4, n_hidden=8, input_dim=2, output_dim=3, sigma_floor=0.05,
                                  covariance="full").adapt_to_data(inputs, targets)
    with torch.no_grad():
        log_pi, scale_tril, mu = model(inputs)
        assert log_pi.shape == (200, 4) and scale_tril.shape == (200, 4, 3, 3) and mu.shape == (200, 4, 3)
        assert torch.equal(scale_tril, scale_tril.tril())
        standardised = scale_tril / targets.std(dim=0)[:, None]  # L = diag(target_std) L_standardised
        diagonal = standardised.diagonal(dim1=-2, dim2=-1)
        assert (diagonal >= 0.05 - 1e-6).all(), "the floor, in target standard deviations, holds under the diagonal"
        # adapt_to_data starts the diagonal as the diagonal model's widths (below: exp(-1) = 0.37 times the head's
        # spread, plus the floor) and the components nearly upright: over seeds 0-19 the largest entry below the
        # diagonal was 0.13 target standard deviations.
        assert standardised.tril(-1).abs().max() < 0.2
    torch.manual_seed(0)
    plain = MixtureDensityNetwork(n_components=4, n_hidden=8, input_dim=2, output_dim=3, sigma_floor=0.05)
    plain.adapt_to_data(inputs, targets)
    with torch.no_grad():
        _, sigma, plain_mu = plain(inputs)
    assert torch.equal(plain_mu, mu), "the full head adds a head after the others: the same weights for the rest"
    assert torch.allclose(scale_tril.diagonal(dim1=-2, dim2=-1), sigma, rtol=1e-6)


def test_full_covariance_loss_and_gradients_stay_finite_for_far_targets():
    torch.manual_seed(0)
    model = MixtureDensityNetwork(n_components=3, n_hidden=8, input_dim=1, output_dim=2, covariance="full")
    loss = mixture_nll(*model(torch.zeros(4, 1)), torch.full((4, 2), 1e4))  # every float32 density underflows
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 1e7
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters())


def test_full_covariance_gradients_match_finite_differences():
    log_pi, scale_tril, mu, targets = random_full_mixture(n_rows=5, n_components=3, n_dims=2)
    logits = log_pi.clone().requires_grad_()
    scale_tril, mu, targets = (tensor.clone().requires_grad_() for tensor in (scale_tril, mu, targets))
    assert torch.autograd.gradcheck(
        lambda logits, factor, mu, targets: mixture_log_density(torch.log_softmax(logits, dim=1), factor.tril(), mu,
                                                                targets),
        (logits, scale_tril, mu, targets))


def test_full_covariance_trains_below_the_diagonal_model_on_correlated_targets():
    inputs, targets, truth = correlated_data(1000, seed=0)
    nll = {}
    for covariance in ["diagonal", "full"]:
        torch.manual_seed(0)
        model = MixtureDensityNetwork(n_components=2, n_hidden=16, output_dim=2, covariance=covariance)
        model.adapt_to_data(inputs, targets)
        train(model, inputs, targets, mdn_loss, torch.optim.Adam(model.parameters(), lr=0.02), epochs=200,
              progress=False)
        with torch.no_grad():
            nll[covariance] = mixture_nll(*model(inputs), targets).item()
    true_nll = -truth.mean().item()
    # Correlation 0.9 costs an upright Gaussian -0.5 log(1 - 0.81) = 0.83 nats; two upright components win back some.
    # Over seeds 0-9 the diagonal model ended 0.61-0.89 nats above the truth and the full one -0.01-0.10.
    assert nll["full"] < nll["diagonal"] - 0.4, nll
    assert nll["full"] - true_nll < 0.2, (nll, true_nll)


@pytest.mark.parametrize("covariance, expected", [("diagonal", 0.02), ("full", 0.005)])
def test_the_recipe_steps_at_its_default_learning_rate_for_each_covariance(covariance, expected, monkeypatch):
    steps = []
    adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda parameters, lr, **options: steps.append(lr) or adam(parameters, lr=lr, **options))
    inputs, targets, _ = correlated_data(200, seed=1)
    train_mixture_density_network(inputs, targets, n_components=2, epochs=1, progress=False, covariance=covariance)
    train_mixture_density_network(inputs, targets, n_components=2, epochs=1, progress=False, covariance=covariance,
                                  learning_rate=0.001)
    assert steps == [expected, 0.001]


def test_full_covariance_recipe_seed_ensemble_and_pooling():
    inputs, targets, _ = correlated_data(400, seed=1)
    model, history = train_mixture_density_network(inputs, targets, n_components=3, epochs=3, progress=False,
                                                    covariance="full")
    assert model.covariance == "full" and len(history) == 3 and all(math.isfinite(loss) for loss in history)
    models = []
    for seed in range(2):
        torch.manual_seed(seed)
        models.append(MixtureDensityNetwork(n_components=3, n_hidden=8, output_dim=2, covariance="full")
                      .adapt_to_data(inputs, targets))
    with torch.no_grad():
        stacked = SeedEnsemble(models)(inputs)
        each = [mixture_nll(*one(inputs), targets) for one in models]
        assert torch.allclose(ensemble_nll(stacked, targets), torch.stack(each).mean(), atol=1e-5)
        pooled = mixture_log_density(*pool_mixtures(*stacked), targets)
        members = torch.stack([mixture_log_density(*one(inputs), targets) for one in models])
        assert torch.allclose(pooled, torch.logsumexp(members, dim=0) - math.log(2), atol=1e-5)


def test_full_covariance_is_refused_for_one_dimensional_targets_and_unknown_names():
    with pytest.raises(ValueError, match="needs vector targets, output_dim >= 2"):
        MixtureDensityNetwork(covariance="full")
    with pytest.raises(ValueError, match="covariance must be 'diagonal'.* or 'full'"):
        MixtureDensityNetwork(output_dim=2, covariance="spherical")
