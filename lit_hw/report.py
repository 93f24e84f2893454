"""Rebuild a sweep's summary: ``python -m lit_hw.report <sweep_dir>`` (finished or partial sweeps).

Writes summary.csv, summary.md, plots/*.png and TensorBoard images into the sweep dir
(see lit_hw.sweeps.summary.tables) and prints the table.

Exit status: 0; 2 when the dir is not a sweep dir (nothing written); 1 when some job's metrics.json
cannot be read (cut short, not JSON, fields of the wrong type): the summary is still written, with
that job ``unreadable``, and stderr gets one warning line per such file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lit_hw.core.errors import print_error
from lit_hw.core.run_files import METRICS_FILE
from lit_hw.sweeps.summary.tables import not_a_sweep_dir, write_summary


def unreadable_warnings(jobs: list[dict]) -> list[str]:
    """One line per job whose metrics.json could not be read, naming the file and why."""
    return [
        f"warning: cannot read {job['dir'] / METRICS_FILE}: {job['unreadable']}; job {job['job']} is listed as unreadable"
        for job in jobs
        if job["status"] == "unreadable"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lit_hw.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun dir, e.g. outputs/multirun/<date>/<time>")
    parser.add_argument("--no-tensorboard", action="store_true", help="skip the TensorBoard images")
    args = parser.parse_args(argv)
    refused = not_a_sweep_dir(args.sweep_dir)  # checked before anything is written
    if refused:
        print_error(refused)
        return 2
    jobs = write_summary(args.sweep_dir, tensorboard=not args.no_tensorboard)
    print((args.sweep_dir / "summary.md").read_text())
    warnings = unreadable_warnings(jobs)
    for line in warnings:
        print(line, file=sys.stderr)
    return 1 if warnings else 0


if __name__ == "__main__":
    sys.exit(main())
