"""M copies of one architecture with different weights, run as one model: one forward and one
backward for all members per minibatch (torch.func's stack_module_state, functional_call, vmap).

Small nets (this project's MLP is ~1 ms a step) leave most of a GPU, and much of a CPU's
per-op overhead, unused; a stack of M members pays the per-op cost once for all of them.
Each member keeps its own weights; ``keep(rows)`` drops members (e.g. ones that diverged).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap


class StackedNet:
    """``forward(x)`` maps one shared batch (B, ...) to every member's output (M, B, ...)."""

    def __init__(self, nets: Sequence[torch.nn.Module]):
        if not nets or len({type(n) for n in nets}) != 1:
            raise ValueError("a stack needs one or more nets of one class")
        params, buffers = stack_module_state(list(nets))
        self.params: dict[str, torch.Tensor] = params
        self.buffers: dict[str, torch.Tensor] = buffers
        # the architecture without weights: functional_call swaps each member's tensors in
        self.skeleton = copy.deepcopy(nets[0]).to("meta")

        def one_member(p, b, x):
            return functional_call(self.skeleton, (p, b), (x,))

        # randomness="different": each member draws its own dropout masks, as if trained alone
        self._forward = vmap(one_member, in_dims=(0, 0, None), randomness="different")

    @property
    def members(self) -> int:
        return len(next(iter(self.params.values())))

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def train(self, mode: bool = True) -> StackedNet:
        self.skeleton.train(mode)
        return self

    def eval(self) -> StackedNet:
        return self.train(False)

    def __call__(self, x: torch.Tensor, weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Every member's output; ``weights`` (a ``snapshot()``, or some of its rows) instead of the current ones."""
        if weights is None:
            return self._forward(self.params, self.buffers, x)
        params = {k: weights[k] for k in self.params}
        return self._forward(params, {k: weights[k] for k in self.buffers}, x)

    def current(self, rows: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The current weights (of members ``rows`` only, if given), without autograd history."""
        tensors = {k: v.detach() for k, v in {**self.params, **self.buffers}.items()}
        return tensors if rows is None else {k: v[rows] for k, v in tensors.items()}

    def keep(self, rows: torch.Tensor) -> None:
        """Keep members ``rows`` only; their weights become new leaf tensors."""
        self.params = {k: v.detach()[rows].requires_grad_(v.requires_grad) for k, v in self.params.items()}
        self.buffers = {k: v[rows] for k, v in self.buffers.items()}

    def member_state_dict(self, i: int, prefix: str = "") -> dict[str, torch.Tensor]:
        """Member i's weights as its own net's state_dict (parameters and buffers)."""
        tensors = {**self.params, **self.buffers}
        return {prefix + name: t[i].detach().clone() for name, t in tensors.items()}

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of every member's weights (e.g. each member's best so far)."""
        return {k: v.detach().clone() for k, v in {**self.params, **self.buffers}.items()}
