"""Hand a gpu_pool job's return value (or exception) back to the launcher process.

The launcher adds ``SaveJobReturn`` to each job's ``hydra.callbacks`` and names a file in
``LIT_HW_JOB_RETURN``; Hydra calls ``on_job_end`` with the JobReturn in the job process, so
the launcher gets the task function's real return value, as the basic launcher would.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.run_files import is_rank_zero

JOB_RETURN_ENV = "LIT_HW_JOB_RETURN"


class SaveJobReturn(Callback):
    def on_job_end(self, config, job_return: JobReturn, **kwargs: Any) -> None:
        path = os.environ.get(JOB_RETURN_ENV)
        if not path or not is_rank_zero():
            return
        value = job_return._return_value
        try:
            payload = pickle.dumps((job_return.status.name, value))
        except Exception:  # an unpicklable result or exception: keep what it said
            value = RuntimeError(repr(value)) if job_return.status == JobStatus.FAILED else None
            payload = pickle.dumps((job_return.status.name, value))
        write_atomic(path, payload)


def load_job_return(path: Path) -> tuple[JobStatus, Any] | None:
    """(status, return value or exception) written by the job, or None if it wrote none."""
    try:
        status, value = pickle.loads(Path(path).read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None
    return JobStatus[status], value
