"""Hydra callback: keep the sweep summary current and fail the multirun if a job failed.

The summary is rewritten after every job (so it exists even when a sweeper aborts on a
failed job, and can be read while a long sweep runs) and once more at the end, with the
TensorBoard images. A job that refused a bad value (a UserError) is one ``error:`` line,
naming the job, as soon as it ends; the other jobs go on. A sweep where some job failed
exits non-zero, after the summary: 2 when every failure was bad input, 1 otherwise (a
crash is raised by Hydra's sweeper, with its traceback, as before).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from lit_hw.config.cli import override_key
from lit_hw.config.hydra_adapter import return_value
from lit_hw.config.resolvers import swept_keys
from lit_hw.core.errors import UserError, print_error
from lit_hw.core.run_files import stop
from lit_hw.sweeps.resume import (
    SweepDirHasResults,
    keep_finished_jobs_records,
    refuse_changed_arguments,
    refuse_to_overwrite,
)

# lit_hw.sweeps.summary.tables (matplotlib, ~0.5 s) is imported where a summary is written: Hydra imports
# this module, through the gpu_pool launcher plugin, even for `python -m lit_hw.train --help`.

log = logging.getLogger(__name__)


def refresh_summary(sweep_dir) -> None:
    """Rewrite the summary tables (the figures are drawn at the sweep's end, or by lit_hw.report); a
    summary problem is logged, never raised (it must not stop a sweep)."""
    from lit_hw.sweeps.summary.tables import write_summary

    try:
        write_summary(sweep_dir, figures=False)
    except Exception as err:
        log.warning("could not update the sweep summary: %s: %s", type(err).__name__, err)


def job_label(config: DictConfig, overrides) -> str:
    """``job #1 (optim.lr=abc)``: the job's number and the values the sweep gives it (all its overrides
    when the swept keys are not known)."""
    overrides = list(overrides or [])
    try:
        swept = swept_keys(config)
    except Exception:  # a naming problem must not hide the error it names
        swept = set()
    mine = [o for o in overrides if override_key(o) in swept] or overrides
    return f"job #{config.hydra.job.num} ({' '.join(mine)})"


class SweepSummary(Callback):
    def __init__(self) -> None:
        self.refused: set[int] = set()  # numbers of the jobs that ended on bad input, each said in its line

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = config.hydra.sweep.dir
        try:
            refuse_to_overwrite(sweep_dir, bool(config.get("resume_sweep")))
            if config.get("resume_sweep"):
                refuse_changed_arguments(sweep_dir, list(config.hydra.overrides.task))
        except SweepDirHasResults as err:
            stop(str(err))  # an exception raised here would only be a warning: Hydra goes on
        if config.get("resume_sweep"):
            keep_finished_jobs_records(sweep_dir)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return  # a single run, or a gpu_pool job in its own process: the launcher side summarizes
        error = return_value(job_return)  # the property would print Hydra's own line and raise it
        if (
            job_return.status == JobStatus.FAILED
            and isinstance(error, UserError)
            and os.environ.get("LIT_HW_DEBUG") != "1"
        ):
            print_error(f"{job_label(config, job_return.overrides)}: {error}")
            self.refused.add(int(config.hydra.job.num))
            # Hydra's sweeper re-raises a failed job's exception once the batch is done: a traceback and
            # exit 1 for a bad value, which is not a bug. Its line is out and its metrics.json says
            # failed (lit_hw.sweeps.job.failure_recorded), so the sweeper is told it finished, with no
            # value (an Optuna trial fails on that); on_multirun_end sets the exit status.
            job_return.status, job_return.return_value = JobStatus.COMPLETED, None
        refresh_summary(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from lit_hw.sweeps.summary.tables import UNFINISHED, write_summary

        sweep_dir = config.hydra.sweep.dir
        jobs = write_summary(sweep_dir, tensorboard=True)
        log.info("sweep summary: %s/summary.md", sweep_dir)
        bad = [job for job in jobs if job["status"] in UNFINISHED]
        if any(job["num"] not in self.refused for job in bad):
            # SystemExit, not an exception: Hydra turns a callback's exception into a warning and exits 0
            print_error(
                f"{len(bad)} of {len(jobs)} jobs did not finish ("
                + ", ".join(f"{job['job']}: {job['status']}" for job in bad)
                + f"); see {sweep_dir}/summary.md"
            )
            raise SystemExit(1)
        if bad:
            raise SystemExit(2)  # every job that failed refused a bad value, and its line said which
