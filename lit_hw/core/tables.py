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


def csv_text(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([format_cell(c) if c is not None else "" for c in row] for row in rows)
    return text.getvalue()
