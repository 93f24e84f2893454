"""Make a run crash on purpose, to check that a sweep setup copes with a failing job.

    python -m lit_hw.train -m optim.lr=0.01,0.1 \
        +callbacks.fail_at._target_=lit_hw.callbacks.fault_injection.FailAtEpoch \
        +callbacks.fail_at.epoch=null,1

Useful before spending hours on a SLURM/Ray sweep: the crashing job must show up as
``failed`` (with the message) in its metrics.json and in the sweep summary, the other
jobs must still finish, and the multirun must exit non-zero.
"""

from __future__ import annotations

import lightning as L


class InjectedFault(RuntimeError):
    """Raised by FailAtEpoch: an 'unexpected' exception, deliberately not a UserError."""


class FailAtEpoch(L.Callback):
    """Raise InjectedFault when training epoch ``epoch`` (0-based) starts; ``epoch=null`` disables it."""

    def __init__(self, epoch: int | None = None):
        super().__init__()
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if self.epoch is not None and trainer.current_epoch == self.epoch:
            raise InjectedFault(f"fault injected at epoch {self.epoch} by callbacks FailAtEpoch")
