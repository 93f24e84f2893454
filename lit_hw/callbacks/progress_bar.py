"""A progress bar that counts optimizer steps, not loader batches.

With ``data.steps_per_execution=8`` one loader batch carries 8 minibatches (lit_hw.data.tensor_split
.StepChunk), so Lightning's bar would show an epoch of 58 steps as "8/8".
"""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import _update_n

from lit_hw.data.tensor_split import StepChunk


def optimizer_steps_per_epoch(trainer, loader_batches: int) -> int:
    """Optimizer steps in an epoch of ``loader_batches`` train loader batches, each a step chunk of up to
    ``data.steps_per_execution`` minibatches (the last chunk of an epoch may hold fewer)."""
    datamodule = getattr(trainer, "datamodule", None)
    per_batch = int(getattr(datamodule, "steps_per_execution", 1) or 1)
    if trainer.world_size > 1 or per_batch == 1:  # chunking is off under DDP (lit_hw.data.tensor_datamodule)
        return loader_batches
    split = getattr(datamodule, "splits", {}).get("train")
    if split is None:
        return loader_batches * per_batch
    return min(loader_batches * per_batch, math.ceil(len(split) / datamodule.batch_size))


class StepProgressBar(TQDMProgressBar):
    def __init__(self, refresh_rate: int = 20, **kwargs):
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._steps = 0

    @property
    def total_train_batches(self):
        batches = super().total_train_batches
        return optimizer_steps_per_epoch(self.trainer, batches) if isinstance(batches, int) else batches

    def on_train_epoch_start(self, trainer, *args) -> None:
        self._steps = 0
        super().on_train_epoch_start(trainer, *args)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        before = self._steps
        self._steps += len(batch) if isinstance(batch, StepChunk) else 1
        bar = self.train_progress_bar
        if bar is None or not self.is_enabled:
            return
        # refresh_rate counts steps: redraw when a multiple of it was passed, and at the end
        if self._steps // self.refresh_rate > before // self.refresh_rate or self._steps == bar.total:
            _update_n(bar, self._steps)
            bar.set_postfix(self.get_metrics(trainer, pl_module))
