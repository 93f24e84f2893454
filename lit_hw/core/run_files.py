"""Reading a run dir's records: the one reader of metrics.json (written by lit_hw.callbacks.run_record)."""

from __future__ import annotations

import json
import math
from pathlib import Path

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
