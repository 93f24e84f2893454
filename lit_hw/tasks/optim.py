"""Build an optimizer from a plain config dict (kept plain so checkpoints load with weights_only)."""

from __future__ import annotations

import math

import torch

from lit_hw.errors import ConfigError

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def build_optimizer(params, name: str = "adam", lr: float = 1e-3, fused="auto", **kwargs) -> torch.optim.Optimizer:
    """``fused: auto`` uses torch's single-kernel update where the params allow it (CPU or CUDA):
    on a small net the per-tensor Python loop of the default update is a large part of a step."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optim.name={name!r} is not known; choose one of {', '.join(OPTIMIZERS)}")
    check_optimizer_config(name=name, lr=lr, **kwargs)
    if name == "sgd":
        kwargs.pop("betas", None)
    else:
        kwargs.pop("momentum", None)
        kwargs.pop("nesterov", None)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    params = list(params)
    if fused == "auto":
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return OPTIMIZERS[name](params, lr=lr, fused=bool(fused), **kwargs)


def check_optimizer_config(name: str = "adam", lr: float = 1e-3, **kwargs) -> None:
    """Reject values the optimizer would accept silently or fail on only at its first step."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"optim.lr={lr!r} must be a positive finite number, e.g. 0.001")
    for key in ("momentum", "weight_decay"):
        value = kwargs.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"optim.{key}={value!r} must be a finite number >= 0")
    if kwargs.get("nesterov") and not kwargs.get("momentum"):
        raise ConfigError("optim.nesterov=true needs optim.momentum > 0")
