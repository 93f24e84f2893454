"""Run one stack of composed jobs (hydra/launcher=stacked, or a gpu_pool slot with stacked=true).

Each job arrives composed: (its number, its overrides, its Hydra job config, its run dir). Under
``resume_sweep=true`` a finished job is kept as it is; an interrupted or failed one trains again
from its start (a stack has no per-member resume), its earlier attempt moved aside as for an
ordinary job. A job whose config fails its checks fails alone; the others train as one stack.
An interruption (Ctrl-C, SIGTERM: lit_hw.sweeps.launchers.sweep_signals) marks every member of the stack
``interrupted``, as far as it got, and goes on up: the launcher stops the sweep.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig

from lit_hw.core.errors import is_interruption
from lit_hw.core.kept_files import drop_kept_hydra_files, restore_hydra_files
from lit_hw.core.run_files import read_metrics
from lit_hw.run.console import quiet_library_noise
from lit_hw.run.cpu_speed import apply_cpu_speed_settings
from lit_hw.run.run_info import hparams_for_loggers
from lit_hw.stacked.members import StackMember
from lit_hw.stacked.training import StackTrainer
from lit_hw.sweeps.launchers.launching import finished_job
from lit_hw.sweeps.resume import job_action, set_aside_previous_attempt

log = logging.getLogger("lit_hw.stacked")

ComposedJob = tuple[int, list[str], DictConfig, Path]


def stack_device(cfg: DictConfig) -> torch.device:
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    return torch.device("cuda" if accelerator != "cpu" and torch.cuda.is_available() else "cpu")


def member_return(member: StackMember, status: JobStatus, value) -> JobReturn:
    return finished_job(member.overrides, member.job_config, member.run_dir, status, value)


def run_composed_stack(jobs: list[ComposedJob]) -> dict[int, JobReturn]:
    """Train ``jobs`` as one stack; every job's JobReturn, by job number."""
    # before the first torch op builds a net: OpenMP's threads inherit the denormal flush only when they
    # start (lit_hw.run.cpu_speed; without it, SGD momentum or Adam moments in denormals cost 1.7x here)
    apply_cpu_speed_settings(None)
    quiet_library_noise()
    returns, members = {}, []
    for idx, overrides, sweep_config, run_dir in jobs:
        if sweep_config.get("resume_sweep"):
            if job_action(run_dir) == "keep":
                restore_hydra_files(run_dir)  # a stack writes no .hydra/ for a kept job: this drops the copy
                kept = (read_metrics(run_dir) or {}).get("final", {}).get(f"{sweep_config.monitor.metric}_best")
                returns[idx] = finished_job(overrides, sweep_config, run_dir, JobStatus.COMPLETED, kept)
                log.info("resume_sweep: %s finished earlier; kept as it is", run_dir.name)
                continue
            drop_kept_hydra_files(run_dir)
            set_aside_previous_attempt(run_dir)
        members.append(StackMember(idx, overrides, sweep_config, run_dir))
    built = []
    info = {"jobs": [m.run_dir.name for m in members], "data_seed": members[0].cfg.seed if members else None}
    try:
        for member in members:
            HydraConfig.instance().set_config(member.job_config)
            try:
                member.build({**info, "device": str(stack_device(member.cfg))})
                built.append(member)
            except Exception as err:  # a bad value fails its own job, never the stack
                member.fail(err)
                returns[member.idx] = member_return(member, JobStatus.FAILED, err)
        if built:
            returns.update(train_members(built))
    except BaseException as err:
        if is_interruption(err):  # the members not built or trained yet (train_members marks its own)
            for member in members:
                if member.idx not in returns and member.record.status == "running":
                    member.fail(err, "interrupted")
        raise
    return returns


def train_members(members: list[StackMember]) -> dict[int, JobReturn]:
    device = stack_device(members[0].cfg)
    progress = members[0].cfg.trainer.get("enable_progress_bar", True) is not False
    log.info("stack of %d jobs on %s: %s", len(members), device, ", ".join(m.run_dir.name for m in members))
    returns = {}
    try:
        trainer = StackTrainer(members, device, progress=progress)
        trainer.fit()
        tests = trainer.test() if members[0].cfg.get("test", True) else [{} for _ in members]
    except BaseException as err:
        status = "interrupted" if is_interruption(err) else "failed"
        for member in members:
            member.fail(err, status)
            returns[member.idx] = member_return(member, JobStatus.FAILED, err)
        if is_interruption(err):  # Ctrl-C or SIGTERM stops the sweep, not only this stack
            raise
        log.error("the stack failed: %s: %s", type(err).__name__, err)
        return returns
    for member, test in zip(members, tests):
        value = member.finish(test, hparams_for_loggers(member.cfg))
        returns[member.idx] = member_return(member, JobStatus.COMPLETED, value)
        final = member.record.final
        log.info(
            "#%d %s: %s, test/acc %s", member.idx, member.run_dir.name, member.record.status, final.get("test/acc")
        )
    return returns
