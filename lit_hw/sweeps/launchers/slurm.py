"""``hydra/launcher=slurm``: hydra-submitit-launcher's SLURM launcher, with a launch that a user can trust.

Over the plugin's own ``launch`` (submit an array, then block on each job's ``results()``):
* a request the cluster cannot meet (sbatch refuses it) is one line naming what was asked;
* jobs are followed with ``squeue``, not only ``sacct``: on a cluster without accounting,
  submitit cannot tell that a cancelled or killed job has ended and waits forever. A job that
  left the queue without a result (cancelled, preempted, killed, its node lost: an exception
  would have left one) is recorded ``interrupted`` in its metrics.json and the summary, so
  ``resume_sweep=true`` continues it from its last.ckpt, and the others go on;
* submitit's "Bypassing sacct error" warning, logged at every poll on such clusters, is said once;
* Ctrl-C brings the summary up to date and says that the jobs keep running on the cluster.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.errors import CompactHydraException
from omegaconf import OmegaConf

from lit_hw.run.console import drop_log_messages
from lit_hw.sweeps.launchers.launching import job_config, lost_job_return
from lit_hw.sweeps.summary.hydra_callback import refresh_summary

log = logging.getLogger(__name__)
# resources named in the one-line error when SLURM refuses a request
REQUEST_KEYS = ("partition", "nodes", "tasks_per_node", "cpus_per_task", "gpus_per_node", "mem_gb", "timeout_min")
# squeue states of a job that still runs or will run; any other state, or none, means it is ending
ALIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING")
POLL_S = 2.0
# a job that left the queue may still be writing its result file (a shared filesystem lags)
RESULT_GRACE_S = 30.0


class SlurmRequestRefused(CompactHydraException):
    """sbatch refused the jobs' resource request; printed as one line."""


def sacct_works() -> bool:
    """False on clusters without accounting, where submitit's state polling only prints errors."""
    drop_log_messages("submitit", "Bypassing sacct error")  # per poll; lit_hw says it once instead
    if (
        shutil.which("sacct") is None
        or subprocess.run(["sacct", "-n", "-X", "-S", "now"], capture_output=True).returncode
    ):
        log.info("SLURM accounting (sacct) is not available: lit_hw follows the jobs with squeue")
        return False
    return True


def result_written(job) -> bool:
    """Every task of the job has written its result (a DDP job has one per rank)."""
    return all(job.task(k).paths.result_pickle.exists() for k in range(job.num_tasks))


def build_executor(launcher):
    """submitit's executor with the launcher's parameters, mapped as hydra-submitit-launcher maps them.

    The job unpickles the launcher, whose class lives in the ``hydra_plugins`` namespace that lit_hw
    installs beside itself (or the clone's top folder, the job's working dir), so it imports as here.
    """
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    params = dict(launcher.params)
    init = {"folder": params.pop("submitit_folder")}
    if "max_num_timeout" in params:
        init["slurm_max_num_timeout"] = params.pop("max_num_timeout")
    executor = submitit.AutoExecutor(cluster="slurm", **init)
    common = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in common else f"slurm_{k}": v for k, v in params.items()})
    return executor


def refused_request_message(err: Exception, params: dict) -> str:
    said = [line.strip() for line in str(err).splitlines() if "error" in line.lower() and line.strip()]
    asked = " ".join(f"hydra.launcher.{k}={params.get(k)}" for k in REQUEST_KEYS if params.get(k) is not None)
    reason = "; ".join(said[-2:]) or str(err).strip().splitlines()[-1]
    return (
        f"SLURM refused the request ({asked}): {reason}. Fit it to the cluster's nodes (sinfo -o '%P %c %m %G'), "
        "e.g. trainer=cpu asks for no GPU"
    )


def queued_states(job_ids: Sequence[str]) -> dict[str, str] | None:
    """{job id: state} of the given jobs still known to squeue (array tasks listed one by one);
    None when squeue did not answer (a busy controller must not make running jobs look lost)."""
    array_ids = sorted({job_id.split("_", 1)[0] for job_id in job_ids})
    proc = subprocess.run(
        ["squeue", "--noheader", "-r", "-o", "%i %T", "-j", ",".join(array_ids)], capture_output=True, text=True
    )
    if proc.returncode != 0 and "Invalid job id" not in proc.stderr:
        return None
    states = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states


def final_state(job_id: str) -> str:
    """The state SLURM reports for a job that left the queue (scontrol keeps it for MinJobAge)."""
    proc = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True)
    found = re.search(r"JobState=(\S+)", proc.stdout)
    return found.group(1) if found else "UNKNOWN"


def job_result(job) -> JobReturn:
    try:
        return job.results()[0]
    except Exception as err:  # submitit's FailedJobError / UncompletedJobError: the job raised outside Hydra
        ret = JobReturn()
        ret.status, ret.return_value = JobStatus.FAILED, err
        return ret


def wait_for_jobs(launcher, jobs, job_overrides, initial_job_idx, with_sacct: bool) -> list[JobReturn]:
    results: list[JobReturn | None] = [None] * len(jobs)
    left_queue_at: dict[int, float] = {}
    while any(r is None for r in results):
        waiting = [i for i, r in enumerate(results) if r is None]
        states = queued_states([jobs[i].job_id for i in waiting])
        for i in waiting:
            job = jobs[i]
            if job.done() if with_sacct else result_written(job):
                results[i] = job_result(job)
            elif states is not None and states.get(job.job_id) not in ALIVE_STATES:
                left_queue_at.setdefault(i, time.monotonic())
                if time.monotonic() - left_queue_at[i] > RESULT_GRACE_S:
                    results[i] = lost_job(launcher, job, job_overrides[i], initial_job_idx + i)
        if any(r is None for r in results):
            time.sleep(POLL_S)
    return results


def lost_job(launcher, job, overrides, idx) -> JobReturn:
    state = final_state(job.job_id)
    sweep_config, run_dir = job_config(launcher.hydra_context, launcher.config, overrides, idx)
    message = f"SLURM job {job.job_id} (#{idx}) ended {state} without a result (log: {job.paths.stdout})"
    log.warning(message)
    return lost_job_return(overrides, sweep_config, run_dir, message)


def launch_on_slurm(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
    with_sacct = sacct_works()
    executor = build_executor(launcher)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    log.info("SLURM sweep dir: %s", sweep_dir)
    job_params = []
    for i, overrides in enumerate(job_overrides):
        idx = initial_job_idx + i
        log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
        job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
    try:
        jobs = executor.map_array(launcher, *zip(*job_params))
    except Exception as err:  # submitit's FailedJobError carries sbatch's stderr
        raise SlurmRequestRefused(refused_request_message(err, launcher.params)) from None
    log.info("SLURM jobs: %s", ", ".join(job.job_id for job in jobs))
    try:
        return wait_for_jobs(launcher, jobs, job_overrides, initial_job_idx, with_sacct)
    except KeyboardInterrupt:
        refresh_summary(sweep_dir)
        log.warning(
            "interrupted: the SLURM jobs keep running (scancel %s stops them); rerun with resume_sweep=true to "
            "collect them",
            jobs[0].job_id.split("_", 1)[0],
        )
        raise
