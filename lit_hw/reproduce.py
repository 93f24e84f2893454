"""Regenerate the whole write-up: ``python -m lit_hw.reproduce [fast=true]`` (or ``make reproduce``).

Runs every section of the assignment as ``python -m lit_hw.train`` subprocesses and writes
<report_dir>/REPORT.md (lit_hw.experiments.reproduce).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from lit_hw.config.cli import refuse_unreadable_overrides, report_user_errors
from lit_hw.config.config_dir import config_dir
from lit_hw.experiments.reproduce import reproduce


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="reproduce")
@report_user_errors
def main(cfg: DictConfig):
    reproduce(cfg)


def cli() -> None:
    """``python -m`` and the console script (pyproject.toml's [project.scripts]) start here."""
    refuse_unreadable_overrides(sys.argv)  # one line, not Hydra's parser report, for what it cannot read
    main()


if __name__ == "__main__":
    cli()
