"""Reading a run dir's records: the one reader of metrics.json (written by lit_hw.callbacks.run_record)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

METRICS_FILE = "metrics.json"


def as_float(value) -> float:
    """A metric read back from metrics.json; NaN for a missing one. JSON has no NaN/inf, so the
    record keeps them as strings, which float() reads back."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_metrics(run_dir: str | Path) -> dict | None:
    """The run's metrics.json as a dict; None while it is missing or half-written (a run that never started)."""
    try:
        record = json.loads((Path(run_dir) / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


# what a finished or started run leaves in its dir (train: metrics.json ...; evaluate: test_metrics.json)
RUN_FILES = ("metrics.json", "test_metrics.json", "config_resolved.yaml", "checkpoints", "tensorboard")


def foreign_run_files(run_dir: Path, config) -> list[str]:
    """The files of another run in ``run_dir``, unless this run continues that one."""
    run_dir = Path(run_dir).resolve()
    present = [name for name in RUN_FILES if (run_dir / name).exists()]
    if not present or config.get("resume_sweep"):
        return []
    for continued in (config.get("resume"), config.get("ckpt_path")):
        if continued and (
            run_dir == Path(str(continued)).resolve() or run_dir in Path(str(continued)).resolve().parents
        ):
            return []
    return present


def unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold a run's files (created if missing), or None if it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".lit_hw_write_test_{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def stop(message: str) -> None:
    """Hydra turns a callback's exception into a warning and goes on: print the one line and exit instead."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


# set in the processes that Lightning's DDP starts for ranks > 0 (they run the same command again)
DDP_RANK_VARS = ("LOCAL_RANK", "RANK", "NODE_RANK", "SLURM_PROCID")


def is_rank_zero() -> bool:
    """False in the processes of ranks > 0 (Lightning's DDP relaunch, a SLURM task), which run the same job."""
    return all(int(os.environ.get(var, "0") or 0) == 0 for var in DDP_RANK_VARS)


class RunDirGuard(Callback):
    """Hydra callback: stop a single run whose run dir (an explicit ``hydra.run.dir``) holds another run's
    files, or cannot be written, before Hydra writes anything there. A gpu_pool job is a single run in
    a dir that its sweep (lit_hw.sweeps.resume) has already checked."""

    def on_run_start(self, config, **kwargs) -> None:
        run_dir = Path(str(config.hydra.run.dir))
        if os.environ.get("LIT_HW_GPU_POOL_SLOT") is not None or not is_rank_zero():
            return  # a gpu_pool job, or a DDP rank > 0 that Lightning started for a run already checked
        present = foreign_run_files(run_dir, config) if run_dir.is_dir() else []
        if present:
            stop(
                f"hydra.run.dir={run_dir} already holds another run ({', '.join(present)}); give a new "
                "hydra.run.dir, or resume=<that dir> to continue that run"
            )
        why = unwritable(run_dir)
        if why:
            stop(f"hydra.run.dir={run_dir} cannot be written ({why}); give a dir you can write to")

    def on_multirun_start(self, config, **kwargs) -> None:
        why = unwritable(Path(str(config.hydra.sweep.dir)))
        if why:
            stop(f"hydra.sweep.dir={config.hydra.sweep.dir} cannot be written ({why}); give a dir you can write to")
