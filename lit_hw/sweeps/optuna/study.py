"""Where a search's Optuna study lives, which of its trials belong to this sweep, and its results file.

By default the study is ``<sweep dir>/optuna.db`` (sqlite), so a sweep dir holds its search, and
``resume_sweep=true`` continues it: every trial there is this sweep's. With ``hydra.sweeper.storage``
set to a shared database, several sweeps may add to one study (Optuna's samplers learn from all of
its trials); a trial then belongs to the sweep whose dir it names in its user attributes.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from lit_hw.core.errors import ConfigError, one_line

log = logging.getLogger("lit_hw.optuna")

DB_NAME = "optuna.db"
RESULTS_FILE = "optimization_results.yaml"
# user attributes of each trial: the sweep dir it ran in, and its job number there (its dir's prefix)
SWEEP_ATTR = "lit_hw.sweep_dir"
JOB_ATTR = "lit_hw.job_num"
DIRECTIONS = ("minimize", "maximize")


def storage_url(storage, sweep_dir: str | Path) -> str:
    """``storage`` (an Optuna storage URL), or null: ``sqlite:///<sweep dir>/optuna.db``."""
    if storage is None:
        return f"sqlite:///{Path(sweep_dir).resolve() / DB_NAME}"
    if not isinstance(storage, str) or "://" not in storage:
        raise ConfigError(
            f"hydra.sweeper.storage={storage!r} is not a database URL; give e.g. sqlite:///outputs/optuna.db, or null "
            f"for {DB_NAME} in the sweep dir"
        )
    return storage


def open_study(url: str, study_name: str, direction: str) -> optuna.Study:
    """The study named ``study_name`` in ``url``, created if it is not there yet (its sampler is set
    once its trials are known)."""
    if sqlite_file(url) is not None:
        sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
    try:
        study = optuna.create_study(storage=url, study_name=study_name, direction=direction, load_if_exists=True)
    except Exception as err:  # SQLAlchemy's and Optuna's own errors: a URL it cannot open, another schema
        raise ConfigError(f"hydra.sweeper.storage={url}: cannot open study {study_name!r}: {one_line(err)}") from None
    made_to = [d.name.lower() for d in study.directions]
    if made_to != [direction]:
        raise ConfigError(
            f"study {study_name!r} in {url} was made to {'/'.join(made_to)}, not to {direction}; give "
            f"hydra.sweeper.direction={'/'.join(made_to)} or another study_name"
        )
    return study


def sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) and url[len(prefix) :] not in ("", ":memory:") else None


def job_num(trial: FrozenTrial) -> int | None:
    """The job number a trial ran under (read back from the study: only a plain int >= 0 is taken)."""
    num = trial.user_attrs.get(JOB_ATTR)
    return num if isinstance(num, int) and not isinstance(num, bool) and num >= 0 else None


def sweep_trials(study: optuna.Study, sweep_dir: str | Path, whole_study: bool) -> list[FrozenTrial]:
    """This sweep's trials that got a job number, by job number. ``whole_study``: the study lives in the
    sweep dir, so every trial is this sweep's (the dir may have moved since)."""
    here = str(Path(sweep_dir).resolve())
    mine = [
        trial
        for trial in study.get_trials(deepcopy=False)
        if job_num(trial) is not None and (whole_study or trial.user_attrs.get(SWEEP_ATTR) == here)
    ]
    return sorted(mine, key=job_num)


def fail_unlaunched(study: optuna.Study, whole_study: bool) -> None:
    """A trial asked but never given a job number (the sweep was killed in between) never ran: told
    failed, so that it does not stay running in the study."""
    if not whole_study:
        return  # in a shared study it may be another live sweep's trial, about to get its number
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if job_num(trial) is None:
            tell(study, trial.number, None)


def tell(study, trial: int, value: float | None) -> None:
    """Tell Optuna trial ``trial`` finished with ``value`` (None: failed)."""
    state = TrialState.COMPLETE if value is not None else TrialState.FAIL
    try:
        study.tell(trial, value, state=state, skip_if_finished=True)
    except RuntimeError:
        # GridSampler calls study.stop() once its grid is done, which Optuna allows only inside
        # study.optimize(); the trial is stored by then, and n_trials never goes past the grid
        if not isinstance(study.sampler, optuna.samplers.GridSampler):
            raise


def job_dir(sweep_dir: str | Path, num: int) -> Path | None:
    """The dir of job ``num`` (named ``<num>_<swept values>`` by default), if exactly one is there."""
    found = [p for p in Path(sweep_dir).glob(f"{num}_*") if p.is_dir()] + [
        p for p in [Path(sweep_dir) / str(num)] if p.is_dir()
    ]
    return found[0] if len(found) == 1 else None


def write_results(sweep_dir: str | Path, study: optuna.Study, trials: list[FrozenTrial], url: str) -> Path:
    """``optimization_results.yaml`` in the sweep dir, as hydra-optuna-sweeper writes it (name, best_params,
    best_value), with the best trial's number, its job dir and the count of this sweep's trials by state."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]
    pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    best = pick(done, key=lambda t: t.value) if done else None
    best_dir = job_dir(sweep_dir, job_num(best)) if best else None
    results = {
        "name": "optuna",
        "study_name": study.study_name,
        "storage": url,
        "direction": study.direction.name.lower(),
        "best_params": dict(best.params) if best else None,
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_job_dir": str(best_dir) if best_dir else None,
        "trials": dict(Counter(trial.state.name.lower() for trial in trials)),
    }
    path = Path(sweep_dir) / RESULTS_FILE
    OmegaConf.save(OmegaConf.create(results), path)
    if best:
        log.info("best value %s of %d trials: trial %d, %s", best.value, len(trials), best.number, best.params)
    else:
        log.warning("none of the %d trials finished with a value; see the sweep summary", len(trials))
    return path
