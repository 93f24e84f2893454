"""The learning-rate schedule: ``optim.scheduler=none|cosine|onecycle|step``, its settings under
``optim.scheduler_args.<name>`` (conf/train.yaml).

The run's length fills in the rest: cosine anneals over ``trainer.max_epochs``, onecycle spans every
optimizer step of the run with ``max_lr=optim.lr``. Epoch schedules (cosine, step) change the lr between
epochs, onecycle after every optimizer step. The task steps them itself (manual optimization:
Lightning leaves that to the module, lit_hw.tasks.base).
"""

from __future__ import annotations

import inspect
import math

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR

from lit_hw.config.checks import require_fraction, require_in, require_number, require_whole
from lit_hw.core.errors import ConfigError
from lit_hw.tasks.lightning_adapter import optimizer_steps_per_epoch

# the optim.* keys that describe the schedule, not the optimizer
SCHEDULE_KEYS = ("scheduler", "scheduler_args")
# name -> (scheduler class, when it steps, the arguments lit_hw fills in from the run)
SCHEDULERS = {
    "none": None,
    "cosine": (CosineAnnealingLR, "epoch", ("T_max",)),
    "onecycle": (OneCycleLR, "step", ("max_lr", "total_steps", "epochs", "steps_per_epoch")),
    "step": (StepLR, "epoch", ()),
}
# values that torch would only reject (or misuse) mid-run
ARG_CHECKS = {
    "step_size": lambda key, v: require_whole(key, v, minimum=1),
    "gamma": lambda key, v: require_number(key, v, positive=True),
    "eta_min": lambda key, v: require_number(key, v, minimum=0),
    "pct_start": lambda key, v: require_fraction(key, v, low_open=True),
    "div_factor": lambda key, v: require_number(key, v, positive=True),
    "final_div_factor": lambda key, v: require_number(key, v, positive=True),
}


def resolve_schedule(optim: dict) -> tuple[str, dict]:
    """(scheduler name, its settings), checked. A config or checkpoint without the keys (one written
    before lr schedules existed) has no schedule."""
    name = optim.get("scheduler") or "none"
    require_in("optim.scheduler", name, SCHEDULERS, what="lr scheduler")
    if name == "none":
        return name, {}
    args = dict((optim.get("scheduler_args") or {}).get(name) or {})
    cls, _, filled = SCHEDULERS[name]
    accepted = set(inspect.signature(cls).parameters) - {"optimizer", "last_epoch", *filled}
    unknown = sorted(set(args) - accepted)
    if unknown:
        raise ConfigError(
            f"optim.scheduler_args.{name}.{unknown[0]} is not a setting of {cls.__name__}; "
            f"accepted: {', '.join(sorted(accepted))}"
        )
    for key, value in args.items():
        if key in ARG_CHECKS:
            ARG_CHECKS[key](f"optim.scheduler_args.{name}.{key}", value)
    return name, args


def total_optimizer_steps(trainer) -> int:
    """Optimizer steps of the whole fit, which OneCycleLR must be told exactly (it refuses to step
    further): every epoch's steps, or ``trainer.max_steps`` if that comes first."""
    trainer.estimated_stepping_batches  # noqa: B018 (sets up the train loader: num_training_batches)
    per_epoch = optimizer_steps_per_epoch(trainer)
    total = per_epoch * trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else math.inf
    if trainer.max_steps and trainer.max_steps > 0:
        total = min(total, trainer.max_steps)
    if not math.isfinite(total):
        raise ConfigError("optim.scheduler=onecycle needs a run length: trainer.max_epochs or trainer.max_steps")
    return max(1, int(total))


def build_scheduler(optimizer: torch.optim.Optimizer, optim: dict, trainer) -> tuple[LRScheduler, str]:
    """(the scheduler, when it steps: "epoch" or "step") of a schedule other than none."""
    name, args = resolve_schedule(optim)
    cls, interval, _ = SCHEDULERS[name]
    if name == "cosine":
        if not trainer.max_epochs or trainer.max_epochs < 1:
            raise ConfigError("optim.scheduler=cosine anneals over trainer.max_epochs; set it (>= 1)")
        return cls(optimizer, T_max=trainer.max_epochs, **args), interval
    if name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return cls(optimizer, max_lr=max_lr, total_steps=total_optimizer_steps(trainer), **args), interval
    return cls(optimizer, **args), interval
