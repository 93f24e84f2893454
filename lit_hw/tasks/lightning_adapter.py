"""Where lit_hw meets Lightning's internals, and the only reader of step chunks.

Step chunks (``data.steps_per_execution`` > 1, lit_hw.data.tensor_split.StepChunk) are a speed
trick: one loader batch carries several minibatches, one optimizer step each, so Lightning's
per-batch bookkeeping is paid once per chunk. Lightning then counts chunks; this module makes every
count the user sees an optimizer step again:

- ``trainer.limit_train_batches`` (a count or a fraction of an epoch) and an int
  ``trainer.val_check_interval`` are read in optimizer steps and handed to Lightning in chunks
  (``plan_step_chunks``); the chunk that reaches the limit, or ``trainer.max_steps``, is cut short
  (``optimizer_minibatches``), so a run takes exactly that many steps.
- The logger step (TensorBoard, CSV, LearningRateMonitor) is ``trainer.global_step``, the number of
  optimizer steps done (``count_logger_steps``); Lightning's own counts batches from 0.
- ``optimizer_steps_per_epoch`` is the epoch's length for the progress bar and the lr schedules.

The Lightning internals used, each for speed or for these counts, and checked by
``missing_internals()`` (tests/unit/tasks/test_optim_and_adapter.py fails with its list after an upgrade):

1. ``LightningOptimizer._on_before_step`` / ``_on_after_step``: during manual optimization
   Lightning's loop (``_ManualOptimization``) points them at the progress tracking behind
   ``trainer.global_step``. Within a chunk the minibatches after the first take a plain PyTorch
   step, which must still be counted. If they are gone, every step goes through Lightning.
2. ``LightningModule._current_fx_name``: Lightning sets it twice around every hook call, ~40
   times per step, through ``nn.Module.__setattr__``'s parameter/buffer checks.
3. ``_TrainingEpochLoop._batches_that_stepped``: the step Lightning hands to its loggers.
4. ``LightningModule._trainer``: whether a module is attached to a trainer (``.trainer`` raises if not).

``trainer.log_every_n_steps`` only paces metrics logged per step, and lit_hw logs its training
metrics once per epoch; with chunks Lightning checks it at the end of each chunk.
"""

from __future__ import annotations

import inspect
import math
import weakref
from typing import NamedTuple

import lightning as L
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.loops.optimization.manual import _ManualOptimization
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop

from lit_hw.core.errors import ConfigError
from lit_hw.data.tensor_split import StepChunk, chunk_shape

STEP_HOOKS = ("_on_before_step", "_on_after_step")
FX_NAME = "_current_fx_name"
LOGGER_STEP = "_batches_that_stepped"


def _step_hooks_present() -> bool:
    optimizer_init = inspect.getsource(LightningOptimizer.__init__)
    return all(hook in optimizer_init and callable(getattr(_ManualOptimization, hook, None)) for hook in STEP_HOOKS)


def missing_internals() -> list[str]:
    missing = [] if _step_hooks_present() else [f"LightningOptimizer/_ManualOptimization.{h}" for h in STEP_HOOKS]
    if FX_NAME not in inspect.getsource(L.LightningModule.__init__):
        missing.append(f"LightningModule.{FX_NAME}")
    if f"self.{LOGGER_STEP}" not in inspect.getsource(_TrainingEpochLoop):
        missing.append(f"_TrainingEpochLoop.{LOGGER_STEP}")
    if "self._trainer" not in inspect.getsource(L.LightningModule.__init__):
        missing.append("LightningModule._trainer")
    return missing


PLAIN_STEPS_SUPPORTED = _step_hooks_present()


def attached_trainer(module: L.LightningModule):
    """The module's trainer, or None outside a fit/validate/test (where ``module.trainer`` raises)."""
    return module._trainer


class StepPlan(NamedTuple):
    """How a fit's optimizer steps come in chunks."""

    steps_per_chunk: int
    steps_per_epoch: int  # after trainer.limit_train_batches


# the plan of each trainer's fit, and the counts the user gave it (a second fit translates those again)
_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _steps_of_limit(limit: int | float, steps: int) -> int:
    """Lightning's rule for ``limit_train_batches``, applied to optimizer steps."""
    if isinstance(limit, int):
        return min(steps, limit)
    count = int(steps * limit)
    if count == 0 and limit > 0:
        raise ConfigError(
            f"trainer.limit_train_batches={limit} is less than one of the epoch's {steps} optimizer steps; "
            f"use at least {1 / steps:.2g}"
        )
    return count


def plan_step_chunks(trainer) -> StepPlan | None:
    """Translate the trainer's counts given in optimizer steps into chunks of the fit's train loader.
    Call it once per fit, before Lightning sets up the train loader (``configure_optimizers``); None
    when the loader is not chunked."""
    datamodule = getattr(trainer, "datamodule", None)
    shape = chunk_shape(datamodule.train_dataloader()) if datamodule is not None else None
    if trainer in _plans:
        trainer.limit_train_batches, trainer.val_check_interval = _plans[trainer][1]
    if shape is None:
        _plans.pop(trainer, None)
        return None
    steps_per_chunk, steps = shape
    user_counts = (trainer.limit_train_batches, trainer.val_check_interval)
    plan = StepPlan(steps_per_chunk, _steps_of_limit(trainer.limit_train_batches, steps))
    interval = trainer.val_check_interval
    if isinstance(interval, int):
        if interval % steps_per_chunk:
            raise ConfigError(
                f"trainer.val_check_interval={interval} is not a multiple of data.steps_per_execution="
                f"{steps_per_chunk} (validation runs between step chunks); use a multiple or data.steps_per_execution=1"
            )
        trainer.val_check_interval = interval // steps_per_chunk
    trainer.limit_train_batches = math.ceil(plan.steps_per_epoch / steps_per_chunk)
    _plans[trainer] = (plan, user_counts)
    return plan


def optimizer_steps_per_epoch(trainer) -> int:
    """Optimizer steps of a training epoch (its train loader must be set up)."""
    planned = _plans.get(trainer)
    return planned[0].steps_per_epoch if planned else int(trainer.num_training_batches)


def optimizer_minibatches(batch, batch_idx: int, trainer) -> tuple:
    """The minibatches of a loader batch that get an optimizer step: a chunk stops at the epoch's
    limit and at ``trainer.max_steps`` (Lightning checks both only between loader batches)."""
    if not isinstance(batch, StepChunk):
        return (batch,)
    count = len(batch)
    planned = _plans.get(trainer)
    if planned:
        plan = planned[0]
        count = min(count, plan.steps_per_epoch - batch_idx * plan.steps_per_chunk)
    if trainer.max_steps is not None and trainer.max_steps >= 0:
        count = min(count, trainer.max_steps - trainer.global_step)
    return batch[: max(count, 1)]


def count_logger_steps(trainer) -> None:
    """Make the step Lightning gives its loggers the optimizer steps done: a chunk counts all its steps,
    and the last ``train/loss`` of a run sits at the run's number of steps. Call it at the end of every
    training step (Lightning adds one after each batch and logs epoch metrics one below)."""
    setattr(trainer.fit_loop.epoch_loop, LOGGER_STEP, trainer.global_step)


def plain_steps_allowed(trainer) -> bool:
    """Plain steps only where Lightning adds nothing else: one device, 32-bit precision."""
    from lightning.pytorch.strategies import SingleDeviceStrategy

    return (
        PLAIN_STEPS_SUPPORTED
        and isinstance(trainer.strategy, SingleDeviceStrategy)
        and str(trainer.precision) in ("32-true", "32")
    )


def plain_step(optimizer: LightningOptimizer, loss, parameters, grad_clip: float | None) -> None:
    """zero_grad, backward, clip, step on the wrapped torch optimizer, counted in ``trainer.global_step``.

    Lightning's wrappers dispatch three hooks to every callback per step (~0.4 ms on a 2-core CPU, as
    long as a small net's whole step); within a chunk they fire once, for its first minibatch, like
    Keras callbacks under steps_per_execution."""
    import torch

    optimizer.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    optimizer._on_before_step()
    optimizer.optimizer.step()
    optimizer._on_after_step()


class FastHookNames:
    """Mixin for a LightningModule: set ``_current_fx_name`` without nn.Module's checks."""

    def __setattr__(self, name, value):
        if name == FX_NAME:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)
