"""M copies of one architecture with different weights, run as one model: one forward and one
backward for all members per minibatch.

Small nets (this project's MLP is ~1 ms a step) leave most of a GPU, and much of a CPU's
per-op overhead, unused; a stack of M members pays the per-op cost once for all of them.
Each member keeps its own weights; ``keep(rows)`` drops members (e.g. ones that diverged). The
members see one shared batch (B, ...), or each its own (M, B, ...) when their data streams differ
(``per_member_input=True``: jobs that differ in ``seed`` draw their own splits and batch order).

Two ways to run the stack, same results:
  layered  nets that list their modules (``stack_layers()``: the MLP and the linear net) whose
           modules are Flatten, Linear and element-wise ones. The first Linear sees the same batch
           for every member, so it is one GEMM against all members' weights side by side; later
           Linears are one batched matmul. On 2 CPU cores (python -m bench.stack_step), a step of
           5 MLPs with 256 hidden units: 3.4 ms stacked, 3.9 ms one after the other, 5.1 ms via vmap;
           3 MLPs with 512: 4.1, 3.7 and 6.4 ms (vmap's bmm splits 3 products over 2 threads).
  vmap     any other net (the CNN): torch.func's stack_module_state, functional_call and vmap.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Identity, nn.GELU, nn.LeakyReLU)


def layer_plan(net: nn.Module) -> list[tuple[nn.Module, str]] | None:
    """(module, its name in the net) in forward order, if the net lists its modules and each is Flatten,
    Linear or element-wise; else None (the stack then runs through vmap)."""
    listed = getattr(net, "stack_layers", None)
    if listed is None:
        return None
    names = {id(m): name for name, m in net.named_modules()}
    plan = []
    for module in listed():
        elementwise = isinstance(module, ELEMENTWISE) or getattr(module, "elementwise", False)
        if not (isinstance(module, (nn.Flatten, nn.Linear)) or elementwise):
            return None
        if isinstance(module, nn.Flatten) and (module.start_dim, module.end_dim) != (1, -1):
            return None
        plan.append((copy.deepcopy(module) if elementwise else module, names.get(id(module), "")))
    return plan


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
        self._forward_own_inputs = vmap(one_member, in_dims=(0, 0, 0), randomness="different")
        self.layers = layer_plan(nets[0]) if not buffers else None

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

    def to(self, device: torch.device) -> StackedNet:
        """The weights on ``device`` (new leaf tensors: build the optimizer after this)."""
        self.params = {k: v.detach().to(device).requires_grad_(v.requires_grad) for k, v in self.params.items()}
        self.buffers = {k: v.to(device) for k, v in self.buffers.items()}
        return self

    def __call__(
        self, x: torch.Tensor, weights: dict[str, torch.Tensor] | None = None, per_member_input: bool = False
    ) -> torch.Tensor:
        """Every member's output; ``weights`` (a ``snapshot()``, or some of its rows) instead of the current
        ones; ``per_member_input``: ``x`` holds one batch per member (M, B, ...)."""
        if self.layers is not None:
            return self._layered(x, self.params if weights is None else weights, per_member_input)
        forward = self._forward_own_inputs if per_member_input else self._forward
        if weights is None:
            return forward(self.params, self.buffers, x)
        params = {k: weights[k] for k in self.params}
        return forward(params, {k: weights[k] for k in self.buffers}, x)

    def _layered(self, x: torch.Tensor, weights: dict[str, torch.Tensor], per_member: bool) -> torch.Tensor:
        h = x  # without per-member inputs, every member sees the same tensor until the first Linear
        for module, name in self.layers:
            if isinstance(module, nn.Flatten):
                h = h.flatten(2 if per_member else 1)
            elif isinstance(module, nn.Linear):
                w, b = weights[f"{name}.weight"], weights.get(f"{name}.bias")
                members, out = w.shape[0], w.shape[1]
                if per_member:  # (M, B, in) @ (M, in, out)
                    h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2)) if b is not None else h @ w.transpose(1, 2)
                else:  # (B, in) @ (in, M*out): one GEMM for all members
                    flat = w.reshape(members * out, -1).t()
                    h = torch.addmm(b.reshape(-1), h, flat) if b is not None else h @ flat
                    h = h.view(len(h), members, out).transpose(0, 1)
                    per_member = True
            else:
                if self.skeleton.training is not module.training:
                    module.train(self.skeleton.training)
                h = module(h)  # element-wise (activations, dropout): members stay independent
        return h

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
