"""Run a sweep's jobs in parallel, one fresh subprocess each, over slots of GPUs (or CPU cores).

Why a fresh process per job (measured on lightning 2.6.6 / hydra-core 1.3.8 / torch 2.14.1):
* ``CUDA_VISIBLE_DEVICES`` only works if it is set before the process initialises CUDA;
  worker-reusing launchers (joblib) cannot move a later job to another GPU.
* Lightning's ``ddp`` strategy relaunches ``sys.argv`` for ranks > 0. A job started as
  ``python -m lit_hw.train <its overrides> hydra.run.dir=<its dir>`` is a single run, so the
  relaunch repeats that one job, not the whole sweep.

Each slot is a ``CUDA_VISIBLE_DEVICES`` value ("0", or "0,1" for a 2-GPU DDP job) and runs
``jobs_per_slot`` jobs at a time. Without GPUs the slots are CPU slots and the cores are
split between the jobs running at once (OMP/MKL threads). A job's return value comes back
through a JSON file written by ``SaveJobReturn`` in the child; a job that crashes, or exits
non-zero, is a FAILED JobReturn like the basic launcher's, and the other jobs go on.

Each job runs in its own process group, so a job's DDP ranks can be signalled together and Ctrl-C
in a terminal reaches a job once, through the sweep. SIGTERM, SIGINT or SIGHUP to the sweep
(lit_hw.sweeps.launchers.sweep_signals) is passed on to every running job; no job starts after it; a job
gets ``interrupt_grace_s`` to record ``interrupted`` before it is killed (and recorded by the
launcher); then the summary is refreshed and the sweep exits 128 + the signal's number.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from lit_hw.config.cli import override_key, quote_override_value
from lit_hw.config.override_keys import SWEEP_ONLY_HYDRA_KEYS
from lit_hw.core.dir_lock import holder
from lit_hw.core.errors import ConfigError, UserError
from lit_hw.core.run_files import DDP_RUN_VARS, read_metrics
from lit_hw.sweeps.launchers.gpu_slots import resolve_slots, threads_per_job
from lit_hw.sweeps.launchers.job_process import run_job_process
from lit_hw.sweeps.launchers.job_return import JOB_RETURN_ENV, JOB_RETURN_FILE, SaveJobReturn, load_job_return
from lit_hw.sweeps.launchers.launching import (
    config_dir_arguments,
    entrypoint_command,
    finished_job,
    job_config,
    refused_job_return,
    stopped_job_return,
)
from lit_hw.sweeps.launchers.sweep_signals import SweepSignals, exit_interrupted, grace_seconds
from lit_hw.sweeps.summary.hydra_callback import refresh_summary

log = logging.getLogger(__name__)

CONSOLE_LOG = "console.log"


class JobFailed(CompactHydraException):
    """A gpu_pool job that exited non-zero without reporting its exception (e.g. a kill); one that refused
    a bad value (exit status 2, an ``error:`` line) is a UserError instead."""


class GpuPool:
    def __init__(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
        slots=None,
        jobs_per_slot: int = 1,
        cpu_slots=None,
        threads_per_job=None,
        entrypoint=None,
        interrupt_grace_s: float = 30,
    ):
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.config = config
        self.slots, self.on_cpu = resolve_slots(
            OmegaConf.to_object(slots) if OmegaConf.is_config(slots) else slots, cpu_slots
        )
        if int(jobs_per_slot) < 1:
            raise ConfigError(f"hydra.launcher.jobs_per_slot={jobs_per_slot} must be >= 1")
        self.jobs_per_slot = int(jobs_per_slot)
        self.threads = threads_per_job
        self.command = [*entrypoint_command(entrypoint), *config_dir_arguments(config)]
        # HydraConfig is a process-wide singleton that composing a job sets: one job at a time.
        self.lock = threading.Lock()
        self.grace_s = grace_seconds(interrupt_grace_s)
        self.signals = SweepSignals()  # held while launch() runs
        self.started: set[int] = set()  # the jobs this launch started, and those a signal stopped
        self.stopped: dict[int, Path] = {}  # job -> its run dir

    # -- one job ---------------------------------------------------------------------------------
    def job_config(self, overrides: Sequence[str], idx: int) -> tuple[DictConfig, Path]:
        return job_config(self.hydra_context, self.config, overrides, idx)

    def hydra_overrides_for_job(self) -> list[str]:
        """The sweep's own hydra.* overrides (logging, override_dirname, ...) minus the sweep-only ones."""
        hydra_overrides = OmegaConf.to_container(self.config.hydra.overrides.hydra, resolve=False) or []
        return [o for o in hydra_overrides if not override_key(o).startswith(SWEEP_ONLY_HYDRA_KEYS)]

    def job_env(self, slot: str, return_file: Path) -> dict:
        # a job starts its own process group: nothing of an enclosing distributed run may reach it
        env = {k: v for k, v in os.environ.items() if k not in DDP_RUN_VARS}
        env["CUDA_VISIBLE_DEVICES"] = slot
        threads = str(threads_per_job(len(self.slots) * self.jobs_per_slot, self.threads))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, LIT_HW_GPU_POOL_SLOT=slot)
        env[JOB_RETURN_ENV] = str(return_file)
        return env

    def run_process(self, command: list[str], env: dict, console: Path, what: str, stdin: bytes | None = None):
        """(exit status, whether a signal to the sweep stopped it) of one job's process (lit_hw.sweeps.launchers.job_process)."""
        return run_job_process(command, env, console, what, self.signals, self.grace_s, stdin)

    def run_one(self, overrides: Sequence[str], idx: int, slots: queue.Queue[str]) -> JobReturn | None:
        """The job's JobReturn; None if a signal stopped the sweep before the job started."""
        if self.signals.stopping:
            return None
        with self.lock:
            sweep_config, run_dir = self.job_config(overrides, idx)
        if self.signals.stopping:  # composing takes a while: no dir for a job that will not start
            return None
        owner = holder(run_dir)
        if owner:  # e.g. the orphan of a sweep killed with SIGKILL: its console.log must not be truncated
            return self.job_ended(sweep_config, refused_job_return(overrides, sweep_config, run_dir, owner))
        run_dir.mkdir(parents=True, exist_ok=True)
        return_file = run_dir / JOB_RETURN_FILE
        return_file.unlink(missing_ok=True)
        command = [
            *self.command,
            *overrides,
            *self.hydra_overrides_for_job(),
            f"hydra.run.dir={quote_override_value(str(run_dir.resolve()))}",
            f"hydra.job.num={idx}",
            f"hydra.job.id={idx}",
            f"+hydra.callbacks.gpu_pool_job_return._target_={SaveJobReturn.__module__}.{SaveJobReturn.__name__}",
        ]
        slot = slots.get()
        try:
            log.info("\t#%d on slot '%s' : %s", idx, slot or "cpu", " ".join(filter_overrides(overrides)))
            started = time.perf_counter()
            returncode, stopped = self.run_process(
                command, self.job_env(slot, return_file), run_dir / CONSOLE_LOG, f"job #{idx}"
            )
            seconds = time.perf_counter() - started
        finally:
            slots.put(slot)
        if returncode is None:
            return None
        self.started.add(idx)

        reported = load_job_return(return_file)
        if stopped and (reported is None or reported[0] != JobStatus.COMPLETED):
            self.stopped[idx] = run_dir
            name = signal.Signals(self.signals.signum).name
            with self.lock:  # records it interrupted, unless the job did, and refreshes the summary
                ret = stopped_job_return(
                    overrides,
                    sweep_config,
                    run_dir,
                    f"job #{idx} stopped by {name} to the sweep (exit status {returncode})",
                )
        else:
            status, value = reported or self.unreported_end(overrides, idx, returncode, run_dir)
            ret = finished_job(overrides, sweep_config, run_dir, status, value)
        if ret.status == JobStatus.COMPLETED and returncode != 0:
            ret.status = JobStatus.FAILED
            ret.return_value = JobFailed(f"job #{idx} exited with status {returncode} after finishing")
        log.info("\t#%d %s in %.1f s", idx, "interrupted" if idx in self.stopped else ret.status.name.lower(), seconds)
        return self.job_ended(sweep_config, ret)

    @staticmethod
    def unreported_end(overrides: Sequence[str], idx: int, returncode: int, run_dir: Path) -> tuple[JobStatus, object]:
        """(status, return value or exception) of a job that wrote no return file, from its exit status."""
        if returncode == 0:
            return JobStatus.COMPLETED, None
        if returncode == 2 and (refused := _error_line(run_dir / CONSOLE_LOG)):
            # the job refused a bad value in one line (lit_hw.config.cli.report_user_errors): bad input, which
            # the sweep reports as such (lit_hw.sweeps.summary.hydra_callback.SweepSummary), not a crash
            return JobStatus.FAILED, UserError(refused)
        return JobStatus.FAILED, JobFailed(
            f"job #{idx} ({' '.join(overrides)}) exited with status {returncode}: "
            f"{_last_line(run_dir / CONSOLE_LOG)} (log: {run_dir / CONSOLE_LOG})"
        )

    def job_ended(self, sweep_config: DictConfig, ret: JobReturn) -> JobReturn:
        with self.lock:  # callbacks (e.g. the sweep summary) run one at a time, as under the basic launcher
            HydraConfig.instance().set_config(sweep_config)
            self.hydra_context.callbacks.on_job_end(config=sweep_config, job_return=ret)
        return ret

    # -- the pool --------------------------------------------------------------------------------
    name = "gpu_pool"  # in the sweep's messages

    def plan_units(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[tuple[str, list]]:
        """The pool's units of work, each (kind, [(job number, overrides), ...]): here every job alone. A
        subclass may put several jobs in one unit (hydra/launcher=stacked with slots trains a stack per unit)."""
        return [("job", [(initial_job_idx + i, list(o))]) for i, o in enumerate(job_overrides)]

    def run_unit(self, unit: tuple[str, list], slots: queue.Queue) -> list[JobReturn | None]:
        """Each job's JobReturn of one unit (None: a signal stopped the sweep before it started)."""
        _, jobs = unit
        return [self.run_one(jobs[0][1], jobs[0][0], slots)]

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        slots: queue.Queue[str] = queue.Queue()
        for _ in range(self.jobs_per_slot):
            for slot in self.slots:
                slots.put(slot)
        width = len(self.slots) * self.jobs_per_slot
        log.info(
            "gpu_pool: %d jobs on %s slots %s x %d job(s) each",
            len(job_overrides),
            "CPU" if self.on_cpu else "GPU",
            [s or "cpu" for s in self.slots],
            self.jobs_per_slot,
        )

        self.started, self.stopped = set(), {}

        try:
            # held from before the units are planned (a subclass may compose every job, which takes a while)
            # until every thread is done, so that a signal at any point stops the jobs and ends in exit_interrupted
            with SweepSignals() as self.signals:
                units = self.plan_units(job_overrides, initial_job_idx)
                with ThreadPoolExecutor(max_workers=width, thread_name_prefix="gpu_pool") as pool:
                    results = list(pool.map(lambda unit: self.run_unit(unit, slots), units))
        except KeyboardInterrupt:  # SIGINT held elsewhere (a launch outside the main thread)
            refresh_summary(self.config.hydra.sweep.dir)
            raise
        if self.signals.stopping:
            interrupted = [d for d in self.stopped.values() if (read_metrics(d) or {}).get("status") == "interrupted"]
            exit_interrupted(
                self.name,
                self.signals.signum,
                interrupted=len(interrupted),
                not_started=len(job_overrides) - len(self.started),
                sweep_dir=self.config.hydra.sweep.dir,
            )
        by_job = {ret_idx: ret for unit, rets in zip(units, results)
                  for ret_idx, ret in zip((i for i, _ in unit[1]), rets)}  # fmt: skip
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return [by_job[initial_job_idx + i] for i in range(len(job_overrides))]


def _error_line(path: Path) -> str:
    """The message of the last ``error: ...`` line of a job's console log ('' if none)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.removeprefix("error: ") for line in reversed(lines) if line.startswith("error: ")), "")


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][-300:] if lines else ""
