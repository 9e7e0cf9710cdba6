"""Benchmark: the three mixture losses, and the series' recommended training recipe against the original one.

Run from the repository root: python benchmarks/bench_loss_and_training.py [--loss-only]
Everything runs on one CPU thread (as the README's figures were measured), and every time is printed next to
its ratio to the baseline measured in the same run: the density-then-log loss for the losses, the same log-space
formula without any checks for the cost of helpers' checks (the median of the ratios of interleaved runs, robust to
other jobs on the machine), the original recipe for training. Expect about three minutes; --loss-only times the
losses and the checks only (about a minute), not the recipes.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import helpers  # noqa: E402
from helpers import (  # noqa: E402
    MixtureDensityNetwork,
    density_then_log_nll,
    held_out_gap,
    inverted_data,
    mdn_loss,
    mixture_nll,
    seed_everything,
    train,
    train_mixture_density_network,
)

N_COMPONENTS = 5


def torch_distributions_nll(log_pi, sigma, mu, targets):
    """The same loss through torch.distributions.MixtureSameFamily."""
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=log_pi), torch.distributions.Normal(mu, sigma)
    )
    return -mixture.log_prob(targets[:, 0]).mean()


def unchecked_nll(log_pi, sigma, mu, targets):
    """helpers.mixture_nll's log-space formula for (N, 1) targets, step for step (components first, the same
    hand-written gradients), without any of its checks."""
    log_density, _ = helpers._ScalarMixtureLogDensity.apply(
        log_pi.t().contiguous()[:, :, None], mu.t().contiguous()[:, :, None], sigma.t().contiguous()[:, :, None],
        targets[None])
    return -log_density.mean()


def time_forward_backward(loss_fns: list, n: int, repeats: int) -> list[list[float]]:
    """Seconds of every run of one forward and backward pass of each loss_fn on n random rows, the runs interleaved."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    log_sigma = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    mu = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    targets = torch.randn(n, 1, generator=generator)
    times = [[] for _ in loss_fns]
    for _ in range(repeats + 1):  # the first run warms up and is dropped
        for loss_fn, fn_times in zip(loss_fns, times):
            start = time.perf_counter()
            loss = loss_fn(torch.log_softmax(logits, dim=1), log_sigma.exp(), mu, targets)
            loss.backward()
            fn_times.append(time.perf_counter() - start)
    return [fn_times[1:] for fn_times in times]


def paired_ratio(times: list[float], baseline_times: list[float]) -> float:
    """Median over interleaved runs of the ratio of each time to the baseline's time in the same round."""
    return statistics.median(time_ / baseline for time_, baseline in zip(times, baseline_times))


def time_recipe_epochs(repeats: int) -> dict[str, list[float]]:
    """Seconds of one epoch of the recommended recipe (20 000 points, batches of 1 000) with all of helpers' checks,
    with the loss's checks only (train's up-front data checks skipped), and with none; the runs interleaved."""
    inputs, targets = inverted_data(20_000, seed=100)
    model, _ = train_mixture_density_network(inputs, targets, epochs=1, progress=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    check_finite = helpers._check_finite
    unchecked_loss = lambda outputs, batch_targets: unchecked_nll(*outputs, batch_targets)  # noqa: E731
    variants = {"all checks": (mdn_loss, check_finite), "loss checks only": (mdn_loss, lambda *arguments: None),
                "no checks": (unchecked_loss, lambda *arguments: None)}
    times = {name: [] for name in variants}
    try:
        for _ in range(repeats + 1):  # the first round warms up and is dropped
            for name, (loss_fn, up_front_check) in variants.items():
                helpers._check_finite = up_front_check  # train looks it up at each call
                start = time.perf_counter()
                train(model, inputs, targets, loss_fn, optimizer, epochs=1, batch_size=1000, progress=False)
                times[name].append(time.perf_counter() - start)
    finally:
        helpers._check_finite = check_finite
    return {name: variant_times[1:] for name, variant_times in times.items()}


def original_recipe(seed: int) -> tuple[MixtureDensityNetwork, float]:
    """The original recipe: 1 000 points in raw units, full-batch Adam (lr 1e-3), 10 000 epochs, naive loss."""
    inputs, targets = inverted_data(1000, seed=seed)
    seed_everything(seed)
    model = MixtureDensityNetwork(N_COMPONENTS)
    start = time.perf_counter()
    train(model, inputs, targets, lambda outputs, batch_targets: density_then_log_nll(*outputs, batch_targets),
          torch.optim.Adam(model.parameters()), epochs=10_000, seed=seed, progress=False)
    return model, time.perf_counter() - start


def recommended_recipe(seed: int) -> tuple[MixtureDensityNetwork, float]:
    """The recommended recipe, helpers.train_mixture_density_network, on 20 000 points."""
    inputs, targets = inverted_data(20_000, seed=100 + seed)
    start = time.perf_counter()
    model, _ = train_mixture_density_network(inputs, targets, seed=seed, progress=False)
    return model, time.perf_counter() - start


def main() -> None:
    """Run the benchmarks (the losses only with --loss-only) and print tables of times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss-only", action="store_true", help="time the losses only, not the training recipes")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread\n")

    print(f"Loss, forward + backward, K = {N_COMPONENTS} (median time; ratio to the density-then-log loss at the same N)")
    print(f"{'N':>9}  {'density-then-log':>18}  {'log space (helpers)':>26}  {'MixtureSameFamily':>26}")
    for n, repeats in [(1_000, 200), (100_000, 20), (1_000_000, 5)]:
        naive, log_space, reference = (statistics.median(times) for times in time_forward_backward(
            [density_then_log_nll, mixture_nll, torch_distributions_nll], n, repeats))
        print(f"{n:>9,}  {naive * 1e3:>15.2f} ms  {log_space * 1e3:>15.2f} ms ({log_space / naive:4.2f}x)"
              f"  {reference * 1e3:>15.2f} ms ({reference / naive:4.2f}x)")

    print(f"\nCost of the checks: mixture_nll against the same formula without them, forward + backward, "
          f"K = {N_COMPONENTS}")
    print(f"{'N':>9}  {'unchecked':>12}  {'mixture_nll (checked)':>30}")
    for n, repeats in [(1_000, 400), (100_000, 40), (1_000_000, 15)]:
        unchecked, checked = time_forward_backward([unchecked_nll, mixture_nll], n, repeats)
        print(f"{n:>9,}  {statistics.median(unchecked) * 1e3:>9.2f} ms  {statistics.median(checked) * 1e3:>18.2f} ms"
              f" ({paired_ratio(checked, unchecked):5.3f}x)")
    print("\nOne epoch of the recommended recipe (20 000 points, 20 batches of 1 000), ratio to no checks at all")
    epoch_times = time_recipe_epochs(repeats=30)
    for name, times in epoch_times.items():
        print(f"{name:>17}: {statistics.median(times) * 1e3:7.1f} ms "
              f"({paired_ratio(times, epoch_times['no checks']):5.3f}x)")
    if arguments.loss_only:
        return

    print("\nTraining on the inverted problem: held-out gap to the Bayes optimum on 20 000 points (± one standard error)")
    test_inputs, test_targets = inverted_data(20_000, seed=1)
    original_model, original_seconds = original_recipe(seed=0)
    gap, error = held_out_gap(original_model, test_inputs, test_targets)
    print(f"original recipe, seed 0:     {original_seconds:5.1f} s (1.00x)  gap {gap:.3f} ± {error:.3f} nats")
    recommended_gaps, recommended_seconds = [], []
    for seed in range(10):
        model, seconds = recommended_recipe(seed)
        gap, error = held_out_gap(model, test_inputs, test_targets)
        recommended_gaps.append(gap)
        recommended_seconds.append(seconds)
        print(f"recommended recipe, seed {seed}: {seconds:5.1f} s ({seconds / original_seconds:.2f}x)  "
              f"gap {gap:.3f} ± {error:.3f} nats")
    print(f"recommended recipe, 10 seeds: worst gap {max(recommended_gaps):.3f} nats (bar: 0.030), slowest "
          f"{max(recommended_seconds):.1f} s (bar: 3.0 s), median time ratio to the original "
          f"{statistics.median(recommended_seconds) / original_seconds:.2f}x")


if __name__ == "__main__":
    main()
