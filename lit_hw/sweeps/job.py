"""What a training job does differently inside a sweep.

* Refuse Lightning strategies that relaunch ``sys.argv`` for ranks > 0 (``ddp``, ``fsdp``,
  ``deepspeed``) in a multirun whose launcher runs jobs inside the sweep process: rank 1
  would re-run the whole sweep (or, with Optuna, sample its own hyper-parameters) and the
  run would exit 0 with wrong results. gpu_pool starts each job as its own single run, and
  submitit starts one process per rank itself, so both are fine.
* Record a crash anywhere in a job (before, during or after ``trainer.fit``) as
  ``status: failed`` with the message in metrics.json, so the sweep summary shows it.
"""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from lit_hw.config.cli import in_multirun
from lit_hw.config.resolvers import device_count
from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.errors import SweepConfigError, describe, is_interruption
from lit_hw.core.kept_files import drop_kept_hydra_files, restore_hydra_files
from lit_hw.core.run_files import FINISHED, is_rank_zero, read_metrics

RELAUNCHING_STRATEGIES = ("ddp", "fsdp", "deepspeed")
# started by multiprocessing or fork, not by re-running the command line
NON_RELAUNCHING_STRATEGIES = ("ddp_spawn", "ddp_fork", "ddp_notebook", "fsdp_spawn")
# launchers whose jobs are separate processes that may safely relaunch themselves
SAFE_LAUNCHERS = ("GpuPoolLauncher", "SlurmLauncher")


def visible_gpus(accelerator) -> int:
    """The GPUs that ``trainer.devices=auto`` (or -1) takes in this process; none on the CPU."""
    if str(accelerator) == "cpu":
        return 0
    import torch

    return torch.cuda.device_count()


def refuse_ddp_that_reruns_the_sweep(cfg: DictConfig) -> None:
    if not in_multirun():
        return
    strategy = cfg.trainer.get("strategy")
    if not isinstance(strategy, str) or not strategy.startswith(RELAUNCHING_STRATEGIES):
        return
    if strategy.startswith(NON_RELAUNCHING_STRATEGIES):
        return
    devices = device_count(cfg.trainer.get("devices", 1), visible_gpus(cfg.trainer.get("accelerator")))
    if devices * int(cfg.trainer.get("num_nodes", 1) or 1) < 2:
        return
    launcher = str(HydraConfig.get().launcher.get("_target_", ""))
    if launcher.endswith(SAFE_LAUNCHERS):
        return
    raise SweepConfigError(
        f"trainer.strategy={strategy} with several devices relaunches the command line, which would re-run the "
        f"whole sweep under launcher {launcher.rsplit('.', 1)[-1] or '?'}; add hydra/launcher=gpu_pool "
        f"(or slurm), or use trainer.strategy=ddp_spawn"
    )


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


@contextlib.contextmanager
def failure_recorded(metrics_path: str | Path):
    """On an exception, make sure ``metrics_path`` says ``failed`` (or ``interrupted``), then re-raise.

    Ctrl-C ends a sweep under the basic launcher right here (Lightning turns it into SystemExit),
    before Hydra's end-of-sweep callbacks run: the sweep summary is brought up to date first.
    """
    try:
        yield
    except BaseException as err:
        # SIGTERMException too (a SystemExit): raised outside trainer.fit by hydra/launcher=stacked
        # (lit_hw.sweeps.launchers.sweep_signals), where no Lightning callback records it
        if is_rank_zero() and (isinstance(err, (Exception, KeyboardInterrupt)) or is_interruption(err)):
            record_failure(Path(metrics_path), err)
        if is_rank_zero() and isinstance(err, (KeyboardInterrupt, SystemExit)) and in_multirun():
            from lit_hw.sweeps.summary.hydra_callback import refresh_summary

            refresh_summary(HydraConfig.get().sweep.dir)
        if isinstance(err, SystemExit) and err.code is None and is_interruption(err):
            # Lightning's SIGTERMException is a SystemExit without a code: the process would exit 0, as a
            # finished run does (a scheduler or gpu_pool would take it for one); exit as SIGTERM's default does
            raise SystemExit(128 + signal.SIGTERM) from err
        raise


def record_failure(path: Path, err: BaseException, status: str | None = None, overrides=None) -> None:
    """Make ``path`` (a metrics.json) say ``failed`` or ``interrupted`` with the error, keeping its history.
    ``overrides``: the job's, for a record written from its launcher (whose HydraConfig is another job's)."""
    record = read_metrics(path.parent) or {
        "final": {},
        "epochs_run": 0,
        "history": [],
        "overrides": _overrides() if overrides is None else list(overrides),
    }
    if record.get("status") in FINISHED:
        # a finished run that this command failed to continue (resume=<its dir> with a bad checkpoint or
        # value) before training: its record and .hydra/ stay as they were; the error line says what failed
        restore_hydra_files(path.parent)
        return
    drop_kept_hydra_files(path.parent)
    if record.get("status") in ("failed", "interrupted") and record.get("error"):
        return  # the RunRecord callback already wrote what happened inside trainer.fit
    record["status"] = status or ("interrupted" if is_interruption(err) else "failed")
    record["error"] = describe(err)
    write_atomic(path, json.dumps(record, indent=2, default=str))
