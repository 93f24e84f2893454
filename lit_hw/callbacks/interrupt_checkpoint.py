"""Save the weights when the user presses Ctrl-C, without touching the resume point."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L

from lit_hw.core.errors import is_interruption

log = logging.getLogger(__name__)


class CheckpointOnInterrupt(L.Callback):
    """On Ctrl-C (SIGINT) or SIGTERM (scancel, preemption), write ``<dirpath>/interrupted.ckpt``.

    Lightning catches the interrupt, calls every callback's ``on_exception`` and
    exits with status 1; RunRecord then writes ``status: interrupted``. Lightning's
    own ``ModelCheckpoint(save_on_exception=True)`` is not used because it also
    overwrites ``last.ckpt`` with the mid-epoch state (and on any exception): a
    resume from a mid-epoch state does not replay the epoch exactly, so
    ``last.ckpt`` stays the end-of-epoch checkpoint that ``resume=<run_dir>``
    continues from, and the interrupted weights get their own file.
    """

    def __init__(self, dirpath: str, filename: str = "interrupted.ckpt"):
        super().__init__()
        self.path = Path(dirpath) / filename

    def on_exception(self, trainer, pl_module, exception):
        if not is_interruption(exception) or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path)
        if trainer.is_global_zero:
            log.warning("interrupted: saved %s (resume from the last completed epoch with resume=<run_dir>)", self.path)
