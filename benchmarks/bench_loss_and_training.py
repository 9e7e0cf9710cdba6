"""Benchmark: the three mixture losses, and notebook 03's training recipe against the original one.

Run from the repository root: python benchmarks/bench_loss_and_training.py
Everything runs on one CPU thread (as the spec's figures were measured), and every time is printed next to
its ratio to the baseline measured in the same run: the density-then-log loss for the losses, the original
recipe for training. Expect about a minute.
"""

import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import (  # noqa: E402
    MixtureDensityNetwork,
    inverted_data,
    mixture_nll,
    seed_everything,
    train,
    train_mixture_density_network,
    true_conditional_log_density,
)

N_COMPONENTS = 5


def naive_nll(log_pi: torch.Tensor, sigma: torch.Tensor, mu: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The original recipe's loss: Gaussian densities, times pi, summed, then the log."""
    densities = torch.exp(-0.5 * ((targets - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return -torch.log((log_pi.exp() * densities).sum(dim=1)).mean()


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


def held_out_gap(model: MixtureDensityNetwork, test_inputs: torch.Tensor, test_targets: torch.Tensor) -> float:
    """Held-out NLL of model minus the Bayes-optimal NLL, in nats."""
    with torch.no_grad():
        model_nll = mixture_nll(*model(test_inputs), test_targets).item()
    return model_nll + true_conditional_log_density(test_inputs, test_targets).mean().item()


def original_recipe(seed: int) -> tuple[MixtureDensityNetwork, float]:
    """The original recipe: 1 000 points in raw units, full-batch Adam (lr 1e-3), 10 000 epochs, naive loss."""
    inputs, targets = inverted_data(1000, seed=seed)
    seed_everything(seed)
    model = MixtureDensityNetwork(N_COMPONENTS)
    start = time.perf_counter()
    train(model, inputs, targets, lambda outputs, batch_targets: naive_nll(*outputs, batch_targets),
          torch.optim.Adam(model.parameters()), epochs=10_000, seed=seed, progress=False)
    return model, time.perf_counter() - start


def notebook_recipe(seed: int) -> tuple[MixtureDensityNetwork, float]:
    """Notebook 03's recipe, from helpers.train_mixture_density_network, on 5 000 points."""
    inputs, targets = inverted_data(5000, seed=seed)
    start = time.perf_counter()
    model, _ = train_mixture_density_network(inputs, targets, n_components=N_COMPONENTS, seed=seed, progress=False)
    return model, time.perf_counter() - start


def main() -> None:
    """Run both benchmarks and print a table of times and ratios."""
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread, K = {N_COMPONENTS}\n")

    print("Loss, forward + backward (median time; ratio to the density-then-log loss at the same N)")
    print(f"{'N':>9}  {'density-then-log':>18}  {'log space (helpers)':>26}  {'MixtureSameFamily':>26}")
    for n, repeats in [(1_000, 200), (100_000, 20), (1_000_000, 5)]:
        naive = time_forward_backward(naive_nll, n, repeats)
        log_space = time_forward_backward(mixture_nll, n, repeats)
        reference = time_forward_backward(torch_distributions_nll, n, repeats)
        print(f"{n:>9,}  {naive * 1e3:>15.2f} ms  {log_space * 1e3:>15.2f} ms ({log_space / naive:4.2f}x)"
              f"  {reference * 1e3:>15.2f} ms ({reference / naive:4.2f}x)")

    print("\nTraining on the inverted problem, seed 0 (held-out gap to the Bayes optimum on 20 000 points)")
    test_inputs, test_targets = inverted_data(20_000, seed=1)
    original_model, original_seconds = original_recipe(seed=0)
    notebook_model, notebook_seconds = notebook_recipe(seed=0)
    print(f"{'original recipe (10 000 full-batch epochs)':<46} {original_seconds:6.1f} s  (1.00x)  "
          f"gap {held_out_gap(original_model, test_inputs, test_targets):.3f} nats")
    print(f"{'notebook 03 recipe (300 epochs, batches of 500)':<46} {notebook_seconds:6.1f} s  "
          f"({notebook_seconds / original_seconds:.2f}x)  gap {held_out_gap(notebook_model, test_inputs, test_targets):.3f} nats")


if __name__ == "__main__":
    main()
