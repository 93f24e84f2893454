"""A Lightning callback that makes a real training job slow: for tests that stop a sweep half-way.

Given to every attempt of a sweep (``+callbacks.slow_batches._target_=tests.helpers.slow_training.SlowBatches``:
``resume_sweep=true`` wants the sweep's own arguments), it sleeps only where the environment says how
long (``LIT_HW_TEST_SLOW_S``, passed on to gpu_pool's jobs), so a first attempt is still training when
it is stopped and the resume finishes at full speed.
"""

from __future__ import annotations

import os
import time

import lightning as L

SLOW_ENV = "LIT_HW_TEST_SLOW_S"


class SlowBatches(L.Callback):
    """Sleep ``$LIT_HW_TEST_SLOW_S`` seconds (none if unset) after every training batch."""

    def __init__(self):
        super().__init__()
        self.seconds = float(os.environ.get(SLOW_ENV) or 0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.seconds:
            time.sleep(self.seconds)
