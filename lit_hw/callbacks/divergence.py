"""Stop a run whose training loss diverges (e.g. lr=10), without raising."""

from __future__ import annotations

import math

import lightning as L


def divergence_record(value: float, max_loss: float | None, epoch: int, step: int) -> dict | None:
    """What a run records when its training loss ``value`` diverged (NaN/inf, or above ``max_loss``), else None.
    Also the check of each member of a stack (lit_hw.stacked.training)."""
    if math.isfinite(value) and (max_loss is None or value <= max_loss):
        return None
    return {
        "epoch": epoch,
        "step": step,
        "loss": value if math.isfinite(value) else str(value),
        "reason": "non-finite loss" if not math.isfinite(value) else f"loss above max_loss={max_loss:g}",
    }


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
        self._checked_step = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # Counted in optimizer steps: a loader batch that took several (data.steps_per_execution) is
        # checked when it passed a multiple of check_every_n_steps, by the worst loss of its steps.
        step, every = trainer.global_step, self.check_every_n_steps
        if self.diverged_at is not None or (every > 1 and step // every == self._checked_step // every):
            return
        self._checked_step = step
        loss = outputs.get("worst_loss", outputs.get("loss")) if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self.diverged_at = divergence_record(float(loss.detach()), self.max_loss, trainer.current_epoch, step)
        if self.diverged_at is not None:
            trainer.should_stop = True

    def state_dict(self):
        return {"diverged_at": self.diverged_at}

    def load_state_dict(self, state_dict):
        self.diverged_at = state_dict.get("diverged_at")
