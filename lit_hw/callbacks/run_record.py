"""Record what a run did and write it to ``metrics.json`` in the run dir.

Per epoch: every logged epoch metric and the training wall time (first train
batch start to last train batch end, so validation is excluded). At the end:
final metrics, status (ok | diverged | interrupted | failed) and run info.
The file is written at every epoch end too, so a killed run keeps its history.

``monitor`` ({metric, mode}) is what the best checkpoint is picked by (the task config's
``monitor.metric``/``monitor.mode``, which ModelCheckpoint is given): the sweep summary picks the best job
and its columns and plots by it (lit_hw.sweeps.summary.monitors).

Wall time: ``started_at`` (local time, ISO 8601) is when this process's record began, and
``wall_time_s`` the seconds from then to the latest write, plus, for a run continued from a
checkpoint, the earlier attempts' time up to that checkpoint. The sweep summary reads it from here:
file times do not survive a resumed sweep, which rewrites each job's .hydra/.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime
from pathlib import Path

import lightning as L
import torch

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.errors import describe, is_interruption  # lit_hw.stacked.grouping imports them from here too
from lit_hw.core.run_files import BEST_SUFFIX


def to_number(value):
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf
    return value


class RunRecord(L.Callback):
    def __init__(self, path: str | os.PathLike, info: dict | None = None):
        super().__init__()
        self.path = Path(path)
        self.info = dict(info or {})
        self.history: list[dict] = []
        self.final: dict = {}
        self.status = "running"
        self.error: str | None = None
        self._epoch_start = 0.0
        self._last_batch_end = 0.0
        self._restored_history: list[dict] | None = None
        self._pending: dict | None = None
        self.started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        self._clock_start = time.monotonic()  # monotonic: a clock change must not make the wall time negative
        self._earlier_wall_time_s = 0.0
        self._restored_wall_time_s: float | None = None
        self.monitor: dict | None = None  # {"metric": "val/acc", "mode": "max"}, from the Trainer's checkpointing

    # -- per epoch -------------------------------------------------------------------------
    def on_fit_start(self, trainer, pl_module):
        # A resumed fit continues the history of the run it resumes. Lightning also restores
        # callback state when *testing* a checkpoint, which must not rewind the history.
        if self._restored_history is not None:
            self.history = self._restored_history
            self._restored_history = None
        if self._restored_wall_time_s is not None:
            self._earlier_wall_time_s, self._restored_wall_time_s = self._restored_wall_time_s, None
        monitored = [c for c in getattr(trainer, "checkpoint_callbacks", []) if c.monitor]
        if monitored:  # conf/callbacks' model_checkpoint, whose best score final_metrics writes as <metric>_best
            self.monitor = {"metric": monitored[0].monitor, "mode": monitored[0].mode}

    def on_train_epoch_start(self, trainer, pl_module):
        self._complete_epoch(trainer)
        self._epoch_start = self._last_batch_end = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._last_batch_end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        # Callbacks' epoch-end hooks run before the LightningModule's, where tasks log their
        # epoch training metrics; so the row is completed at the next hook (_complete_epoch).
        self._pending = {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "train_time_s": round(self._last_batch_end - self._epoch_start, 6),
        }

    def _complete_epoch(self, trainer) -> None:
        if self._pending is None:
            return
        row, self._pending = self._pending, None
        row.update({k: to_number(v) for k, v in sorted(trainer.callback_metrics.items())})
        row["train_time_s"] = row.pop("train_time_s")
        self.history.append(row)
        if trainer.is_global_zero:
            self.write()

    def on_train_end(self, trainer, pl_module):
        self._complete_epoch(trainer)

    # -- end of run ------------------------------------------------------------------------
    def on_exception(self, trainer, pl_module, exception):
        self._complete_epoch(trainer)
        self.status = "interrupted" if is_interruption(exception) else "failed"
        self.error = describe(exception)
        if trainer.is_global_zero:
            self.write()

    def final_metrics(self, monitor: str | None, best_score, test_results: list[dict]) -> dict:
        """What ``final`` holds: the last epoch's metrics, ``<monitor>_best`` (the monitored metric's best
        value, once there is one: ``best_score`` None means none yet) and the test results."""
        final = {k: v for k, v in (self.history[-1] if self.history else {}).items() if "/" in k}
        if monitor and best_score is not None:
            final[monitor + BEST_SUFFIX] = best_score
        for results in test_results:
            final.update(results)
        return final

    def finish(self, status: str, final: dict, error: str | None = None) -> None:
        self.status = status
        self.final = {k: to_number(v) for k, v in final.items()}
        self.error = error
        self.write()

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "error": self.error,
            "final": self.final,
            "epochs_run": len(self.history),
            "epoch_train_time_s": [row["train_time_s"] for row in self.history],
            "history": self.history,
            "monitor": self.monitor,
            "started_at": self.started_at,
            "wall_time_s": self.wall_time_s(),
            **self.info,
        }

    def wall_time_s(self) -> float:
        """Seconds this run has taken so far, its earlier attempts up to the checkpoint it continues from included."""
        return round(self._earlier_wall_time_s + time.monotonic() - self._clock_start, 2)

    def write(self) -> None:
        write_atomic(self.path, json.dumps(self.as_dict(), indent=2, default=str))

    def state_dict(self):
        return {"history": self.history, "wall_time_s": self.wall_time_s()}

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        # ModelCheckpoint saves at train epoch end, after the task logged the epoch's metrics but
        # before this callback's next hook: complete the row now, or a resumed run would lack it.
        # (Lightning collects state_dict() before calling this hook, hence the replacement.)
        self._complete_epoch(trainer)
        if self.state_key in checkpoint.get("callbacks", {}):
            checkpoint["callbacks"][self.state_key] = self.state_dict()

    def load_state_dict(self, state_dict):
        if self.history:  # testing a checkpoint of this very run: keep the full history
            return
        self._restored_history = list(state_dict.get("history", []))
        earlier = state_dict.get("wall_time_s", 0.0)  # absent from checkpoints written before it was kept
        self._restored_wall_time_s = float(earlier) if isinstance(earlier, (int, float)) and earlier >= 0 else 0.0
