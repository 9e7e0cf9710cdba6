"""Benchmark: where one step of the recommended recipe spends its time, and whether writing it by hand would help.

Run from the repository root: python benchmarks/bench_training_step.py
On one CPU thread, for the recipe's network (2 x 32 tanh, K = 12, the inverted problem, batches of 1 000), it times:
the step as the series takes it (autograd, helpers' loss, fused Adam) as the baseline; the forward pass alone; and
the same step written by hand (forward, mixture loss and backward in plain tensor operations, no autograd, the same
fused Adam), after checking that the hand-written gradients equal autograd's. Each time is the median of interleaved
runs, printed with its ratio to the baseline. Expect under a minute. The question it answers (issue 17): is a step
bound by autograd's bookkeeping, which hand-written code would remove, or by the tensor kernels themselves?
"""

import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import inverted_data, mdn_loss, recipe_network  # noqa: E402

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

    def autograd_step():
        optimizer.zero_grad()
        mdn_loss(network(batch_inputs), batch_targets).backward()
        optimizer.step()

    def forward_only():
        with torch.no_grad():
            network(batch_inputs)

    def hand_step():
        hand_written_step(network, batch_inputs, batch_targets)
        optimizer.step()

    ways = {"the series' step (autograd)": autograd_step, "forward pass alone": forward_only,
            "the step written by hand": hand_step}
    times = {name: [] for name in ways}
    for _ in range(REPEATS):  # interleaved, so that other work on the machine hits every way alike
        for name, way in ways.items():
            for _ in range(20):
                way()
            start = time.perf_counter()
            for _ in range(STEPS):
                way()
            times[name].append((time.perf_counter() - start) / STEPS * 1e3)
    baseline = statistics.median(times["the series' step (autograd)"])
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread; recipe network, K = 12, batch {BATCH}")
    print("hand-written gradients equal autograd's (checked)")
    for name in ways:
        median = statistics.median(times[name])
        print(f"{name:>30}: {median:6.3f} ms per step ({median / baseline:.2f}x)")


if __name__ == "__main__":
    main()
