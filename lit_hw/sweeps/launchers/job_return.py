"""Hand a gpu_pool job's return value (or exception) back to the launcher process, as JSON.

The launcher adds ``SaveJobReturn`` to each job's ``hydra.callbacks`` and names a file in
``LIT_HW_JOB_RETURN``; Hydra calls ``on_job_end`` with the JobReturn in the job process, so
the launcher gets the task function's return value, as the basic launcher would.

The file lies in the job's dir, and a file in a sweep dir is data: whoever made the dir chose its
bytes. So it is JSON, never a pickle (unpickling runs whatever code the bytes name). It holds the
status, the return value when JSON holds it as it is (a number, a string, a bool, null, or a list of
those: what a sweeper such as Optuna optimizes), and for a failure the exception's type name and
message, which the launcher turns into a ``JobError`` carrying that one line (no class is looked up
by its name).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback

from lit_hw.config.hydra_adapter import return_value
from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.run_files import is_rank_zero

JOB_RETURN_ENV = "LIT_HW_JOB_RETURN"
JOB_RETURN_FILE = ".job_return.json"
SCALARS = (str, int, float, bool, type(None))


class JobError(CompactHydraException):
    """A job's exception as the job reported it: its type name and message, printed as one line."""


def _plain(value) -> Any:
    """``value`` if JSON holds it as it is; a numpy or torch scalar as its number; else None."""
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, SCALARS) for v in value):
        return list(value)
    try:
        number = value.item()  # numpy and torch scalars
    except (AttributeError, TypeError, ValueError, RuntimeError):
        return None
    return number if isinstance(number, (int, float)) else None


def encode(status: JobStatus, value) -> dict:
    """The JSON record of a job's end: status name, plain return value, or the exception's type and message."""
    record: dict[str, Any] = {"status": status.name}
    if isinstance(value, BaseException):
        record["error"] = {"type": type(value).__name__, "message": str(value)}
    else:
        record["value"] = _plain(value)
    return record


def decode(record) -> tuple[JobStatus, Any] | None:
    """(status, value or JobError) from ``encode``'s record; None if it is not such a record."""
    if not isinstance(record, dict) or record.get("status") not in JobStatus.__members__:
        return None
    status = JobStatus[record["status"]]
    error = record.get("error")
    if isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str):
        lines = [line.strip() for line in error["message"].splitlines() if line.strip()]
        return status, JobError(f"{error['type']}: {lines[0]}" if lines else error["type"])
    return status, _plain(record.get("value"))


def dumps(status: JobStatus, value) -> str:
    return json.dumps(encode(status, value))


class SaveJobReturn(Callback):
    def on_job_end(self, config, job_return: JobReturn, **kwargs: Any) -> None:
        path = os.environ.get(JOB_RETURN_ENV)
        if not path or not is_rank_zero():
            return
        write_atomic(path, dumps(job_return.status, return_value(job_return)))


def load_job_return(path: str | os.PathLike) -> tuple[JobStatus, Any] | None:
    """(status, return value or JobError) written by the job, or None if it wrote none (or the file
    holds something else)."""
    try:
        return decode(json.loads(Path(path).read_bytes()))
    except (OSError, ValueError, RecursionError):
        return None
