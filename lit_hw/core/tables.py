"""The one way lit_hw writes a table, as Markdown or CSV (sweep summaries, REPORT.md, toy comparison)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence


def format_cell(value) -> str:
    """Floats with 4 significant digits (NaN: empty), lists joined by spaces, None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(format_cell(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_cell(value) -> str:
    """Like format_cell, but floats keep every digit: a CSV is read back by programs, and a mean
    recomputed from its rows must equal the mean it reports."""
    if isinstance(value, float) and not math.isnan(value):
        return repr(value)
    return format_cell(value) if value is not None else ""


def csv_text(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return text.getvalue()
