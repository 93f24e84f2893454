"""What lit_hw's launchers (gpu_pool, slurm, ray) share on the launching side: a job's composed
config and dir, and a record for a job that ended without reporting back (killed, cancelled, lost)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from lit_hw.core.dir_lock import DirInUse
from lit_hw.core.run_files import FINISHED, read_metrics
from lit_hw.sweeps.job import record_failure
from lit_hw.sweeps.summary.hydra_callback import refresh_summary


class JobLost(CompactHydraException):
    """A job that ended without returning (killed, cancelled, its node lost); one line in Hydra's output."""


def entrypoint_command(entrypoint: str | None = None) -> list[str]:
    """How this process was started (``python -m lit_hw.train`` or a script), or ``python -m <entrypoint>``:
    a launcher starts each job the same way, and a stopped sweep says how to continue it."""
    if entrypoint:
        return [sys.executable, "-m", entrypoint]
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is not None and spec.name:
        return [sys.executable, "-m", spec.name.removesuffix(".__main__")]
    return [sys.executable, str(Path(sys.argv[0]).resolve())]


def config_dir_arguments(config: DictConfig) -> list[str]:
    """``--config-dir <dir>`` for each config dir the sweep's command line added (a user's own conf/ with
    their model= and data=): a job started as a fresh process composes from the same dirs."""
    sources = OmegaConf.select(config, "hydra.runtime.config_sources") or []
    added = [s.path for s in sources if s.provider == "command-line" and s.schema == "file"]
    return [arg for path in added for arg in ("--config-dir", path)]


def job_config(
    hydra_context: HydraContext, config: DictConfig, overrides: Sequence[str], idx
) -> tuple[DictConfig, Path]:
    """The job's composed config and run dir, exactly as the basic launcher composes them.
    Sets the process-wide HydraConfig (one job at a time)."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = idx
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    subdir = str(OmegaConf.select(sweep_config, "hydra.sweep.subdir"))
    run_dir = Path(str(OmegaConf.select(sweep_config, "hydra.sweep.dir"))) / subdir
    with read_write(sweep_config.hydra.runtime), open_dict(sweep_config.hydra.runtime):
        sweep_config.hydra.runtime.output_dir = str(run_dir.resolve())
    return sweep_config, run_dir


def without_hydra(config: DictConfig) -> DictConfig:
    task_cfg = config.copy()
    with read_write(task_cfg), open_dict(task_cfg):
        del task_cfg["hydra"]
    return task_cfg


def finished_job(overrides, job_config: DictConfig, run_dir: Path, status: JobStatus, value) -> JobReturn:
    """The JobReturn Hydra's run_job would have given this job; its working dir is, as there, the job's
    dir with ``hydra.job.chdir=true``, else the dir the sweep was started in (a job does not move)."""
    ret = JobReturn(
        overrides=list(overrides),
        cfg=without_hydra(job_config),
        hydra_cfg=job_config,
        working_dir=str(run_dir) if job_config.hydra.job.get("chdir") else os.getcwd(),
        task_name=job_config.hydra.job.name,
    )
    ret.status, ret.return_value = status, value
    return ret


def lost_job_return(overrides: Sequence[str], sweep_config: DictConfig, run_dir: Path, message: str) -> JobReturn:
    """Record a job that ended without reporting back as ``interrupted`` in its metrics.json (an
    exception would have reported back: this one was killed, cancelled or lost its node), so the
    summary shows it and ``resume_sweep=true`` continues it; return it as a FAILED JobReturn."""
    error = JobLost(message)
    record_failure(run_dir / "metrics.json", error, status="interrupted", overrides=overrides)
    refresh_summary(sweep_config.hydra.sweep.dir)
    return finished_job(overrides, sweep_config, run_dir, JobStatus.FAILED, error)


def stopped_job_return(overrides: Sequence[str], sweep_config: DictConfig, run_dir: Path, message: str) -> JobReturn:
    """A job that a signal to the sweep stopped (lit_hw.sweeps.launchers.sweep_signals), as lost_job_return records
    it; but a job that had finished keeps its record, and one that left nothing in its dir (stopped
    before it started) stays unstarted, so that the summary lists it as pending."""
    record = read_metrics(run_dir)
    if record is None and not (run_dir / ".hydra").is_dir():
        return finished_job(overrides, sweep_config, run_dir, JobStatus.FAILED, JobLost(message))
    if record is not None and record.get("status") in FINISHED:
        return finished_job(overrides, sweep_config, run_dir, JobStatus.COMPLETED, None)
    return lost_job_return(overrides, sweep_config, run_dir, message)


def refused_job_return(overrides: Sequence[str], sweep_config: DictConfig, run_dir: Path, owner: str) -> JobReturn:
    """A job whose dir a live process still holds (lit_hw.core.dir_lock): not started, nothing there touched."""
    error = DirInUse(
        f"job dir {run_dir} is in use by another lit_hw process ({owner}); wait for it to end, then resume_sweep=true"
    )
    return finished_job(overrides, sweep_config, run_dir, JobStatus.FAILED, error)
