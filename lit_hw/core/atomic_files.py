"""Whole-file writes that readers never see half-done (a sweep summary reading a running job's
metrics.json, a job's return value read by its launcher)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temporary name per process and thread: two writers of one file (a summary refreshed from two
    # threads, a record written by a job and by its launcher) must not write into each other's
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
        tmp.replace(path)
    except BaseException:  # a full disk or a signal mid-write: no half-written leftover beside the file
        tmp.unlink(missing_ok=True)
        raise
    return path
