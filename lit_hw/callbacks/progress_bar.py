"""A progress bar that counts optimizer steps (``trainer.global_step``), not loader batches.

A loader batch may carry several optimizer steps (``data.steps_per_execution``), so Lightning's bar
would show an epoch of 58 steps as "8/8". The epoch's length in steps comes from the module's
``optimizer_steps_per_epoch`` (lit_hw.tasks.base.Task); a module without it gets Lightning's count.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import TQDMProgressBar


class StepProgressBar(TQDMProgressBar):
    def __init__(self, refresh_rate: int = 20, **kwargs):
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._epoch_start_step = 0

    @property
    def total_train_batches(self):
        steps = getattr(self.trainer.lightning_module, "optimizer_steps_per_epoch", None)
        return steps if steps is not None else super().total_train_batches

    def on_train_epoch_start(self, trainer, *args) -> None:
        self._epoch_start_step = trainer.global_step
        super().on_train_epoch_start(trainer, *args)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        bar = self.train_progress_bar
        if bar is None or not self.is_enabled or bar.disable:
            return
        before, steps = bar.n, trainer.global_step - self._epoch_start_step
        # refresh_rate counts steps: redraw when a multiple of it was passed, and at the end
        if steps // self.refresh_rate > before // self.refresh_rate or steps == bar.total:
            bar.n = steps
            bar.refresh()
            bar.set_postfix(self.get_metrics(trainer, pl_module))
