"""Benchmark: where one step of the recommended recipe spends its time, and whether writing it by hand would help.

Run from the repository root: python benchmarks/bench_training_step.py
On one CPU thread, for the recipe's network (2 x 32 tanh, K = 12, the inverted problem, batches of 1 000), it times:
the step as the series takes it (autograd, helpers' loss, fused Adam) as the baseline; the forward pass alone; and
the same step written by hand (forward, mixture loss and backward in plain tensor operations, no autograd, the same
fused Adam), after checking that the hand-written gradients equal autograd's. Each time is the median of interleaved
runs, printed with its ratio to the baseline. The question it answers (issue 17): is a step bound by autograd's
bookkeeping, which hand-written code would remove, or by the tensor kernels themselves?

A second table splits a step's cost into the part that grows with the batch and the part that does not: steps on
10 rows and on 1 000, for the recipe's network and for three stacked models of the original recipe's size (notebook
06's SeedEnsemble), against a minimal stacked step (four stacked tensors, no standardising, no checks, torch
operations only) and the same minimal step with the series' hand-written mixture gradients. A third table times
notebook 07's step on the robot arm, with diagonal and with full covariance. Expect half a minute.
"""

import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import helpers  # noqa: E402
from helpers import (MixtureDensityNetwork, SeedEnsemble, arm_data, ensemble_nll, inverted_data,  # noqa: E402
                     mdn_loss, recipe_network, seed_everything)

BATCH, STEPS, REPEATS = 1000, 200, 7


def hand_written_step(network, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The recipe's loss and its gradients (into each parameter's .grad) without autograd; returns the loss."""
    first, second = network.hidden[0], network.hidden[2]
    heads = [network.pi_head, network.sigma_head, network.mu_head]
    head_weight = torch.cat([head.weight for head in heads]).detach()
    head_bias = torch.cat([head.bias for head in heads]).detach()
    k = network.n_components
    scaled = (inputs - network.input_mean) / network.input_std
    hidden_1 = torch.tanh(torch.addmm(first.bias.detach(), scaled, first.weight.detach().t()))
    hidden_2 = torch.tanh(torch.addmm(second.bias.detach(), hidden_1, second.weight.detach().t()))
    outputs = torch.addmm(head_bias, hidden_2, head_weight.t())
    logits, log_sigma, mu = outputs[:, :k], outputs[:, k:2 * k], outputs[:, 2 * k:]
    z = ((targets - network.target_mean) / network.target_std - mu) / torch.exp(log_sigma)
    log_joint = torch.log_softmax(logits, dim=1) - 0.5 * z * z - log_sigma
    largest = log_joint.amax(dim=1, keepdim=True)
    weights = torch.exp(log_joint - largest)
    total = weights.sum(dim=1, keepdim=True)
    loss = -(torch.log(total) + largest).mean() + 0.5 * math.log(2 * math.pi) + torch.log(network.target_std).sum()
    responsibility, scale = weights / total, -1.0 / len(inputs)
    grad_outputs = scale * torch.cat([responsibility - torch.softmax(logits, dim=1),
                                      responsibility * (z * z - 1), responsibility * z * torch.exp(-log_sigma)], dim=1)
    grad_head_weight, grad_head_bias = grad_outputs.t() @ hidden_2, grad_outputs.sum(dim=0)
    for head, weight, bias in zip(heads, grad_head_weight.split(k), grad_head_bias.split(k)):
        head.weight.grad, head.bias.grad = weight, bias
    grad_2 = (grad_outputs @ head_weight) * (1 - hidden_2 * hidden_2)
    second.weight.grad, second.bias.grad = grad_2.t() @ hidden_1, grad_2.sum(dim=0)
    grad_1 = (grad_2 @ second.weight.detach()) * (1 - hidden_1 * hidden_1)
    first.weight.grad, first.bias.grad = grad_1.t() @ scaled, grad_1.sum(dim=0)
    return loss


def autograd_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn, inputs: torch.Tensor,
                  targets: torch.Tensor):
    """One training step as the series takes it (autograd, the given loss, the optimizer), as a function of nothing."""
    def step():
        optimizer.zero_grad()
        loss_fn(model(inputs), targets).backward()
        optimizer.step()
    return step


def median_milliseconds(ways: dict, steps: int = STEPS) -> dict[str, float]:
    """The median time of one call of each way, in ms, over REPEATS interleaved runs of `steps` calls."""
    times = {name: [] for name in ways}
    for _ in range(REPEATS):  # interleaved, so that other work on the machine hits every way alike
        for name, way in ways.items():
            for _ in range(20):
                way()
            start = time.perf_counter()
            for _ in range(steps):
                way()
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def minimal_stacked_step(models: list, inputs: torch.Tensor, targets: torch.Tensor, hand_gradients: bool):
    """A step of the models (one hidden layer each) stacked as four tensors, without standardising or checks."""
    first = [torch.stack([getattr(model.hidden[0], name).detach() for model in models]).requires_grad_()
             for name in ("weight", "bias")]
    heads = [torch.stack([torch.cat([getattr(head, name) for head in model._heads()]).detach() for model in models])
             .requires_grad_() for name in ("weight", "bias")]
    optimizer = torch.optim.Adam(first + heads, lr=1e-4, fused=True)
    k, repeated = models[0].n_components, targets.repeat(len(models), 1)

    def step():
        hidden = torch.tanh(torch.addcmul(first[1][:, None], inputs, first[0].transpose(1, 2)))  # (S, N, H)
        outputs = torch.baddbmm(heads[1][:, :, None], heads[0], hidden.transpose(1, 2))  # (S, 3K, N)
        logits, log_sigma, mu = outputs.split(k, dim=1)
        log_pi, sigma = torch.log_softmax(logits, dim=1), torch.exp(log_sigma)
        if hand_gradients:
            rows = [tensor.transpose(0, 1).reshape(k, -1)[:, :, None] for tensor in (log_pi, mu, sigma)]
            loss = -helpers._ScalarMixtureLogDensity.apply(*rows, repeated[None])[0].mean()
        else:
            z = (targets.t()[None] - mu) / sigma
            loss = -torch.logsumexp(log_pi - 0.5 * z * z - log_sigma, dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def fixed_cost_table() -> None:
    """Steps on 10 rows and on 1 000: the part of a step's cost that does not grow with the batch."""
    inputs, targets = inverted_data(20_000, seed=0)
    rows = {}
    for n in (10, BATCH):
        batch_inputs, batch_targets = inputs[:n], targets[:n]
        seed_everything(0)
        network = recipe_network(inputs, targets)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-4, fused=True)
        models = []
        for seed in range(3):
            seed_everything(seed)
            models.append(MixtureDensityNetwork(n_components=5, n_hidden=20).adapt_to_data(inputs, targets))
        ensemble = SeedEnsemble(models)
        ensemble_optimizer = torch.optim.Adam(ensemble.parameters(), lr=1e-4, fused=True)
        ways = {"recipe network, one model": autograd_step(network, optimizer, mdn_loss, batch_inputs, batch_targets),
                "three stacked models (06's original size)": autograd_step(ensemble, ensemble_optimizer, ensemble_nll,
                                                                           batch_inputs, batch_targets),
                "  minimal stacked step, torch ops only": minimal_stacked_step(models, batch_inputs, batch_targets, False),
                "  minimal, with the hand-written gradients": minimal_stacked_step(models, batch_inputs, batch_targets,
                                                                                   True)}
        rows[n] = median_milliseconds(ways)
    print(f"\nThe part of a step that does not grow with the batch (ms per step, median of {REPEATS} interleaved runs)")
    print(f"{'':>44}  {'10 rows':>8}  {f'{BATCH} rows':>10}")
    for name in rows[10]:
        print(f"{name:>44}  {rows[10][name]:8.3f}  {rows[BATCH][name]:10.3f}")


def arm_table() -> None:
    """Notebook 07's steps: the recipe's network on the robot arm (K = 4, D = 2), diagonal against full covariance."""
    positions, angles = arm_data(20_000, seed=0)
    ways = {}
    for covariance in ("diagonal", "full"):
        seed_everything(0)
        network = recipe_network(positions, angles, n_components=4, covariance=covariance)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-4, fused=True)
        ways[f"robot arm, {covariance} covariance"] = autograd_step(network, optimizer, mdn_loss, positions[:BATCH],
                                                                    angles[:BATCH])
    medians = median_milliseconds(ways)
    print(f"\nNotebook 07's network on the robot arm (K = 4, D = 2, batch {BATCH}; median of {REPEATS} interleaved "
          "runs)")
    for name, median in medians.items():
        print(f"{name:>44}: {median:6.3f} ms per step ({median / medians['robot arm, diagonal covariance']:.2f}x)")


def main() -> None:
    torch.set_num_threads(1)
    inputs, targets = inverted_data(20_000, seed=0)
    batch_inputs, batch_targets = inputs[:BATCH], targets[:BATCH]
    network = recipe_network(inputs, targets)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-4, fused=True)  # small: the weights barely move

    optimizer.zero_grad()
    autograd_loss = mdn_loss(network(batch_inputs), batch_targets)
    autograd_loss.backward()
    reference = [parameter.grad.clone() for parameter in network.parameters()]
    hand_loss = hand_written_step(network, batch_inputs, batch_targets)
    assert torch.allclose(hand_loss, autograd_loss, atol=1e-5), (hand_loss, autograd_loss)
    for parameter, expected in zip(network.parameters(), reference):
        assert torch.allclose(parameter.grad, expected, rtol=1e-4, atol=1e-6), "hand-written gradients differ"

    def forward_only():
        with torch.no_grad():
            network(batch_inputs)

    def hand_step():
        hand_written_step(network, batch_inputs, batch_targets)
        optimizer.step()

    ways = {"the series' step (autograd)": autograd_step(network, optimizer, mdn_loss, batch_inputs, batch_targets),
            "forward pass alone": forward_only,
            "the step written by hand": hand_step}
    medians = median_milliseconds(ways)
    baseline = medians["the series' step (autograd)"]
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread; recipe network, K = 12, batch {BATCH}")
    print("hand-written gradients equal autograd's (checked)")
    for name, median in medians.items():
        print(f"{name:>30}: {median:6.3f} ms per step ({median / baseline:.2f}x)")
    fixed_cost_table()
    arm_table()


if __name__ == "__main__":
    main()
