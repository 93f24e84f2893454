"""Stop a run whose training loss stops being finite (e.g. lr=10), without raising."""

from __future__ import annotations

import math

import lightning as L


class StopOnNonFiniteLoss(L.Callback):
    """Sets ``trainer.should_stop`` at the first NaN/inf loss and remembers where it happened.

    The run then ends normally: its logs and checkpoints stay, and the
    RunRecord callback writes ``status: diverged`` with the epoch and step.
    ``check_every_n_steps`` > 1 avoids a device sync per step on a GPU.
    """

    def __init__(self, check_every_n_steps: int = 1):
        super().__init__()
        self.check_every_n_steps = max(1, int(check_every_n_steps))
        self.diverged_at: dict | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.diverged_at is not None or batch_idx % self.check_every_n_steps:
            return
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach())
        if not math.isfinite(value):
            self.diverged_at = {"epoch": trainer.current_epoch, "step": trainer.global_step, "loss": str(value)}
            trainer.should_stop = True

    def state_dict(self):
        return {"diverged_at": self.diverged_at}

    def load_state_dict(self, state_dict):
        self.diverged_at = state_dict.get("diverged_at")
