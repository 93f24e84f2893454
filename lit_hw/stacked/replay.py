"""How a member task's own code runs inside the stack: its net's call replayed from the stacked
output, its ``self.log`` routed to the stack's Trainer under the member's prefix."""

from __future__ import annotations

from contextlib import contextmanager

import lightning as L
import torch
from torch import nn


def member_prefix(member: int) -> str:
    """Where member ``member``'s logged metrics sit among the stack Trainer's: ``m3/val/acc``."""
    return f"m{member}/"


class NotStackable(RuntimeError):
    """A task that does something with its net that a stack cannot replay."""


class ReplayedNet(nn.Module):
    """Stands in for a member task's net inside a stacked step: its slice of the stack's output. A Module
    (without weights), so that whatever walks the task's modules meanwhile (Lightning's logging) still can."""

    def __init__(self, task_name: str):
        super().__init__()
        self.task_name = task_name
        self.inputs = self.outputs = None

    def forward(self, x):
        if x is not self.inputs:
            raise NotStackable(
                f"{self.task_name} calls its net on something other than its batch's input (batch[0]); "
                "a stack can only replay that call"
            )
        return self.outputs


@contextmanager
def replaying(task: nn.Module, replay: ReplayedNet, inputs: torch.Tensor, outputs: torch.Tensor):
    """``task.net`` answers ``task.net(inputs)`` with ``outputs`` (its member's rows of the stack's output).
    Swapped in ``_modules`` directly: nn.Module's setattr checks cost more than the swap is worth per step."""
    real = task._modules["net"]
    replay.inputs, replay.outputs = inputs, outputs
    task._modules["net"] = replay
    try:
        yield
    finally:
        task._modules["net"] = real
        replay.inputs = replay.outputs = None


class MemberLog:
    """A member task's ``self.log``: the stack logs the value under the member's prefix (the progress
    bar shows the stack's own progress, not M copies of every metric)."""

    def __init__(self, stack: L.LightningModule, member: int):
        self.stack, self.prefix = stack, member_prefix(member)

    def __call__(self, name: str, value, prog_bar: bool = False, **kwargs) -> None:
        self.stack.log(self.prefix + name, value, **kwargs)
