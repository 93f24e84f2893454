"""Regenerate the whole write-up: ``python -m lit_hw.reproduce [fast=true]`` (or ``make reproduce``).

Runs every section of the assignment as ``python -m lit_hw.train`` subprocesses and writes
<report_dir>/REPORT.md (lit_hw.experiments.reproduce).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from lit_hw.config.cli import refuse_unreadable_overrides, report_user_errors
from lit_hw.experiments.reproduce import reproduce


@hydra.main(version_base="1.3", config_path="../conf", config_name="reproduce")
@report_user_errors
def main(cfg: DictConfig):
    reproduce(cfg)


if __name__ == "__main__":
    refuse_unreadable_overrides(sys.argv)  # one line, not Hydra's parser report, for what it cannot read
    main()
