"""gpu_pool with ``hydra.launcher.stacked=true``: each slot trains a whole stack at a time.

The jobs are grouped as hydra/launcher=stacked groups them (lit_hw.sweeps.stacking); a group
becomes one fresh ``python -m lit_hw.sweeps.stack_worker`` process on one slot (one GPU trains
one stack), and a job that cannot be stacked runs as gpu_pool's ordinary job. Each stacked job
still reports its own JobReturn, and the sweep callbacks (the summary) see it end.
"""

from __future__ import annotations

import logging
import pickle
import queue
import subprocess
import sys
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import read_write

from lit_hw.sweeps.launching import finished_job
from lit_hw.sweeps.stacking import StackedSweep

log = logging.getLogger(__name__)
STACKS_DIR = ".stacks"


def plan_units(pool, job_overrides, initial_job_idx: int) -> list[tuple[str, list]]:
    """("job", [(idx, overrides)]) for an ordinary job, ("stack", [(idx, overrides), ...]) for a group."""
    sweep = StackedSweep(pool.hydra_context, pool.task_function, pool.config)
    units = []
    for members in sweep.plan(job_overrides, initial_job_idx):
        jobs = [(idx, overrides) for idx, overrides, _ in members]
        units.append(("stack" if len(jobs) > 1 else "job", jobs))
    return units


def run_stack_on_slot(pool, jobs: list[tuple[int, list[str]]], slots: queue.Queue) -> list[JobReturn]:
    with pool.lock:
        composed = [(idx, overrides, *pool.job_config(overrides, idx)) for idx, overrides in jobs]
    sweep_dir = Path(str(composed[0][2].hydra.sweep.dir)).resolve()
    for _, _, config, run_dir in composed:
        with read_write(config.hydra.sweep):
            config.hydra.sweep.dir = str(sweep_dir)  # resolved here: ${now:...} would differ in the worker
        run_dir.mkdir(parents=True, exist_ok=True)
    folder = sweep_dir / STACKS_DIR
    folder.mkdir(exist_ok=True)
    first = jobs[0][0]
    spec, returns_file, console = (folder / f"{first}.{ext}" for ext in ("spec.pkl", "returns.pkl", "log"))
    returns_file.unlink(missing_ok=True)
    spec.write_bytes(pickle.dumps({"jobs": composed, "returns": str(returns_file)}))
    slot = slots.get()
    try:
        log.info("\tstack of %d (#%s) on slot '%s'", len(jobs), ",".join(str(i) for i, _ in jobs), slot or "cpu")
        started = time.perf_counter()
        with open(console, "w") as out:
            proc = subprocess.run(
                [sys.executable, "-m", "lit_hw.sweeps.stack_worker", str(spec)],
                env=pool.job_env(slot, returns_file),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    finally:
        slots.put(slot)
    reported = pickle.loads(returns_file.read_bytes()) if returns_file.is_file() else {}
    results = []
    for idx, overrides, config, run_dir in composed:
        status, value = reported.get(idx, ("FAILED", None))
        if idx not in reported:
            value = RuntimeError(f"the stack worker exited with status {proc.returncode} (log: {console})")
        ret = finished_job(overrides, config, run_dir, JobStatus[status], value)
        with pool.lock:  # callbacks (the sweep summary) one at a time, as for gpu_pool's ordinary jobs
            HydraConfig.instance().set_config(config)
            pool.hydra_context.callbacks.on_job_end(config=config, job_return=ret)
        results.append(ret)
    log.info("\tstack #%s done in %.1f s", ",".join(str(i) for i, _ in jobs), time.perf_counter() - started)
    return results
