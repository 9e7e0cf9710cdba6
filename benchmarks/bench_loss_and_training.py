"""Benchmark: the three mixture losses, and the series' recommended training recipe against the original one.

Run from the repository root: python benchmarks/bench_loss_and_training.py
Everything runs on one CPU thread (as the spec's figures were measured), and every time is printed next to
its ratio to the baseline measured in the same run: the density-then-log loss for the losses, the original
recipe for training. Expect about two minutes.
"""

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import (  # noqa: E402
    MixtureDensityNetwork,
    density_then_log_nll,
    held_out_gap,
    inverted_data,
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


def time_forward_backward(loss_fn, n: int, repeats: int) -> float:
    """Median seconds of one forward and backward pass of loss_fn on n random rows."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    log_sigma = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    mu = torch.randn(n, N_COMPONENTS, generator=generator, requires_grad=True)
    targets = torch.randn(n, 1, generator=generator)
    times = []
    for _ in range(repeats + 1):  # the first run warms up and is dropped
        start = time.perf_counter()
        loss = loss_fn(torch.log_softmax(logits, dim=1), log_sigma.exp(), mu, targets)
        loss.backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


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
    """Run both benchmarks and print a table of times and ratios."""
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread\n")

    print(f"Loss, forward + backward, K = {N_COMPONENTS} (median time; ratio to the density-then-log loss at the same N)")
    print(f"{'N':>9}  {'density-then-log':>18}  {'log space (helpers)':>26}  {'MixtureSameFamily':>26}")
    for n, repeats in [(1_000, 200), (100_000, 20), (1_000_000, 5)]:
        naive = time_forward_backward(density_then_log_nll, n, repeats)
        log_space = time_forward_backward(mixture_nll, n, repeats)
        reference = time_forward_backward(torch_distributions_nll, n, repeats)
        print(f"{n:>9,}  {naive * 1e3:>15.2f} ms  {log_space * 1e3:>15.2f} ms ({log_space / naive:4.2f}x)"
              f"  {reference * 1e3:>15.2f} ms ({reference / naive:4.2f}x)")

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
