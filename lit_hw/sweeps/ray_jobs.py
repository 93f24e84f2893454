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
* Ctrl-C brings the summary up to date.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf

from lit_hw.sweeps.hydra_callbacks import refresh_summary
from lit_hw.sweeps.launching import job_config, lost_job_return

log = logging.getLogger(__name__)
POLL_S = 2.0


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
    for i, overrides in enumerate(job_overrides):
        idx = initial_job_idx + i
        log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
        sweep_config, run_dir = job_config(launcher.hydra_context, launcher.config, overrides, idx)
        ref = task.remote(
            launcher.hydra_context, sweep_config, launcher.task_function, Singleton.get_state(), os.getcwd()
        )
        submitted.append((ref, overrides, sweep_config, run_dir, idx))
    try:
        return [collect(*job) for job in submitted]
    except KeyboardInterrupt:
        refresh_summary(sweep_dir)
        raise


def collect(ref, overrides, sweep_config: DictConfig, run_dir: Path, idx: int) -> JobReturn:
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:  # the worker died (killed, out of memory, lost node)
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return lost_job_return(overrides, sweep_config, run_dir, f"Ray job #{idx} ended without a result: {first_line}")


def as_dict(node) -> dict:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node or {})
