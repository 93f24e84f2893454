"""Rebuild a sweep's summary: ``python -m lit_hw.report <sweep_dir>`` (finished or partial sweeps).

Writes summary.csv, summary.md, plots/*.png and TensorBoard images into the sweep dir
(see lit_hw.sweeps.summary) and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lit_hw.sweeps.summary import not_a_sweep_dir, write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lit_hw.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun dir, e.g. outputs/multirun/<date>/<time>")
    parser.add_argument("--no-tensorboard", action="store_true", help="skip the TensorBoard images")
    args = parser.parse_args(argv)
    refused = not_a_sweep_dir(args.sweep_dir)  # checked before anything is written
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    write_summary(args.sweep_dir, tensorboard=not args.no_tensorboard)
    print((args.sweep_dir / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
