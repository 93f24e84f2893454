"""One optimizer step of M MLPs: trained one after the other vs as one stack (layered and vmap'd).

    python -m bench.stack_step [--members 3] [--hidden 512] [--steps 200]

Same nets, batch (64 MNIST-sized inputs) and SGD settings (lr 0.05, momentum 0.9, weight decay
5e-4, the init study's); each way is timed twice, interleaved, in this one run. Printed: ms per
step of all M members, and stacked / one-by-one.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from lit_hw.nets.mlp import MLP
from lit_hw.run.cpu_speed import apply_cpu_speed_settings
from lit_hw.stacked.net import StackedNet
from lit_hw.stacked.optim import StackedOptimizer

SGD = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    apply_cpu_speed_settings()
    torch.manual_seed(0)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    nets = [MLP(hidden_sizes=[args.hidden]) for _ in range(args.members)]
    optimizers = [torch.optim.SGD(n.parameters(), fused=True, **SGD) for n in nets]

    def one_by_one():
        for net, optimizer in zip(nets, optimizers):
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def stack_step(stack, optimizer):
        def step():
            logits = stack(x)
            losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(args.members), reduction="none")
            optimizer.zero_grad()
            losses.view(args.members, -1).mean(1).sum().backward()
            optimizer.step()

        return step

    layered = StackedNet(nets)
    vmapped = StackedNet(nets)
    vmapped.layers = None  # force the vmap path
    ways = {
        "one by one": one_by_one,
        "stack, layered": stack_step(layered, StackedOptimizer(layered.parameters(), "torch.optim.SGD", [SGD] * args.members)),
        "stack, vmap": stack_step(vmapped, StackedOptimizer(vmapped.parameters(), "torch.optim.SGD", [SGD] * args.members)),
    }  # fmt: skip
    best = {}
    for _ in range(2):
        for name, step in ways.items():
            for _ in range(20):
                step()
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            ms = (time.perf_counter() - start) / args.steps * 1e3
            best[name] = min(best.get(name, ms), ms)
    print(f"{args.members} MLPs, {args.hidden} hidden units, batch 64, {torch.get_num_threads()} threads (best of 2):")
    for name, ms in best.items():
        print(f"  {name:15s} {ms:6.2f} ms a step of all members   {ms / best['one by one']:.2f}x one by one")


if __name__ == "__main__":
    main()
