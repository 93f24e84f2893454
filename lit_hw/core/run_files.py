"""Reading a run dir's records: the one reader of metrics.json (written by lit_hw.callbacks.run_record)."""

from __future__ import annotations

import json
import math
import os
import reprlib
import sys
from pathlib import Path

from lit_hw.core.errors import print_error

METRICS_FILE = "metrics.json"


def as_float(value) -> float:
    """A metric read back from metrics.json; NaN for a missing one. JSON has no NaN/inf, so the
    record keeps them as strings, which float() reads back."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer past float's range
        return math.nan


class UnreadableRecord(ValueError):
    """A metrics.json that exists but holds no record: cut short, not JSON, or JSON but not an object."""


def load_metrics(run_dir: str | Path) -> dict | None:
    """The run's metrics.json as a dict; None when there is none (a run that never started).
    Raises UnreadableRecord, saying why, when the file is there but cannot be read as a record."""
    path = Path(run_dir) / METRICS_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UnreadableRecord(f"cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        record = json.loads(data)
    except (ValueError, RecursionError) as err:  # RecursionError: arrays nested thousands deep
        raise UnreadableRecord(f"not JSON ({str(err)[:120]})") from None
    if not isinstance(record, dict):
        raise UnreadableRecord(f"JSON {type(record).__name__}, not an object")
    return record


def read_metrics(run_dir: str | Path) -> dict | None:
    """The run's metrics.json as a dict; None while it is missing or cannot be read (a run that never
    started). Where an unreadable record must not pass for a missing one, use load_metrics."""
    try:
        return load_metrics(run_dir)
    except UnreadableRecord:
        return None


# what RunRecord writes (lit_hw.callbacks.run_record), also lit_hw.sweeps.job.record_failure
RECORD_STATUSES = ("running", "ok", "diverged", "interrupted", "failed")
# a record's final <metric>_best (val/acc_best): the monitored metric's value at the best checkpoint
BEST_SUFFIX = "_best"
# how RunRecord writes a non-finite metric (str of the float): JSON has no NaN/inf
NON_FINITE = ("nan", "inf", "-inf")


def is_number(value) -> bool:
    """An int or float that float() takes (a bool is JSON's true/false, not a number)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max  # JSON integers have no bound; float() overflows past it
    return isinstance(value, float)


def is_metric(value) -> bool:
    """A metric as RunRecord writes it: a number, a non-finite one as its string, or null for none."""
    return value is None or is_number(value) or value in NON_FINITE


def history_problem(history) -> str | None:
    """Why a record's ``history`` is not a list of epoch rows (an int ``epoch``, numeric metrics), or None."""
    if not isinstance(history, list):
        return f"history is a {type(history).__name__}, not a list"
    for i, row in enumerate(history):
        if not isinstance(row, dict):
            return f"history[{i}] is a {type(row).__name__}, not an object"
        if isinstance(row.get("epoch"), bool) or not isinstance(row.get("epoch"), int):
            return f"history[{i}] has no whole-number epoch"
        bad = next((k for k, v in row.items() if ("/" in k or k == "train_time_s") and not is_metric(v)), None)
        if bad is not None:
            return f"history[{i}][{reprlib.repr(bad)}] is not a number"
    return None


def record_problem(record: dict) -> str | None:
    """Why a metrics.json object is not a record that RunRecord could have written, or None. Fields a
    record may lack (an older or a failure record) are not required; only the status is."""
    status = record.get("status")
    if status not in RECORD_STATUSES:
        return f"status {reprlib.repr(status)} is none of {', '.join(RECORD_STATUSES)}"
    if not isinstance(record.get("error"), (str, type(None))):
        return "error is not a string"
    final = record.get("final", {})
    if not isinstance(final, dict):
        return f"final is a {type(final).__name__}, not an object"
    bad = next((k for k, v in final.items() if not is_metric(v)), None)
    if bad is not None:
        return f"final[{reprlib.repr(bad)}] is not a number"
    problem = history_problem(record.get("history", []))
    if problem:
        return problem
    return field_type_problem(record)


def field_type_problem(record: dict) -> str | None:
    """Why one of the record's other fields that readers use has the wrong type, or None."""
    epochs_run = record.get("epochs_run", 0)
    if isinstance(epochs_run, bool) or not isinstance(epochs_run, int) or epochs_run < 0:
        return "epochs_run is not a whole number >= 0"
    times = record.get("epoch_train_time_s", [])
    if not isinstance(times, list) or not all(is_number(t) for t in times):
        return "epoch_train_time_s is not a list of numbers"
    overrides = record.get("overrides")
    if overrides is not None and (not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides)):
        return "overrides is not a list of strings"
    if not (record.get("wall_time_s") is None or is_number(record["wall_time_s"])):
        return "wall_time_s is not a number"
    if not isinstance(record.get("started_at"), (str, type(None))):
        return "started_at is not a string"
    return None


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
    print_error(message)
    raise SystemExit(2)


# set in each process of a distributed run: by Lightning's DDP for the ranks > 0 it starts (they run the
# same command again), by torchrun for every rank
DDP_RANK_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")
# the rest of a distributed run's description; a process started inside such a run (a launcher's job)
# must be given none of these, or it would take itself for one of that run's ranks
DDP_RUN_VARS = (*DDP_RANK_VARS, "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_PORT", "TORCHELASTIC_RUN_ID")
# a SLURM task's number (srun starts one process per task); SLURM's other variables describe the
# allocation, which a job started inside it shares
SLURM_RANK_VAR = "SLURM_PROCID"


def is_rank_zero() -> bool:
    """False in the processes of ranks > 0 (Lightning's DDP relaunch, a SLURM task), which run the same job."""
    return all(int(os.environ.get(var, "0") or 0) == 0 for var in (*DDP_RANK_VARS, SLURM_RANK_VAR))


# the statuses of a run that ended by itself: resume_sweep keeps such a job, a failed resume leaves it alone
FINISHED = ("ok", "diverged")


def run_finished(run_dir: str | Path) -> bool:
    return (read_metrics(run_dir) or {}).get("status") in FINISHED


def continued_run_dir(config) -> Path | None:
    """The run dir a run continues: ``resume=<dir>``, or the run that ``ckpt_path=<dir>/checkpoints/x.ckpt`` is from."""
    if config.get("resume"):
        return Path(str(config.resume))
    ckpt = Path(str(config.ckpt_path)) if config.get("ckpt_path") else None
    return ckpt.parents[1] if ckpt is not None and ckpt.parent.name == "checkpoints" else None
