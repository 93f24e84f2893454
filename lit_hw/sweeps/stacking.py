"""``hydra/launcher=stacked``: a sweep's small nets trained together, one stack per group of jobs.

Jobs whose overrides differ only in STACKED_KEYS (the optimizer's scalars, the init scheme, the
seed) build the same architecture on the same data, so they are grouped and trained as one
vectorized model (lit_hw.sweeps.stacked_training). Every other job, and any group that a stack
cannot reproduce exactly (why_not_stackable), runs as an ordinary job, as the basic launcher
runs it. A stacked job still gets its own dir, metrics.json, TensorBoard events, checkpoints and
summary row (lit_hw.sweeps.stacked_members).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from lit_hw.callbacks.run_record import is_interruption
from lit_hw.core.cpu_speed import apply_cpu_speed_settings
from lit_hw.core.run_files import read_metrics
from lit_hw.core.run_info import hparams_for_loggers
from lit_hw.sweeps.groups import override_key
from lit_hw.sweeps.hydra_callbacks import refresh_summary
from lit_hw.sweeps.launching import job_config, without_hydra
from lit_hw.sweeps.resume import job_action, set_aside_previous_attempt
from lit_hw.sweeps.stacked_members import StackMember
from lit_hw.sweeps.stacked_training import StackTrainer
from lit_hw.tasks.stacked_optim import why_not_stackable as optimizer_not_stackable

log = logging.getLogger(__name__)

# overrides that may differ within a stack: they change neither the architecture nor the data stream
STACKED_KEYS = {
    "seed",
    "init",
    "init.scheme",
    "optim.lr",
    "optim.momentum",
    "optim.dampening",
    "optim.weight_decay",
    "optim.betas",
    "optim.eps",
}
# the callbacks a stack reproduces (checkpoints, divergence, per-epoch seeding, progress)
STACKED_CALLBACKS = {
    "model_checkpoint",
    "last_checkpoint",
    "progress_bar",
    "stop_on_divergence",
    "checkpoint_on_interrupt",
    "seed_each_epoch",
}
CLASSIFIER = "lit_hw.tasks.classifier.Classifier"


def group_key(overrides: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(o for o in overrides if override_key(o) not in STACKED_KEYS))


def why_not_stackable(cfg: DictConfig) -> str | None:
    """None if a stack trains this job exactly as the ordinary job would, else the reason."""
    trainer = cfg.trainer
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    checks = [
        (cfg.task.get("_target_") != CLASSIFIER, f"task {cfg.task.get('_target_')} (a stack trains classifiers)"),
        (optim.get("scheduler", "none") not in (None, "none"), "an lr scheduler"),
        (cfg.task.get("grad_clip") is not None, "task.grad_clip"),
        (bool(cfg.get("compile")), "compile=true"),
        (bool(cfg.get("resume") or cfg.get("ckpt_path")), "resume= or ckpt_path="),
        (
            str(trainer.get("precision", "32-true")) not in ("32", "32-true"),
            f"trainer.precision={trainer.get('precision')}",
        ),
        (trainer.get("devices", 1) not in (1, "1", "auto"), f"trainer.devices={trainer.get('devices')}"),
        (trainer.get("strategy", "auto") not in ("auto", None), f"trainer.strategy={trainer.get('strategy')}"),
        (trainer.get("max_steps", -1) not in (-1, None), "trainer.max_steps"),
        (trainer.get("accumulate_grad_batches", 1) != 1, "trainer.accumulate_grad_batches"),
        (bool(trainer.get("fast_dev_run")) or bool(trainer.get("overfit_batches")), "a debug preset"),
        (bool(trainer.get("detect_anomaly")) or trainer.get("profiler") is not None, "a debug preset"),
        (trainer.get("check_val_every_n_epoch", 1) != 1, "trainer.check_val_every_n_epoch"),
        (bool(set(k for k, v in cfg.callbacks.items() if v is not None) - STACKED_CALLBACKS), "extra callbacks"),
    ]
    for failed, reason in checks:
        if failed:
            return reason
    target = optim.pop("_target_", None)
    return optimizer_not_stackable(target, {k: v for k, v in optim.items() if "scheduler" not in k and k != "name"})


def finished_job(overrides, job_config: DictConfig, run_dir: Path, status: JobStatus, value) -> JobReturn:
    """The JobReturn Hydra's run_job would have given this job."""
    ret = JobReturn(
        overrides=list(overrides),
        cfg=without_hydra(job_config),
        hydra_cfg=job_config,
        working_dir=str(run_dir),
        task_name=job_config.hydra.job.name,
    )
    ret.status, ret.return_value = status, value
    return ret


def stack_device(cfg: DictConfig) -> torch.device:
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    return torch.device("cuda" if accelerator != "cpu" and torch.cuda.is_available() else "cpu")


class StackedSweep:
    """The launcher's work: group the jobs, train each group as a stack, run the rest as ordinary jobs."""

    def __init__(self, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig, max_stack=None):
        self.hydra_context, self.task_function, self.config = hydra_context, task_function, config
        self.max_stack = max_stack

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = [(initial_job_idx + i, list(o)) for i, o in enumerate(job_overrides)]
        groups: dict[tuple, list] = {}
        self.composed = {}  # job -> (its config, its run dir): Hydra's composition costs ~0.4 s a job
        for idx, overrides in jobs:
            self.composed[idx] = job_config(self.hydra_context, self.config, overrides, idx)
            reason = why_not_stackable(self.composed[idx][0])
            key = group_key(overrides) if reason is None else ("ordinary", idx)
            groups.setdefault(key, []).append((idx, overrides, reason))
        returns: dict[int, JobReturn] = {}
        for members in groups.values():
            size = self.max_stack or len(members)
            if len(members) == 1:
                idx, overrides, reason = members[0]
                log.info("#%d %s: ordinary job (%s)", idx, " ".join(filter_overrides(overrides)), reason or "no group")
                returns[idx] = self.run_ordinary(idx, overrides)
                continue
            for start in range(0, len(members), size):
                chunk = members[start : start + size]
                returns.update(self.run_stack([(idx, overrides) for idx, overrides, _ in chunk]))
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return [returns[idx] for idx, _ in jobs]

    def run_ordinary(self, idx: int, overrides: list[str]) -> JobReturn:
        sweep_config = self.composed[idx][0]
        HydraConfig.instance().set_config(sweep_config)
        return run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=sweep_config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )

    @staticmethod
    def job_return(member: StackMember, status: JobStatus, value) -> JobReturn:
        return finished_job(member.overrides, member.job_config, member.run_dir, status, value)

    def run_stack(self, jobs: list[tuple[int, list[str]]]) -> dict[int, JobReturn]:
        returns, members = {}, []
        names = []
        for idx, overrides in jobs:
            sweep_config, run_dir = self.composed[idx]
            if sweep_config.get("resume_sweep"):
                action = job_action(run_dir)
                if action == "keep":
                    kept = (read_metrics(run_dir) or {}).get("final", {}).get(f"{sweep_config.monitor.metric}_best")
                    returns[idx] = finished_job(overrides, sweep_config, run_dir, JobStatus.COMPLETED, kept)
                    log.info("resume_sweep: %s finished earlier; kept as it is", run_dir.name)
                    continue
                # an interrupted stacked job trains again from its start: a stack has no per-member resume
                set_aside_previous_attempt(run_dir)
            members.append(StackMember(idx, overrides, sweep_config, run_dir))
            names.append(run_dir.name)
        built = []
        info = {"jobs": names, "data_seed": members[0].cfg.seed if members else None}
        for member in members:
            HydraConfig.instance().set_config(member.job_config)
            try:
                member.build({**info, "device": str(stack_device(member.cfg))})
                built.append(member)
            except Exception as err:  # a bad value fails its own job, never the stack
                member.fail(err)
                returns[member.idx] = self.job_return(member, JobStatus.FAILED, err)
        if built:
            returns.update(self.train(built))
        refresh_summary(self.config.hydra.sweep.dir)  # the tables; the figures come at the multirun's end
        return returns

    def train(self, members: list[StackMember]) -> dict[int, JobReturn]:
        apply_cpu_speed_settings(None)  # flush denormals, as lit_hw.train does for an ordinary job
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
                returns[member.idx] = self.job_return(member, JobStatus.FAILED, err)
            if isinstance(err, KeyboardInterrupt):
                raise
            log.error("the stack failed: %s: %s", type(err).__name__, err)
            return returns
        for member, test in zip(members, tests):
            value = member.finish(test, hparams_for_loggers(member.cfg))
            returns[member.idx] = self.job_return(member, JobStatus.COMPLETED, value)
            final = member.record.final
            log.info(
                "#%d %s: %s, test/acc %s", member.idx, member.run_dir.name, member.record.status, final.get("test/acc")
            )
        return returns
