"""Benchmark: notebook 09's alternatives to an MDN, by held-out NLL gap to the Bayes optimum and training time.

Run from the repository root: python benchmarks/bench_alternatives.py [--seeds 3] [--skip-search]
Torch uses one CPU thread (the recommended MDN trains on pick_device(), a GPU where there is one). Each method
trains on 20 000 points of the inverted problem with the recommended MDN's budget (70 epochs of batches of 1 000,
Adam with cosine decay) and is scored on 20 000 held-out points; every time is printed next to its ratio to the
MDN's, measured in the same run on the same data. Then, unless --skip-search, the settings of the spline flow
and of the softmax over bins are searched on a validation set, with the same budget: for the flow, zuko's defaults,
the same with three times the epochs, and a small grid of splines, knots and learning rates; for the bins, their
number, the hidden width and the learning rate. That is where notebook 09's settings come from. Expect about nine
minutes.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import zuko
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import (  # noqa: E402
    Standardise,
    binned_log_density,
    gap_to_truth,
    inverted_data,
    mixture_log_density,
    mse_network,
    outputs_on_cpu,
    pinball_loss,
    seed_everything,
    tanh_network,
    train_mixture_density_network,
    train_with_budget,
    true_conditional_log_density,
)

EPOCHS, N_BINS, FLOW_BINS, FLOW_TRANSFORMS = 70, 200, 64, 3  # notebook 09's bins, spline knots and splines
LEVELS = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95])


def spline_flow(inputs, bins=FLOW_BINS, transforms=FLOW_TRANSFORMS) -> nn.Module:
    """Standardised input, then zuko's neural spline flow on standardised targets (64 x 64 hidden units)."""
    return nn.Sequential(Standardise(inputs), zuko.flows.NSF(features=1, context=1, bins=bins, transforms=transforms,
                                                             hidden_features=(64, 64)))


def flow_log_density(flow, inputs, targets, target_mean, target_std) -> torch.Tensor:
    """log p(target | input) in data units from a flow trained on standardised targets."""
    with torch.no_grad():
        return flow(inputs).log_prob((targets - target_mean) / target_std) - math.log(target_std)


def flow_nll(distribution, targets):
    """The flow's mean negative log-likelihood, the loss it trains on."""
    return -distribution.log_prob(targets).mean()


def one_seed(seed: int) -> dict[str, tuple[float, float, float]]:
    """Every method on one draw of the data: name -> (gap, standard error, seconds); quantile regression has no gap."""
    train_inputs, train_targets = inverted_data(20_000, seed=100 + seed)
    test_inputs, test_targets = inverted_data(20_000, seed=200 + seed)
    truth = true_conditional_log_density(test_inputs, test_targets)[:, 0]
    target_mean, target_std = train_targets.mean().item(), train_targets.std().item()
    standardised = (train_targets - target_mean) / target_std
    results = {}
    for name, n_components in [("MDN (K = 12)", 12), ("one Gaussian (K = 1)", 1)]:
        start = time.perf_counter()
        model, _ = train_mixture_density_network(train_inputs, train_targets, n_components, seed=seed, progress=False)
        seconds = time.perf_counter() - start
        results[name] = (*gap_to_truth(truth, mixture_log_density(*outputs_on_cpu(model, test_inputs), test_targets)[:, 0]),
                         seconds)
    seed_everything(seed)
    least_squares = mse_network(train_inputs)
    seconds = train_with_budget(least_squares, train_inputs, train_targets, F.mse_loss, seed=seed)
    with torch.no_grad():
        variance = F.mse_loss(least_squares(train_inputs), train_targets).item()
        residual = (test_targets - least_squares(test_inputs))[:, 0]
    results["least squares as a Gaussian"] = (
        *gap_to_truth(truth, -0.5 * math.log(2 * math.pi * variance) - residual**2 / (2 * variance)), seconds)
    seed_everything(seed)
    flow = spline_flow(train_inputs)
    seconds = train_with_budget(flow, train_inputs, standardised, flow_nll, learning_rate=0.005, seed=seed)
    results["spline flow (zuko NSF)"] = (
        *gap_to_truth(truth, flow_log_density(flow, test_inputs, test_targets, target_mean, target_std)), seconds)
    seed_everything(seed)
    edges = torch.linspace(train_targets.min().item(), train_targets.max().item(), N_BINS + 1)
    binned = tanh_network(train_inputs, N_BINS)
    seconds = train_with_budget(binned, train_inputs, train_targets,
                                lambda logits, targets: -binned_log_density(logits, targets, edges).mean(), seed=seed)
    with torch.no_grad():
        results[f"softmax over {N_BINS} bins"] = (*gap_to_truth(truth, binned_log_density(binned(test_inputs), test_targets, edges)),
                                                 seconds)
    seed_everything(seed)
    quantiles = tanh_network(train_inputs, len(LEVELS))
    seconds = train_with_budget(quantiles, train_inputs, standardised,
                                lambda predictions, targets: pinball_loss(predictions, targets, LEVELS), seed=seed)
    results["quantile regression"] = (math.nan, math.nan, seconds)
    return results


def flow_search() -> None:
    """The spline flow's settings on a validation set: zuko's defaults, three times their epochs, and a small grid."""
    train_inputs, train_targets = inverted_data(20_000, seed=0)
    validation_inputs, validation_targets = inverted_data(20_000, seed=2)
    truth = true_conditional_log_density(validation_inputs, validation_targets)[:, 0]
    target_mean, target_std = train_targets.mean().item(), train_targets.std().item()
    standardised = (train_targets - target_mean) / target_std
    settings = [(3, 8, 1e-3, EPOCHS, "zuko's defaults (3 transforms, 8 bins), Adam 0.001"),
                (3, 8, 1e-3, 3 * EPOCHS, "zuko's defaults, three times the epochs"),
                (1, 32, 1e-3, EPOCHS, "1 transform(s), 32 bins, Adam 0.001")]
    settings += [(transforms, bins, 5e-3, EPOCHS, f"{transforms} transform(s), {bins} bins, Adam 0.005")
                 for transforms in (1, 3) for bins in (8, 32, 64, 128)]
    print("\nSpline flow settings on the validation set (20 000 points; gap to the Bayes optimum, one seed)")
    for transforms, bins, learning_rate, epochs, label in settings:
        seed_everything(0)
        flow = spline_flow(train_inputs, bins, transforms)
        seconds = train_with_budget(flow, train_inputs, standardised, flow_nll, learning_rate, epochs)
        value, error = gap_to_truth(truth, flow_log_density(flow, validation_inputs, validation_targets, target_mean, target_std))
        print(f"{label:>55}: gap {value:.3f} ± {error:.3f} nats, {seconds:5.1f} s", flush=True)


def bins_search() -> None:
    """The softmax over bins' settings on the same validation set: bins x learning rate x hidden width."""
    train_inputs, train_targets = inverted_data(20_000, seed=0)
    validation_inputs, validation_targets = inverted_data(20_000, seed=2)
    truth = true_conditional_log_density(validation_inputs, validation_targets)[:, 0]
    edges_of = {n_bins: torch.linspace(train_targets.min().item(), train_targets.max().item(), n_bins + 1)
                for n_bins in (100, 200, 400)}
    print("\nSoftmax over bins on the validation set (20 000 points; gap to the Bayes optimum, one seed)")
    for n_bins, edges in edges_of.items():
        for n_hidden in (32, 64):
            for learning_rate in (0.005, 0.02):
                seed_everything(0)
                network = tanh_network(train_inputs, n_bins, n_hidden)
                seconds = train_with_budget(network, train_inputs, train_targets,
                                            lambda logits, targets, edges=edges: -binned_log_density(logits, targets, edges).mean(),
                                            learning_rate)
                with torch.no_grad():
                    value, error = gap_to_truth(truth, binned_log_density(network(validation_inputs), validation_targets, edges))
                label = f"{n_bins} bins, 2 x {n_hidden} tanh units, Adam {learning_rate}"
                print(f"{label:>55}: gap {value:.3f} ± {error:.3f} nats, {seconds:5.1f} s", flush=True)


def main() -> None:
    """Run every method on several seeds, print gaps and times with ratios to the MDN, then the flow's search."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-search", action="store_true", help="skip the spline flow's settings search")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, zuko {zuko.__version__}, CPU, 1 thread")
    print("\nHeld-out gap to the Bayes optimum (20 000 points, ± one standard error) and training time (ratio to the MDN)")
    for seed in range(arguments.seeds):
        results = one_seed(seed)
        mdn_seconds = results["MDN (K = 12)"][2]
        print(f"seed {seed}")
        for name, (value, error, seconds) in results.items():
            shown = "   no density       " if math.isnan(value) else f"gap {value:.3f} ± {error:.3f} nats"
            print(f"{name:>30}: {shown}, {seconds:5.1f} s ({seconds / mdn_seconds:.2f}x)", flush=True)
    if not arguments.skip_search:
        flow_search()
        bins_search()


if __name__ == "__main__":
    main()
