"""``hydra/launcher=stacked hydra.launcher.slots=...`` (or ``cpu_slots=...``): stacks on gpu_pool's slots.

The jobs are grouped as hydra/launcher=stacked groups them (lit_hw.stacked.grouping); a group
becomes one fresh ``python -m lit_hw.stacked.worker`` process on one slot (one GPU trains
one stack), and a job that cannot be stacked runs as gpu_pool's ordinary job. Each stacked job
still reports its own JobReturn, and the sweep callbacks (the summary) see it end. StackedPool is
gpu_pool (lit_hw.sweeps.launchers.gpu_pool) with its units of work planned and run here: gpu_pool
itself knows nothing of stacks.

The worker gets its composed jobs as a pickle on its standard input (from this process, never
through a file: a file in a sweep dir is data, and unpickling runs code), and reports each job's
end as JSON (lit_hw.sweeps.launchers.job_return). A signal to the sweep reaches the worker as it reaches an
ordinary job (GpuPool.run_process); the worker records every member of its stack ``interrupted``.
"""

from __future__ import annotations

import json
import logging
import pickle
import queue
import signal
import sys
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import read_write

from lit_hw.stacked.grouping import StackedSweep
from lit_hw.sweeps.launchers.gpu_pool import GpuPool
from lit_hw.sweeps.launchers.job_return import decode
from lit_hw.sweeps.launchers.launching import finished_job, stopped_job_return

log = logging.getLogger(__name__)
STACKS_DIR = ".stacks"


class StackedPool(GpuPool):
    """gpu_pool whose units are stacks: each group of stackable jobs (at most ``max_stack``) is one unit."""

    name = "stacked"

    def __init__(self, *, max_stack: int | None = None, **pool_options):
        super().__init__(**pool_options)
        self.sweep = StackedSweep(self.hydra_context, self.task_function, self.config, max_stack=max_stack)

    def plan_units(self, job_overrides, initial_job_idx: int) -> list[tuple[str, list]]:
        """("job", [(idx, overrides)]) for an ordinary job, ("stack", [(idx, overrides), ...]) for a group."""
        units = []
        for members in self.sweep.plan(job_overrides, initial_job_idx):
            jobs = [(idx, overrides) for idx, overrides, _ in members]
            size = self.sweep.max_stack or len(jobs)
            for start in range(0, len(jobs), size):
                chunk = jobs[start : start + size]
                units.append(("stack" if len(chunk) > 1 else "job", chunk))
        return units

    def run_unit(self, unit, slots: queue.Queue) -> list[JobReturn | None]:
        kind, jobs = unit
        if kind == "stack":
            return run_stack_on_slot(self, jobs, slots)
        return super().run_unit(unit, slots)


def read_returns(path: Path) -> dict[int, tuple]:
    """{job number: (status, value or JobError)} as the stack worker wrote them; {} if it wrote none."""
    try:
        report = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(report, dict):
        return {}
    decoded = {int(idx): decode(record) for idx, record in report.items() if str(idx).isdigit()}
    return {idx: ret for idx, ret in decoded.items() if ret is not None}


def run_stack_on_slot(pool, jobs: list[tuple[int, list[str]]], slots: queue.Queue) -> list[JobReturn | None]:
    """Each job's JobReturn; Nones if a signal stopped the sweep before the stack started."""
    if pool.signals.stopping:
        return [None] * len(jobs)
    with pool.lock:
        composed = [(idx, overrides, *pool.job_config(overrides, idx)) for idx, overrides in jobs]
    if pool.signals.stopping:  # composing takes a while: no dirs for jobs that will not start
        return [None] * len(jobs)
    sweep_dir = Path(str(composed[0][2].hydra.sweep.dir)).resolve()
    for _, _, config, run_dir in composed:
        with read_write(config.hydra.sweep):
            config.hydra.sweep.dir = str(sweep_dir)  # resolved here: ${now:...} would differ in the worker
        run_dir.mkdir(parents=True, exist_ok=True)
    folder = sweep_dir / STACKS_DIR
    folder.mkdir(exist_ok=True)
    first = jobs[0][0]
    returns_file, console = folder / f"{first}.returns.json", folder / f"{first}.log"
    returns_file.unlink(missing_ok=True)
    spec = pickle.dumps({"jobs": composed, "returns": str(returns_file)})
    slot = slots.get()
    try:
        log.info("\tstack of %d (#%s) on slot '%s'", len(jobs), ",".join(str(i) for i, _ in jobs), slot or "cpu")
        started = time.perf_counter()
        returncode, stopped = pool.run_process(
            [sys.executable, "-m", "lit_hw.stacked.worker"],
            pool.job_env(slot, returns_file),
            console,
            f"stack #{first}",
            stdin=spec,
        )
    finally:
        slots.put(slot)
    if returncode is None:
        return [None] * len(jobs)
    pool.started.update(idx for idx, _ in jobs)
    reported = read_returns(returns_file)
    results = []
    for idx, overrides, config, run_dir in composed:
        if idx in reported:
            ret = finished_job(overrides, config, run_dir, *reported[idx])
        elif stopped:
            pool.stopped[idx] = run_dir
            name = signal.Signals(pool.signals.signum).name
            message = f"job #{idx} stopped by {name} to the sweep, in stack #{first} (log: {console})"
            with pool.lock:  # records it interrupted, unless the worker did, and refreshes the summary
                ret = stopped_job_return(overrides, config, run_dir, message)
        else:
            error = RuntimeError(f"the stack worker exited with status {returncode} (log: {console})")
            ret = finished_job(overrides, config, run_dir, JobStatus.FAILED, error)
        with pool.lock:  # callbacks (the sweep summary) one at a time, as for gpu_pool's ordinary jobs
            HydraConfig.instance().set_config(config)
            pool.hydra_context.callbacks.on_job_end(config=config, job_return=ret)
        results.append(ret)
    log.info("\tstack #%s done in %.1f s", ",".join(str(i) for i, _ in jobs), time.perf_counter() - started)
    return results
