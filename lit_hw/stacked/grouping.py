"""``hydra/launcher=stacked``: a sweep's small nets trained together, one stack per group of jobs.

Jobs whose overrides differ only in STACKABLE_KEYS (lit_hw.config.override_keys: the optimizer's
scalars, the init scheme, the seed) build the same architecture, so they are grouped and trained as
one vectorized model under lightning.Trainer (lit_hw.stacked.run_stack). Every other job, and any
job that a stack cannot train as the ordinary job is trained (why_not_stackable), runs as an
ordinary job, as the basic launcher runs it. A stacked job still gets its own dir, metrics.json,
TensorBoard events, checkpoints and summary row (lit_hw.stacked.members). The contract: lit_hw.stacked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from lit_hw.config.checks import require_whole
from lit_hw.config.cli import override_key
from lit_hw.config.override_keys import STACKABLE_KEYS
from lit_hw.core.run_files import read_metrics
from lit_hw.stacked.optim import why_not_stackable as optimizer_not_stackable
from lit_hw.stacked.run_stack import run_composed_stack
from lit_hw.sweeps.launchers.launching import job_config
from lit_hw.sweeps.launchers.sweep_signals import SweepSignals, exit_interrupted
from lit_hw.sweeps.summary.hydra_callback import refresh_summary
from lit_hw.tasks.schedules import SCHEDULE_KEYS

log = logging.getLogger(__name__)

# the tasks whose steps call their net once, on the batch's input, which is what a stack replays for
# each member (lit_hw.stacked.module.replaying); their loss, metrics and hooks are their own
STACKABLE_TASKS = (
    "lit_hw.tasks.classifier.Classifier",
    "lit_hw.tasks.regressor.Regressor",
    "lit_hw.tasks.autoencoder.AutoEncoderTask",
)


def group_key(overrides: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(o for o in overrides if override_key(o) not in STACKABLE_KEYS))


def why_not_stackable(cfg: DictConfig) -> str | None:
    """None if a stack trains this job as the ordinary job would, else the reason. Everything the Trainer
    does (limits, precision, schedules, profiler, callbacks) a stack does too: what is left is what would
    change the net that runs, the data stream it sees, or the state it starts from."""
    trainer = cfg.trainer
    task = cfg.task.get("_target_")
    checks = [
        (task not in STACKABLE_TASKS, f"task {task} (a stack trains {', '.join(STACKABLE_TASKS)})"),
        (bool(cfg.get("compile")), "compile=true (a stack runs its members' nets uncompiled)"),
        (bool(cfg.get("resume") or cfg.get("ckpt_path")), "resume= or ckpt_path= (a stack starts from each init)"),
        # several devices shard the data stream over processes; a stack trains on one device
        (trainer.get("devices", 1) not in (1, "1", "auto"), f"trainer.devices={trainer.get('devices')}"),
        (trainer.get("strategy", "auto") not in ("auto", None), f"trainer.strategy={trainer.get('strategy')}"),
    ]
    for failed, reason in checks:
        if failed:
            return reason
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    target = optim.pop("_target_", None)
    return optimizer_not_stackable(target, {k: v for k, v in optim.items() if k not in SCHEDULE_KEYS})


class StackedSweep:
    """The launcher's work: group the jobs, train each group as a stack, run the rest as ordinary jobs."""

    def __init__(self, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig, max_stack=None):
        self.hydra_context, self.task_function, self.config = hydra_context, task_function, config
        if max_stack is not None:
            require_whole("hydra.launcher.max_stack", max_stack, minimum=1)
        self.max_stack = max_stack

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        returns: dict[int, JobReturn] = {}
        started: list[int] = []
        # SIGTERM (or SIGHUP) stops the stack in training as Ctrl-C does (lit_hw.sweeps.launchers.sweep_signals);
        # without this a SIGTERM ends the process on the spot, every member's record left at "running"
        with SweepSignals(stop_here=True) as signals:
            try:
                for members in self.plan(job_overrides, initial_job_idx):
                    if signals.stopping:  # a job that finished despite the signal (Lightning held it)
                        break
                    size = self.max_stack or len(members)
                    if len(members) == 1:
                        idx, overrides, reason = members[0]
                        log.info("#%d %s: ordinary job (%s)", idx, " ".join(filter_overrides(overrides)),
                                 reason or "no group")  # fmt: skip
                        started.append(idx)
                        returns[idx] = self.run_ordinary(idx, overrides)
                        continue
                    for start in range(0, len(members), size):
                        chunk = [(idx, overrides) for idx, overrides, _ in members[start : start + size]]
                        started.extend(idx for idx, _ in chunk)
                        returns.update(self.run_stack(chunk))
            except BaseException:
                if not signals.stopping:
                    raise
            if signals.stopping:
                run_dirs = [self.composed[idx][1] for idx in started if idx in self.composed]
                interrupted = [d for d in run_dirs if (read_metrics(d) or {}).get("status") == "interrupted"]
                exit_interrupted(
                    "stacked",
                    signals.signum,
                    interrupted=len(interrupted),
                    not_started=len(job_overrides) - len(started),
                    sweep_dir=self.config.hydra.sweep.dir,
                )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return [returns[initial_job_idx + i] for i in range(len(job_overrides))]

    def plan(self, job_overrides, initial_job_idx: int):
        """Compose every job once; return its groups, each a list of (idx, overrides, why not stackable)."""
        self.composed = {}  # job -> (its config, its run dir): Hydra's composition costs ~0.4 s a job
        groups: dict[tuple, list] = {}
        for i, overrides in enumerate(job_overrides):
            idx, overrides = initial_job_idx + i, list(overrides)
            self.composed[idx] = job_config(self.hydra_context, self.config, overrides, idx)
            reason = why_not_stackable(self.composed[idx][0])
            key = group_key(overrides) if reason is None else ("ordinary", idx)
            groups.setdefault(key, []).append((idx, overrides, reason))
        return list(groups.values())

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

    def run_stack(self, jobs: list[tuple[int, list[str]]]) -> dict[int, JobReturn]:
        returns = run_composed_stack([(idx, overrides, *self.composed[idx]) for idx, overrides in jobs])
        refresh_summary(self.config.hydra.sweep.dir)  # the tables; the figures come at the multirun's end
        return returns
