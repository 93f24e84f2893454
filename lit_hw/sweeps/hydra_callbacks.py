"""Hydra callback: keep the sweep summary current and fail the multirun if a job failed.

The summary is rewritten after every job (so it exists even when a sweeper aborts on a
failed job, and can be read while a long sweep runs) and once more at the end, with the
TensorBoard images. A sweep where some job failed exits non-zero, after the summary.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.core.utils import JobReturn
from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from lit_hw.core.run_files import stop
from lit_hw.sweeps.resume import SweepDirHasResults, refuse_to_overwrite

# lit_hw.sweeps.summary (matplotlib, ~0.5 s) is imported where a summary is written: Hydra imports
# this module, through the gpu_pool launcher plugin, even for `python -m lit_hw.train --help`.

log = logging.getLogger(__name__)


class SweepFailed(CompactHydraException):
    """Printed as one line by Hydra; the multirun exits with status 1."""


def refresh_summary(sweep_dir) -> None:
    """Rewrite the summary tables (the figures are drawn at the sweep's end, or by lit_hw.report); a
    summary problem is logged, never raised (it must not stop a sweep)."""
    from lit_hw.sweeps.summary import write_summary

    try:
        write_summary(sweep_dir, figures=False)
    except Exception as err:
        log.warning("could not update the sweep summary: %s: %s", type(err).__name__, err)


class SweepSummary(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            refuse_to_overwrite(config.hydra.sweep.dir, bool(config.get("resume_sweep")))
        except SweepDirHasResults as err:
            stop(str(err))  # an exception raised here would only be a warning: Hydra goes on

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return  # a single run, or a gpu_pool job in its own process: the launcher side summarizes
        refresh_summary(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from lit_hw.sweeps.summary import UNFINISHED, write_summary

        sweep_dir = config.hydra.sweep.dir
        jobs = write_summary(sweep_dir, tensorboard=True)
        log.info("sweep summary: %s/summary.md", sweep_dir)
        bad = [job for job in jobs if job["status"] in UNFINISHED]
        if bad:
            raise SweepFailed(
                f"{len(bad)} of {len(jobs)} jobs did not finish ("
                + ", ".join(f"{job['job']}: {job['status']}" for job in bad)
                + f"); see {sweep_dir}/summary.md"
            )
