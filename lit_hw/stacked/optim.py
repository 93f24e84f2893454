"""SGD, Adam and AdamW for a stack of M models trained together, one update for all members.

Each parameter is a stacked tensor of shape (M, ...): member i's weights are ``p[i]``. Every
scalar (lr, momentum, dampening, weight decay, betas, eps) is per member, so a learning-rate
sweep is one stack, and each member keeps its own state (momentum buffer, Adam moments, step
count). The arithmetic is torch.optim's own (its single-tensor SGD and Adam, AdamW's decoupled
decay), so member i follows exactly the path torch.optim would give it alone
(tests/unit/stacked/test_stacked.py checks 20 steps to 1e-6). ``keep(rows)`` drops members, e.g. diverged ones.

It is a torch.optim.Optimizer, so Lightning drives it as it drives any (manual optimization,
precision plugins, the step count): its one param group holds the stacked tensors, and the member
scalars live in ``hyper``. ``set_lr`` takes each member's lr from its own lr scheduler, and
``clip_member_grad_norms`` clips each member's gradient by its own norm.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# the torch.optim classes a stack can reproduce, and the arguments each may set
STACKABLE_OPTIMIZERS = {
    "torch.optim.SGD": {"lr", "momentum", "dampening", "weight_decay", "nesterov", "foreach", "fused"},
    "torch.optim.Adam": {"lr", "betas", "eps", "weight_decay", "foreach", "fused", "amsgrad"},
    "torch.optim.AdamW": {"lr", "betas", "eps", "weight_decay", "foreach", "fused", "amsgrad"},
}
TORCH_DEFAULTS = {
    "torch.optim.SGD": {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    "torch.optim.Adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
    "torch.optim.AdamW": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
}


def why_not_stackable(target: str, args: dict) -> str | None:
    """None if a stack can reproduce ``target(**args)`` exactly, else the reason."""
    if target not in STACKABLE_OPTIMIZERS:
        return f"optimizer {target} (a stack runs {', '.join(STACKABLE_OPTIMIZERS)})"
    extra = set(args) - STACKABLE_OPTIMIZERS[target]
    if extra:
        return f"{target} arguments {sorted(extra)}"
    if args.get("amsgrad"):
        return f"{target} with amsgrad=true"
    return None


class StackedOptimizer(torch.optim.Optimizer):
    """One optimizer step for a stack of members; ``member_args[i]`` are member i's torch.optim arguments."""

    def __init__(self, params: Sequence[torch.Tensor], target: str, member_args: Sequence[dict]):
        reason = why_not_stackable(target, {k: v for a in member_args for k, v in a.items()})
        if reason:
            raise ValueError(f"cannot stack {reason}")
        params = list(params)
        super().__init__(params, {"lr": float(member_args[0]["lr"])})
        self.target = target
        full = [{**TORCH_DEFAULTS[target], **args} for args in member_args]
        nesterov = {bool(a.get("nesterov", False)) for a in full}
        if len(nesterov) > 1:
            raise ValueError("cannot stack members with and without nesterov")
        self.nesterov = nesterov.pop()
        device = params[0].device

        def column(name, index=None):
            values = [a[name] if index is None else a[name][index] for a in full]
            return torch.tensor(values, dtype=torch.float64, device=device)

        self.hyper = {"lr": column("lr"), "weight_decay": column("weight_decay")}
        if target == "torch.optim.SGD":
            momentum = column("momentum")
            # torch skips the buffer when momentum is 0, so dampening then never applies
            dampening = torch.where(momentum == 0, 0.0, column("dampening"))
            self.hyper.update(momentum=momentum, one_minus_dampening=1 - dampening)
        else:
            # complements taken in float64, as torch.optim takes them from Python floats: 1 - 0.999 taken
            # in float32 is off by 1e-5 relative, which 20 Adam steps turn into a visible difference
            beta1, beta2 = column("betas", 0), column("betas", 1)
            self.hyper.update(beta1=beta1, one_minus_beta1=1 - beta1, beta2=beta2, one_minus_beta2=1 - beta2)
            self.hyper.update(eps=column("eps"), decay_factor=1 - self.hyper["lr"] * self.hyper["weight_decay"])
        self.set_lr(self.hyper["lr"])
        # terms that are 0 for every member are skipped (a pass over every weight each)
        self.any = {k: bool((self.hyper[k] != 0).any()) for k in ("weight_decay", "momentum") if k in self.hyper}
        self.slots: list[dict] = [{} for _ in params]  # per stacked tensor: momentum buffer or Adam moments
        self.steps = torch.zeros(len(member_args), dtype=torch.float64, device=device)

    @property
    def params(self) -> list[torch.Tensor]:
        return self.param_groups[0]["params"]

    @property
    def members(self) -> int:
        return len(self.steps)

    def set_lr(self, lr: torch.Tensor) -> None:
        """Each member's learning rate (e.g. its schedule's value now), and the terms derived from it."""
        self.hyper["lr"] = torch.as_tensor(lr, dtype=torch.float64, device=self.hyper["weight_decay"].device)
        self.hyper["neg_lr"] = -self.hyper["lr"]
        if self.target != "torch.optim.SGD":
            self.hyper["decay_factor"] = 1 - self.hyper["lr"] * self.hyper["weight_decay"]

    @torch.no_grad()
    def clip_member_grad_norms(self, max_norm: float) -> None:
        """torch.nn.utils.clip_grad_norm_ for each member alone: its gradient scaled by
        max_norm / (its norm + 1e-6), at most 1."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return
        norms = torch.stack([g.flatten(1).float().square().sum(1) for g in grads]).sum(0).sqrt()
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for grad in grads:
            grad.mul_(scale.to(grad.dtype).view(-1, *([1] * (grad.dim() - 1))))

    def _per_member(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """Member scalars shaped to broadcast over a stacked tensor like ``like``."""
        return self.hyper[name].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:  # Lightning's precision plugins hand their hooks over as the closure
            with torch.enable_grad():
                loss = closure()
        self.steps += 1
        for param, state in zip(self.params, self.slots):
            if param.grad is None:
                continue
            if self.target == "torch.optim.SGD":
                self._sgd(param, param.grad, state)
            else:
                self._adam(param, param.grad, state)
        return loss

    def _sgd(self, param, grad, state) -> None:
        # in-place, broadcast per-member scalars, and no pass for a term that is 0 for every member: on a
        # CPU the update's passes over memory cost more than the small net's matmuls
        if self.any["weight_decay"]:
            grad = torch.addcmul(grad, param, self._per_member("weight_decay", param))
        if self.any["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.clone()
            else:
                buf = state["momentum_buffer"]
                buf.mul_(self._per_member("momentum", param)).addcmul_(
                    grad, self._per_member("one_minus_dampening", param)
                )
            buf = state["momentum_buffer"]
            # members with momentum 0 carry their gradient in the buffer, which is what torch steps with
            direction = torch.addcmul(grad, buf, self._per_member("momentum", param)) if self.nesterov else buf
        else:
            direction = grad
        param.addcmul_(direction, self._per_member("neg_lr", param))

    def _adam(self, param, grad, state) -> None:
        if self.target == "torch.optim.AdamW":
            if self.any["weight_decay"]:
                param.mul_(self._per_member("decay_factor", param))
        elif self.any["weight_decay"]:
            grad = torch.addcmul(grad, param, self._per_member("weight_decay", param))
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, self._per_member("one_minus_beta1", param))
        exp_avg_sq.mul_(self._per_member("beta2", param)).addcmul_(
            grad, grad * self._per_member("one_minus_beta2", param)
        )
        shape = (-1, *([1] * (param.dim() - 1)))
        bias_correction1 = 1 - self.hyper["beta1"] ** self.steps
        bias_correction2_sqrt = (1 - self.hyper["beta2"] ** self.steps) ** 0.5
        denom = (
            exp_avg_sq.sqrt()
            .div_(bias_correction2_sqrt.to(param.dtype).view(shape))
            .add_(self._per_member("eps", param))
        )
        step_size = (-self.hyper["lr"] / bias_correction1).to(param.dtype).view(shape)
        param.addcmul_(exp_avg.div(denom), step_size)

    def keep(self, rows: torch.Tensor, params: Sequence[torch.Tensor]) -> None:
        """Keep only the members ``rows`` (indices into the stack); ``params`` are the new stacked leaves."""
        self.param_groups[0]["params"] = list(params)
        self.hyper = {k: v[rows] for k, v in self.hyper.items()}
        self.steps = self.steps[rows]
        self.slots = [{k: v[rows] for k, v in state.items()} for state in self.slots]

    def member_state(self, i: int) -> dict:
        """Member i's state as a torch.optim state_dict would hold it (for its checkpoint)."""
        state = {}
        if self.target == "torch.optim.SGD" and float(self.hyper["momentum"][i]) == 0:
            return state  # torch keeps no buffer without momentum
        for index, param_state in enumerate(self.slots):
            entry = {k: v[i].clone() for k, v in param_state.items()}
            if self.target != "torch.optim.SGD":
                entry["step"] = torch.tensor(float(self.steps[i]))
            state[index] = entry
        return state
