"""Run one stack of composed jobs (hydra/launcher=stacked, in the sweep's process or on a slot).

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

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.utils import instantiate
from omegaconf import DictConfig

from lit_hw.core.errors import is_interruption
from lit_hw.core.kept_files import drop_kept_hydra_files, restore_hydra_files
from lit_hw.core.run_files import read_metrics
from lit_hw.run.console import quiet_library_noise
from lit_hw.run.cpu_speed import apply_cpu_speed_settings
from lit_hw.stacked.data import StreamsDataModule, data_streams
from lit_hw.stacked.fan_out import MemberCallbacks
from lit_hw.stacked.member_trainer import MemberTrainer
from lit_hw.stacked.members import StackMember
from lit_hw.stacked.module import StackedTask
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
    info = {"jobs": [m.run_dir.name for m in members]}
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


def stack_trainer(members: list[StackMember], stack: StackedTask) -> L.Trainer:
    """The Trainer of ``lit_hw.train``, built from the first member's config (the members share every
    trainer setting), with the shared callbacks and the members' own behind MemberCallbacks."""
    first = members[0]
    views: list[MemberTrainer] = []
    callbacks = [*first.shared_callbacks, MemberCallbacks(stack, views)]
    trainer = instantiate(first.cfg.trainer, callbacks=callbacks, logger=False)
    for member_index, member in enumerate(members):
        member.view = MemberTrainer(trainer, stack, member_index, member.callbacks, member.loggers,
                                    member.datamodule, member.cfg.paths.output_dir)  # fmt: skip
        views.append(member.view)
    stack.attach(views)
    return trainer


def train_members(members: list[StackMember]) -> dict[int, JobReturn]:
    datamodules, streams = data_streams([m.datamodule for m in members])
    datamodule = datamodules[0] if len(datamodules) == 1 else StreamsDataModule(datamodules)
    stack = StackedTask([m.task for m in members], streams if len(datamodules) > 1 else None)
    log.info("stack of %d jobs (%d data stream(s)): %s", len(members), len(datamodules),
             ", ".join(m.run_dir.name for m in members))  # fmt: skip
    returns = {}
    try:
        trainer = stack_trainer(members, stack)
        trainer.fit(stack, datamodule=datamodule, weights_only=True)
        stack.detach()
        tests = [m.test() if m.cfg.get("test", True) else [] for m in members]
    except BaseException as err:
        # Lightning turns Ctrl-C into SystemExit(1) once the callbacks have recorded it
        stopped = is_interruption(err) or isinstance(err, SystemExit)
        for member in members:
            member.fail(err, "interrupted" if stopped else "failed")
            returns[member.idx] = member_return(member, JobStatus.FAILED, err)
        if stopped:  # Ctrl-C or SIGTERM stops the sweep, not only this stack
            raise
        log.error("the stack failed: %s: %s", type(err).__name__, err)
        return returns
    for member, test in zip(members, tests):
        value = member.finish(test)
        returns[member.idx] = member_return(member, JobStatus.COMPLETED, value)
        log.info("#%d %s: %s, %s", member.idx, member.run_dir.name, member.record.status,
                 ", ".join(f"{k} {v:.4g}" for k, v in member.record.final.items()
                           if k.startswith("test/") and isinstance(v, float)))  # fmt: skip
    return returns
