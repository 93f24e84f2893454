"""Stop a run whose training loss diverges (e.g. lr=10), without raising."""

from __future__ import annotations

import math

import lightning as L


class StopOnDivergence(L.Callback):
    """Sets ``trainer.should_stop`` when the training loss is NaN/inf or above ``max_loss``.

    A large learning rate either overflows the loss to NaN or throws it to values
    no sane run reaches (cross-entropy at chance is ln(10) ~ 2.3 for ten classes;
    lr=10 on the MLP gives ~1e4), after which the network sits dead at chance. The
    run ends normally: its logs and checkpoints stay, and the RunRecord callback
    writes ``status: diverged`` with the epoch, step and loss. ``check_every_n_steps``
    > 1 avoids a device sync per step on a GPU. Like Lightning's EarlyStopping
    ``divergence_threshold``, but checked per step and recorded.
    """

    def __init__(self, max_loss: float | None = 1000.0, check_every_n_steps: int = 1):
        super().__init__()
        self.max_loss = max_loss
        self.check_every_n_steps = max(1, int(check_every_n_steps))
        self.diverged_at: dict | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.diverged_at is not None or batch_idx % self.check_every_n_steps:
            return
        loss = outputs.get("worst_loss", outputs.get("loss")) if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach())
        if not math.isfinite(value) or (self.max_loss is not None and value > self.max_loss):
            reason = "non-finite loss" if not math.isfinite(value) else f"loss above max_loss={self.max_loss:g}"
            self.diverged_at = {
                "epoch": trainer.current_epoch,
                "step": trainer.global_step,
                "loss": value if math.isfinite(value) else str(value),
                "reason": reason,
            }
            trainer.should_stop = True

    def state_dict(self):
        return {"diverged_at": self.diverged_at}

    def load_state_dict(self, state_dict):
        self.diverged_at = state_dict.get("diverged_at")
