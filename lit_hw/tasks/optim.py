"""The optimizer, described like the net: ``_target_`` (a torch.optim class) plus its arguments.

The task keeps the description as a plain dict in its hyper-parameters (so checkpoints load
with ``torch.load(weights_only=True)``), checks it when the task is built, and builds the
optimizer in ``configure_optimizers``.
"""

from __future__ import annotations

import inspect

import torch
from hydra.utils import get_class

from lit_hw.config.checks import require_number
from lit_hw.core.errors import ConfigError
from lit_hw.tasks.schedules import SCHEDULE_KEYS

# Checkpoints written before lit_hw 0.2 describe the optimizer as {"name": ..., <settings of both families>}.
LEGACY_NAMES = {"adam": "torch.optim.Adam", "adamw": "torch.optim.AdamW", "sgd": "torch.optim.SGD"}
LEGACY_OTHER_FAMILY = {"sgd": ("betas",), "adam": ("momentum", "nesterov"), "adamw": ("momentum", "nesterov")}


def legacy_to_target(optim: dict) -> dict:
    """The one reader of the spelling before lit_hw 0.2: an old checkpoint's {"name": "sgd", ...} becomes
    {"_target_": "torch.optim.SGD", ...}; a config that adds it (``+optim.name=sgd``, beside the optim
    group's ``_target_``) is told what replaced it. Any other ``optim`` passes as it is."""
    settings = dict(optim)
    name = settings.pop("name", None)
    if name is None:
        return settings
    if "_target_" in settings:
        raise ConfigError(
            f"optim.name={name!r} is the spelling before lit_hw 0.2; pick the optimizer with optim=adam, "
            "optim=adamw or optim=sgd (or optim._target_=torch.optim.<Class>)"
        )
    if name not in LEGACY_NAMES:
        raise ConfigError(f"optim.name={name!r} is not known; choose one of {', '.join(LEGACY_NAMES)}")
    for key in LEGACY_OTHER_FAMILY[name]:
        settings.pop(key, None)
    return {"_target_": LEGACY_NAMES[name], **settings}


def resolve_optimizer(optim: dict) -> tuple[type[torch.optim.Optimizer], dict]:
    """(optimizer class, its keyword arguments), checked: reject values that the optimizer would
    accept silently or fail on only at its first step."""
    # the lr schedule shares the optim group (optim.scheduler=cosine) but is not an optimizer argument
    optim = {k: v for k, v in optim.items() if k not in SCHEDULE_KEYS}
    settings = legacy_to_target(optim)
    target = settings.pop("_target_", None)
    settings.pop("_partial_", None)
    try:
        cls = get_class(target) if isinstance(target, str) else None
    except Exception:
        cls = None
    if cls is None or not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ConfigError(f"optim._target_={target!r} is not a torch.optim optimizer class, e.g. torch.optim.Adam")
    accepted = set(inspect.signature(cls).parameters) - {"params"}
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise ConfigError(f"optim.{unknown[0]} is not a setting of {target}; accepted: {', '.join(sorted(accepted))}")
    require_number("optim.lr", settings.get("lr", 1e-3), positive=True, example="0.001")
    for key in ("momentum", "weight_decay"):
        if key in settings:
            require_number(f"optim.{key}", settings[key], minimum=0)
    if settings.get("nesterov") and not settings.get("momentum"):
        raise ConfigError("optim.nesterov=true needs optim.momentum > 0")
    if "betas" in settings:
        settings["betas"] = tuple(settings["betas"])
    return cls, settings


def build_optimizer(params, optim: dict) -> torch.optim.Optimizer:
    """Torch's single-kernel (fused) update where the optimizer and params allow it, unless the config
    says otherwise: on a small net the per-tensor Python loop of the default update is a large part of a step."""
    cls, settings = resolve_optimizer(optim)
    params = list(params)
    if "fused" in inspect.signature(cls).parameters and settings.get("fused", "auto") == "auto":
        settings["fused"] = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return cls(params, **settings)
