"""The stacked (hydra/launcher=stacked) training pieces against their single-model originals."""

from __future__ import annotations

import pytest
import torch

from lit_hw.tasks.stacked_optim import StackedOptimizer, why_not_stackable

# three members each, differing in every scalar the stack keeps per member
CASES = {
    "sgd_momentum": (
        "torch.optim.SGD",
        [
            {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
            {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0, "dampening": 0.5},
            {"lr": 0.5, "momentum": 0.5, "weight_decay": 1e-3, "dampening": 0.1},
        ],
    ),
    "sgd_nesterov": ("torch.optim.SGD", [{"lr": lr, "momentum": 0.9, "nesterov": True} for lr in (0.1, 0.03, 0.3)]),
    "adam": (
        "torch.optim.Adam",
        [{"lr": 1e-3}, {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 1e-4}, {"lr": 0.1, "eps": 1e-6}],
    ),
    "adamw": (
        "torch.optim.AdamW",
        [{"lr": 1e-3}, {"lr": 1e-2, "weight_decay": 0.1}, {"lr": 3e-3, "betas": (0.5, 0.9)}],
    ),
}


def member_net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


@pytest.mark.parametrize("case", CASES)
def test_stacked_steps_equal_torch_optim_on_each_member_alone(case):
    target, member_args = CASES[case]
    optim_class = {"torch.optim.SGD": torch.optim.SGD, "torch.optim.Adam": torch.optim.Adam}.get(
        target, torch.optim.AdamW
    )
    alone = [member_net(i) for i in range(3)]
    optimizers = [optim_class(net.parameters(), foreach=False, **args) for net, args in zip(alone, member_args)]
    stacked = [torch.stack([p.detach().clone() for p in ps]) for ps in zip(*(n.parameters() for n in alone))]
    stack = StackedOptimizer(stacked, target, member_args)
    data = torch.Generator().manual_seed(0)
    for _ in range(20):
        x, y = torch.randn(8, 12, generator=data), torch.randint(0, 3, (8,), generator=data)
        grads = []
        for net, optimizer in zip(alone, optimizers):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            grads.append([p.grad.clone() for p in net.parameters()])
            optimizer.step()
        for i, param in enumerate(stacked):  # the stack gets the same gradients, all members at once
            param.grad = torch.stack([g[i] for g in grads])
        stack.step()
    for m, net in enumerate(alone):
        for p_alone, p_stacked in zip(net.parameters(), stacked):
            torch.testing.assert_close(p_stacked[m], p_alone.detach(), atol=1e-6, rtol=0)
    # and the members' checkpoint state is torch.optim's
    for m, optimizer in enumerate(optimizers):
        theirs = optimizer.state_dict()["state"]
        for index, entry in stack.member_state(m).items():
            for key, value in entry.items():
                torch.testing.assert_close(value, theirs[index][key].to(value.dtype), atol=1e-6, rtol=0)


def test_what_a_stack_refuses():
    assert why_not_stackable("torch.optim.RMSprop", {"lr": 0.1}).startswith("optimizer torch.optim.RMSprop")
    assert "amsgrad" in why_not_stackable("torch.optim.Adam", {"lr": 0.1, "amsgrad": True})
    assert "maximize" in why_not_stackable("torch.optim.SGD", {"lr": 0.1, "maximize": True})
    assert why_not_stackable("torch.optim.SGD", {"lr": 0.1, "momentum": 0.9}) is None
