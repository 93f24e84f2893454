"""The only places where lit_hw relies on Lightning internals, each for speed, and a check that they still hold.

1. ``LightningOptimizer._on_before_step`` / ``_on_after_step``: during manual optimization
   Lightning's loop (``_ManualOptimization``) points them at the progress tracking behind
   ``trainer.global_step``. Within a step chunk (``data.steps_per_execution`` > 1) the
   minibatches after the first take a plain PyTorch step, which must still be counted.
2. ``LightningModule._current_fx_name``: Lightning sets it twice around every hook call, ~40
   times per step, through ``nn.Module.__setattr__``'s parameter/buffer checks.

``missing_internals()`` lists what a Lightning upgrade took away; tests/test_lightning_adapter.py
fails with that list. If (1) is gone, chunked training falls back to Lightning's own steps
(correct, slower); if (2) is gone, the shortcut is simply never taken.
"""

from __future__ import annotations

import inspect

import lightning as L
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.loops.optimization.manual import _ManualOptimization

STEP_HOOKS = ("_on_before_step", "_on_after_step")
FX_NAME = "_current_fx_name"


def _step_hooks_present() -> bool:
    optimizer_init = inspect.getsource(LightningOptimizer.__init__)
    return all(hook in optimizer_init and callable(getattr(_ManualOptimization, hook, None)) for hook in STEP_HOOKS)


def missing_internals() -> list[str]:
    missing = [] if _step_hooks_present() else [f"LightningOptimizer/_ManualOptimization.{h}" for h in STEP_HOOKS]
    if FX_NAME not in inspect.getsource(L.LightningModule.__init__):
        missing.append(f"LightningModule.{FX_NAME}")
    return missing


PLAIN_STEPS_SUPPORTED = _step_hooks_present()


def plain_step(optimizer: LightningOptimizer, loss, parameters, grad_clip: float | None) -> None:
    """zero_grad, backward, clip, step on the wrapped torch optimizer, counted in ``trainer.global_step``."""
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
