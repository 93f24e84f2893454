"""The search loop of ``hydra/sweeper=optuna``, on Optuna's ask-and-tell interface.

Each round asks Optuna for ``n_jobs`` trials, hands their overrides to whichever launcher the sweep
uses (``launcher.launch(batch, initial_job_idx)``: basic, gpu_pool, stacked, slurm, ray), and tells
Optuna each job's return value (lit_hw.train returns the best monitored value, e.g. ``val/acc_best``).

A job that failed (an exception, a lost node, a refused value) or returned no finite number (a run
that diverged before its first validation) is told ``FAIL``, not a made-up worst value: the failure
may say nothing about the hyper-parameters (a crash, a killed node), Optuna's samplers leave failed
trials out, and the search goes on; the sweep still exits 1 at the end (its summary lists the job).
A run that diverged after some validations returns the best value it reached, which is told as it is.

A sweep stopped while jobs ran (a signal, a kill) leaves their trials ``RUNNING`` in the study. With
``resume_sweep=true`` those trials run again under their own job numbers (so each job continues
from its last checkpoint or reruns, lit_hw.sweeps.resume), finished trials are kept, and only the
rest of ``n_trials`` is asked for.
"""

from __future__ import annotations

import logging
import math
import numbers
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from lit_hw.config.hydra_adapter import return_value
from lit_hw.core.allowed_names import within
from lit_hw.core.errors import ConfigError, describe, one_line
from lit_hw.sweeps.launchers.sweep_signals import SweepSignals, interruption, resume_command
from lit_hw.sweeps.optuna import study as studies
from lit_hw.sweeps.optuna.search_space import SearchSpace, search_space
from lit_hw.sweeps.resume import SweepDirHasResults

log = logging.getLogger("lit_hw.optuna")

SAMPLERS_MODULE = "optuna.samplers"
GRID_SAMPLER = "optuna.samplers.GridSampler"
MONITOR_DIRECTIONS = {"max": "maximize", "min": "minimize"}


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"hydra.sweeper.{name}={value!r} must be a whole number >= 1")
    return value


def build_sampler(sampler_config, space: SearchSpace, trials_so_far: int = 0):
    """The Optuna sampler that ``hydra.sweeper.sampler`` describes (null: Optuna's default, TPE); its
    ``_target_`` must be one of optuna.samplers. GridSampler gets the grid of ``space``. A seeded sampler
    of a study that already holds trials gets ``seed + trials_so_far``: its random draws start anew
    with its seed, and a resumed search would repeat the draws it made before it stopped."""
    from hydra.utils import instantiate

    if sampler_config is None:
        return None
    target = OmegaConf.select(sampler_config, "_target_") if isinstance(sampler_config, DictConfig) else None
    if not isinstance(target, str) or not within(target, [SAMPLERS_MODULE]):
        raise ConfigError(
            f"hydra.sweeper.sampler._target_={target!r} is not an Optuna sampler; give one of optuna.samplers, "
            "e.g. hydra/sweeper/sampler=tpe, random or grid"
        )
    extra = {"search_space": space.grid()} if target == GRID_SAMPLER else {}
    seed = sampler_config.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and trials_so_far:
        extra["seed"] = seed + trials_so_far
    try:
        return instantiate(sampler_config, **extra)
    except Exception as err:
        raise ConfigError(f"hydra.sweeper.sampler ({target}) cannot be built: {one_line(err)}") from None


def outcome(job: JobReturn) -> tuple[float | None, str | None]:
    """(the value to tell Optuna, None) for a job that returned a finite number, else (None, why not)."""
    value = return_value(job)
    if job.status != JobStatus.COMPLETED:
        return None, describe(value) if isinstance(value, BaseException) else f"ended {job.status.name}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None, f"returned {value!r}, not a number"
    if not math.isfinite(float(value)):
        return None, f"returned {value}"
    return float(value), None


def consecutive_runs(jobs: list, size: int) -> list[list]:
    """``jobs`` (sorted by job number, the first item of each) cut into runs of consecutive numbers, at
    most ``size`` long: a launcher numbers a batch's jobs from its ``initial_job_idx`` on."""
    runs: list[list] = []
    for job in jobs:
        if runs and len(runs[-1]) < size and runs[-1][-1][0] + 1 == job[0]:
            runs[-1].append(job)
        else:
            runs.append([job])
    return runs


def stop_code(stop: BaseException):
    return stop.code if isinstance(stop, SystemExit) else None


class OptunaSearch:
    """An Optuna study driven through a Hydra launcher; ``hydra.sweeper.*`` are its arguments."""

    def __init__(self, *, launcher, config: DictConfig, hydra_context, sampler, direction, storage, study_name,
                 n_trials, n_jobs, params) -> None:  # fmt: skip
        if direction is None:  # the way the job's monitor counts as better: lit_hw.train returns its best value
            direction = MONITOR_DIRECTIONS.get(OmegaConf.select(config, "monitor.mode"))
        if direction not in studies.DIRECTIONS:
            raise ConfigError(f"hydra.sweeper.direction={direction!r}; accepted: {' or '.join(studies.DIRECTIONS)}")
        if not isinstance(study_name, str) or not study_name:
            raise ConfigError(f"hydra.sweeper.study_name={study_name!r} must be a name, e.g. mlp_optuna")
        self.launcher, self.config, self.hydra_context = launcher, config, hydra_context
        self.sampler_config, self.direction, self.study_name = sampler, direction, study_name
        self.n_trials, self.n_jobs = positive_int("n_trials", n_trials), positive_int("n_jobs", n_jobs)
        self.params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else params
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.url = studies.storage_url(storage, self.sweep_dir)
        self.whole_study = self.url == studies.storage_url(None, self.sweep_dir)
        self.returns: list[JobReturn] = []
        self.running: list[int] = []  # the trials of the batch the launcher runs now

    def sweep(self, arguments: Sequence[str]) -> list[JobReturn]:
        space = search_space(self.params, list(arguments))
        if not space.params:
            raise ConfigError(
                "hydra/sweeper=optuna has nothing to search: give hydra.sweeper.params (e.g. hparams_search=mlp_optuna) "
                "or a sweep on the command line, e.g. 'optim.lr=tag(log,interval(0.0001,0.1))'"
            )
        build_sampler(self.sampler_config, space)  # a bad sampler stops the sweep before anything is written
        n_trials = self.n_trials
        if isinstance(self.sampler_config, DictConfig) and self.sampler_config.get("_target_") == GRID_SAMPLER:
            n_trials = min(n_trials, math.prod(len(values) for values in space.grid().values()))
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")  # as Hydra's sweepers do: the summary reads it
        study = studies.open_study(self.url, self.study_name, self.direction)
        study.sampler = build_sampler(self.sampler_config, space, trials_so_far=len(study.trials)) or study.sampler
        log.info("study %s in %s, %d trials, %d at a time", self.study_name, self.url, n_trials, self.n_jobs)
        studies.fail_unlaunched(study, self.whole_study)
        earlier = studies.sweep_trials(study, self.sweep_dir, self.whole_study)
        if earlier and not self.config.get("resume_sweep"):
            raise SweepDirHasResults(
                f"{self.url} already holds {len(earlier)} trial(s) of study {self.study_name!r} for {self.sweep_dir}; "
                "add resume_sweep=true to continue that search, or give another hydra.sweep.dir"
            )
        # SIGTERM (or SIGHUP) between two jobs stops the search as Ctrl-C does, instead of ending the process
        # on the spot; during a job, Lightning stops it at its next batch (lit_hw.sweeps.launchers.sweep_signals)
        with SweepSignals(stop_here=True) as signals:
            try:
                self.run_trials(study, space, earlier, n_trials, signals)
            except (KeyboardInterrupt, SystemExit) as stop:
                if stop_code(stop) == 2:
                    raise  # after a one-line error
                print(
                    f"optuna: the search stopped while trial(s) {self.running} ran; they stay running in the study "
                    f"until it continues with: {resume_command(self.sweep_dir)}",
                    file=sys.stderr,
                    flush=True,
                )
                if signals.stopping:
                    raise SystemExit(128 + signals.signum) from None  # as a process stopped by that signal
                raise
        trials = studies.sweep_trials(study, self.sweep_dir, self.whole_study)
        studies.write_results(self.sweep_dir, study, trials, self.url)
        return self.returns

    def run_trials(self, study, space: SearchSpace, earlier: list, n_trials: int, signals: SweepSignals) -> None:
        """Run again the trials that an interrupted sweep left running, under their own job numbers; then
        ask for, run and tell the rest of ``n_trials``, ``n_jobs`` at a time."""
        left = [
            (studies.job_num(t), t.number, space.overrides(t.params)) for t in earlier if t.state == TrialState.RUNNING
        ]
        if left:
            log.info("resume_sweep: %d trial(s) that were running run again: %s", len(left), [t for _, t, _ in left])
        batches = consecutive_runs(left, self.n_jobs)
        next_job = 1 + max((studies.job_num(t) for t in earlier), default=-1)
        remaining = n_trials - len(earlier)
        while batches or remaining > 0:
            if signals.stopping:  # the last batch finished despite the signal (Lightning held it)
                raise interruption(signals.signum)
            if batches:
                self.run_batch(study, batches.pop(0))
                continue
            size = min(self.n_jobs, remaining)
            trials = [study.ask(space.distributions()) for _ in range(size)]
            for offset, trial in enumerate(trials):
                trial.set_user_attr(studies.SWEEP_ATTR, str(self.sweep_dir.resolve()))
                trial.set_user_attr(studies.JOB_ATTR, next_job + offset)
            self.run_batch(study, [(next_job + i, t.number, space.overrides(t.params)) for i, t in enumerate(trials)])
            next_job, remaining = next_job + size, remaining - size

    def run_batch(self, study, batch: list[tuple[int, int, list[str]]]) -> None:
        """Launch (job number, trial number, overrides) jobs, numbered from the first one's, and tell
        Optuna how each ended."""
        self.running = [trial for _, trial, _ in batch]
        self.refuse_uncomposable(study, batch)
        returns = self.launcher.launch([job_overrides for _, _, job_overrides in batch], initial_job_idx=batch[0][0])
        for (job, trial, _), ret in zip(batch, returns):
            value, why = outcome(ret)
            if why is None:
                studies.tell(study, trial, value)
                log.info("trial %d (job %d): %s", trial, job, value)
            else:
                studies.tell(study, trial, None)
                log.warning("trial %d (job %d) failed, told Optuna FAIL: %s", trial, job, one_line(why))
        self.running = []
        self.returns.extend(returns)

    def refuse_uncomposable(self, study, batch) -> None:
        """Compose each job's config before launching (Hydra's sweepers do so too): a bad key is one line
        here, with the batch's trials told failed, not a launcher's traceback."""
        loader = self.hydra_context.config_loader
        for _, trial, job_overrides in batch:
            try:
                loader.load_sweep_config(master_config=self.config, sweep_overrides=list(job_overrides))
            except HydraException as err:
                for _, number, _ in batch:
                    studies.tell(study, number, None)
                raise ConfigError(f"trial {trial} ({' '.join(job_overrides)}): {one_line(err)}") from None
