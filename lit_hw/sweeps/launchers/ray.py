"""``hydra/launcher=ray``: each job a Ray task, on a local Ray or an existing cluster (pip install -e '.[ray]').

lit_hw's own launch on Ray's scheduler, in place of hydra-ray-launcher's (which pins cloudpickle<3,
against scikit-learn's joblib, and waits forever on a job no node can run):
* GPUs are asked for only when the trainer uses them (conf/hydra/launcher/ray.yaml);
* a request that no alive node can hold fails the sweep within ``schedule_timeout_s`` (waiting
  that long for an autoscaler to add a node), with one line naming what was asked and what the
  nodes have;
* a job whose worker dies (killed, out of memory, a lost node) is recorded ``interrupted`` in its
  metrics.json, so ``resume_sweep=true`` continues it, and the others go on (Ray does not retry a
  job: a retried job would mix two attempts in one dir);
* jobs run in the sweep's working dir, so relative paths mean what they mean on the command line;
* SIGTERM, SIGINT or SIGHUP to the sweep (lit_hw.sweeps.launchers.sweep_signals) cancels every job: a running
  one gets KeyboardInterrupt and records ``interrupted``, a queued one never starts; a job still
  running ``interrupt_grace_s`` later is force-cancelled and recorded by the launcher; then the
  summary is brought up to date and the sweep exits 128 + the signal's number.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf

from lit_hw.core.run_files import read_metrics
from lit_hw.sweeps.launchers.launching import job_config, lost_job_return, stopped_job_return
from lit_hw.sweeps.launchers.sweep_signals import SweepSignals, exit_interrupted
from lit_hw.sweeps.summary.hydra_callback import refresh_summary

log = logging.getLogger(__name__)
POLL_S = 2.0
# how often the driver looks for a signal to the sweep while its jobs run
SIGNAL_POLL_S = 0.5


class RayRequestUnschedulable(CompactHydraException):
    """No node of the Ray cluster can hold a job's request; printed as one line."""


def start_ray(init: dict) -> None:
    import ray

    if ray.is_initialized():
        return
    # None means "Ray's default"; object_store_memory in particular must not be passed when joining a cluster
    ray.init(**{k: v for k, v in init.items() if v is not None}, log_to_driver=False)


def resource_request(remote: dict) -> dict[str, float]:
    request = {"CPU": float(remote.get("num_cpus") or 0), "GPU": float(remote.get("num_gpus") or 0)}
    if remote.get("memory"):
        request["memory"] = float(remote["memory"])
    request.update({k: float(v) for k, v in (remote.get("resources") or {}).items()})
    return {k: v for k, v in request.items() if v > 0}


def node_resources() -> list[dict[str, float]]:
    import ray

    return [
        {k: v for k, v in node["Resources"].items() if not k.startswith("node:") and k != "object_store_memory"}
        for node in ray.nodes()
        if node.get("Alive")
    ]


def fits(request: dict[str, float], node: dict[str, float]) -> bool:
    return all(node.get(key, 0.0) >= amount for key, amount in request.items())


def _short(resources: dict[str, float]) -> str:
    def amount(key, value):
        return f"{value / 2**30:.1f} GiB" if key == "memory" else f"{value:g}"

    return "{" + ", ".join(f"{k}: {amount(k, v)}" for k, v in sorted(resources.items())) + "}"


def wait_until_schedulable(request: dict[str, float], timeout_s: float) -> None:
    """Return once some alive node can hold ``request``; raise after ``timeout_s`` (an autoscaler may add one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = node_resources()
        if any(fits(request, node) for node in nodes):
            return
        if time.monotonic() >= deadline:
            raise RayRequestUnschedulable(
                f"no Ray node can run a job asking for {_short(request)}; the cluster's nodes have "
                f"{', '.join(_short(n) for n in nodes) or 'nothing'} (waited {timeout_s:g} s, "
                "hydra.launcher.schedule_timeout_s). Use trainer=cpu for no GPU, or lower hydra.launcher.ray.remote.*"
            )
        time.sleep(POLL_S)


def run_job_in_dir(hydra_context, sweep_config, task_function, singleton_state, working_dir: str) -> JobReturn:
    """The Ray task: one Hydra job, run in the sweep's working dir."""
    from hydra.core.hydra_config import HydraConfig

    os.chdir(working_dir)
    setup_globals()
    Singleton.set_state(singleton_state)
    HydraConfig.instance().set_config(sweep_config)
    return run_job(
        hydra_context=hydra_context,
        task_function=task_function,
        config=sweep_config,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def launch_on_ray(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
    import ray

    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    start_ray(launcher.init)
    remote = {**launcher.remote, "max_retries": 0}
    wait_until_schedulable(resource_request(remote), launcher.schedule_timeout_s)
    task = ray.remote(**remote)(run_job_in_dir)
    log.info(
        "Ray: %d jobs, each asking for %s, sweep dir %s",
        len(job_overrides),
        _short(resource_request(remote)),
        sweep_dir,
    )
    submitted = []
    try:
        with SweepSignals() as signals:
            for i, overrides in enumerate(job_overrides):
                if signals.stopping:  # no job starts after the signal
                    break
                idx = initial_job_idx + i
                log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
                sweep_config, run_dir = job_config(launcher.hydra_context, launcher.config, overrides, idx)
                ref = task.remote(
                    launcher.hydra_context, sweep_config, launcher.task_function, Singleton.get_state(), os.getcwd()
                )
                submitted.append((ref, overrides, sweep_config, run_dir, idx))
            by_ref = {job[0]: job for job in submitted}
            results = {}  # ref -> JobReturn, collected as each job ends (a lost job is recorded at once)

            def on_ready(ref) -> None:
                results[ref] = collect(*by_ref[ref])

            wait_for_jobs(list(by_ref), signals, launcher.interrupt_grace_s, on_ready)
        if signals.stopping:
            stop_sweep(signals.signum, submitted, results, len(job_overrides), sweep_dir)
        return [results[job[0]] for job in submitted]
    except KeyboardInterrupt:  # SIGINT held elsewhere (a launch outside the main thread)
        refresh_summary(sweep_dir)
        raise


def cancel(refs, force: bool) -> None:
    import ray

    for ref in refs:
        try:
            ray.cancel(ref, force=force)
        except Exception as err:  # it ended meanwhile: nothing to cancel
            log.debug("ray.cancel: %s: %s", type(err).__name__, err)


def wait_for_jobs(refs: list, signals: SweepSignals, grace_s: float, on_ready) -> None:
    """Return once every job has ended, calling ``on_ready(ref)`` for each that ends before a signal.
    On a signal to the sweep, cancel them all (a running job gets KeyboardInterrupt, which Lightning
    and lit_hw's job record as ``interrupted``; a queued one never starts); force-cancel those still
    running ``grace_s`` later, or at a second signal."""
    import ray

    pending, cancelled, deadline = list(refs), 0, math.inf
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=SIGNAL_POLL_S)
        if not signals.stopping:
            for ref in ready:
                on_ready(ref)
        if signals.count > cancelled:
            if cancelled == 0:
                log.info("%s: cancelling %d Ray job(s)", signal.Signals(signals.signum).name, len(pending))
                deadline = time.monotonic() + grace_s
            cancel(pending, force=cancelled > 0)  # a second signal: whoever sent it does not want to wait
            cancelled = signals.count
        elif pending and time.monotonic() > deadline:
            log.warning("%d Ray job(s) still ran %g s after the signal (hydra.launcher.interrupt_grace_s): "
                        "force-cancelled", len(pending), grace_s)  # fmt: skip
            cancel(pending, force=True)
            deadline = math.inf


def stop_sweep(signum: int, submitted: list, results: dict, total: int, sweep_dir: Path) -> None:
    """After a signal: record each submitted job that had not ended before it (not in ``results``) as
    ``interrupted``, unless it did so itself (a job that never started stays unstarted); then
    exit_interrupted."""
    import ray

    name = signal.Signals(signum).name
    unfinished = [job for job in submitted if job[0] not in results]
    interrupted, started = 0, len(submitted) - len(unfinished)
    for ref, overrides, sweep_config, run_dir, idx in unfinished:
        try:
            ray.get(ref, timeout=SIGNAL_POLL_S)  # a job that finished before the signal reached it
        except ray.exceptions.RayError as err:  # cancelled (GetTimeoutError too: force-cancelled, not gone yet)
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            stopped_job_return(overrides, sweep_config, run_dir, f"Ray job #{idx} stopped by {name}: {first_line}")
        record = read_metrics(run_dir)
        started += record is not None or (run_dir / ".hydra").is_dir()
        interrupted += (record or {}).get("status") == "interrupted"
    exit_interrupted("ray", signum, interrupted=interrupted, not_started=total - started, sweep_dir=sweep_dir)


def collect(ref, overrides, sweep_config: DictConfig, run_dir: Path, idx: int) -> JobReturn:
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:  # the worker died (killed, out of memory, lost node)
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return lost_job_return(overrides, sweep_config, run_dir, f"Ray job #{idx} ended without a result: {first_line}")


def as_dict(node) -> dict:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node or {})
