"""The jobs a sweep will run, before they run: each job's overrides, in job-number order, read from
the sweep's multirun.yaml and expanded as Hydra's BasicSweeper expands them (the sweep summary lists
those without a dir yet as ``pending``).

Known only for Hydra's basic sweeper (an Optuna sweeper picks each job from the results so far),
job dirs named by their number (``hydra.sweep.subdir`` starting with ``${hydra.job.num}``), and
sweeps without glob() (which needs the app's config groups) or shuffle() (a new order every run).
"""

from __future__ import annotations

from pathlib import Path

from lit_hw.config.hydra_adapter import BASIC_SWEEPER, expand_basic_sweep  # its job list follows from multirun.yaml

SAVED_SWEEP = "multirun.yaml"


def planned_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """Every job's overrides, in job-number order, as Hydra's BasicSweeper expands the sweep saved in
    multirun.yaml (the sweeper's params, then the command line's overrides). None when the list is not
    known: no multirun.yaml, another sweeper, job dirs not named by their number, a glob or shuffle."""
    hydra = part(multirun_settings(sweep_dir), "hydra")
    sweeper, task = part(hydra, "sweeper"), part(hydra, "overrides").get("task")
    if sweeper.get("_target_") != BASIC_SWEEPER or not isinstance(task, list):
        return None
    if not str(part(hydra, "sweep").get("subdir", "")).startswith("${hydra.job.num}"):
        return None  # the dirs would not say which job each is, and every job would look unstarted
    params = [f"{k}={v}" for k, v in part(sweeper, "params").items()]
    return expand_sweep(params + [str(o) for o in task])


def part(data, key: str) -> dict:
    """``data[key]`` where both are mappings, else {}: a multirun.yaml edited by hand may hold anything."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def multirun_settings(sweep_dir: Path) -> dict | None:
    """<sweep_dir>/multirun.yaml (the sweep's config, saved by Hydra's sweeper) as plain data, unresolved."""
    path = sweep_dir / SAVED_SWEEP
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    try:
        # resolve=False: its interpolations (the dirs' ${now:...}) belong to the sweep's own run
        saved = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception:  # a damaged multirun.yaml costs the summary its unstarted jobs, nothing more
        return None
    return saved if isinstance(saved, dict) else None


def expand_sweep(arguments: list[str]) -> list[list[str]] | None:
    """Each job's overrides, by Hydra's own parser and BasicSweeper's cartesian expansion."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
        if any(getattr(o.value(), "shuffle", False) for o in overrides if o.is_sweep_override()):
            return None  # shuffled: each run draws its own order
        jobs = expand_basic_sweep(overrides)
    except Exception:  # a glob needs the app's config loader; anything else Hydra refused here refused the sweep too
        return None
    return jobs
