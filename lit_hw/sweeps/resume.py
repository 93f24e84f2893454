"""Continue an interrupted sweep: ``python -m lit_hw.train -m <same arguments> hydra.sweep.dir=<its dir> resume_sweep=true``.

The decision is made per job, inside the job (so it works under every launcher: basic, gpu_pool,
slurm, ray), from what the job's dir already holds. A job dir is ``<sweep_dir>/<num>_<overrides>``,
the same for the same arguments, so the rerun finds each job's earlier attempt:

  keep      metrics.json says ok or diverged: not run again, its results stay as they are
  continue  interrupted or killed (status interrupted/running) with a checkpoints/last.ckpt:
            continues from it, as ``resume=<job_dir>`` would (same final metrics as a run that
            was never stopped: per-epoch seeding, lit_hw.callbacks.epoch_seed)
  rerun     failed, or killed before its first checkpoint: runs from the start; the earlier
            attempt's files move to ``<job_dir>/previous_attempts/<n>/``
  run       never started

Without ``resume_sweep=true`` a sweep dir that holds finished jobs is refused before any job
starts (``refuse_to_overwrite``), so finished results are never silently overwritten. With it, the
arguments must be the sweep's own (its multirun.yaml) but for ``resume_sweep`` itself
(``refuse_changed_arguments``): kept results were computed from those. A kept job's files, its
``.hydra/`` included, stay exactly as they were (lit_hw.core.kept_files).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import yaml
from hydra.errors import CompactHydraException
from omegaconf import open_dict

from lit_hw.config.cli import override_key
from lit_hw.config.override_keys import SWEEP_SWITCHES
from lit_hw.core.kept_files import drop_kept_hydra_files, keep_hydra_files, restore_hydra_files
from lit_hw.core.run_files import FINISHED, is_rank_zero, read_metrics, run_finished

log = logging.getLogger("lit_hw.resume")

ATTEMPT_FILES = ("metrics.json", "checkpoints", "tensorboard", "figures", "config_resolved.yaml")
PREVIOUS = "previous_attempts"


class SweepDirHasResults(CompactHydraException):
    """A sweep dir with finished jobs and no resume_sweep=true: the multirun stops before any job runs."""


def last_checkpoint(job_dir: Path) -> Path:
    return Path(job_dir) / "checkpoints" / "last.ckpt"


def job_action(job_dir: str | Path) -> str:
    """keep | continue | rerun | run, from what ``job_dir`` holds (see the module docstring)."""
    job_dir = Path(job_dir)
    record = read_metrics(job_dir)
    status = record.get("status") if record else None
    if status in FINISHED:
        return "keep"
    if status != "failed" and last_checkpoint(job_dir).is_file():
        return "continue"
    if record is not None or any((job_dir / name).exists() for name in ATTEMPT_FILES):
        return "rerun"
    return "run"


def set_aside_previous_attempt(job_dir: str | Path) -> Path | None:
    """Move a failed attempt's files to previous_attempts/<n>/, so the rerun starts clean and nothing is lost."""
    job_dir = Path(job_dir)
    present = [job_dir / name for name in ATTEMPT_FILES if (job_dir / name).exists()]
    if not present:
        return None
    n = 1
    while (job_dir / PREVIOUS / str(n)).exists():
        n += 1
    target = job_dir / PREVIOUS / str(n)
    target.mkdir(parents=True)
    for path in present:
        shutil.move(str(path), str(target / path.name))
    return target


def finished_jobs(sweep_dir: str | Path) -> list[str]:
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        return []
    return sorted(d.name for d in sweep_dir.iterdir() if d.is_dir() and run_finished(d))


def refuse_to_overwrite(sweep_dir: str | Path, resume_sweep: bool) -> None:
    """Stop a multirun that would write over finished jobs, unless it resumes that sweep."""
    done = [] if resume_sweep else finished_jobs(sweep_dir)
    if done:
        raise SweepDirHasResults(
            f"{sweep_dir} already holds {len(done)} finished job(s) ({', '.join(done[:3])}"
            f"{', ...' if len(done) > 3 else ''}); add resume_sweep=true to continue that sweep, "
            "or give another hydra.sweep.dir"
        )


SAVED_SWEEP = "multirun.yaml"


def saved_sweep_overrides(sweep_dir: str | Path) -> list[str] | None:
    """The command-line overrides the sweep in ``sweep_dir`` was started with (Hydra saves them in its
    multirun.yaml before any job runs); None if it saved none. Read as plain YAML data."""
    path = Path(sweep_dir) / SAVED_SWEEP
    if not path.is_file():
        return None
    try:
        saved = ((yaml.safe_load(path.read_text()) or {}).get("hydra") or {}).get("overrides", {}).get("task")
    except (OSError, yaml.YAMLError, AttributeError) as err:
        raise SweepDirHasResults(
            f"{path} cannot be read ({type(err).__name__}), so resume_sweep=true cannot check that this sweep "
            "has the same arguments; give another hydra.sweep.dir"
        ) from None
    if not isinstance(saved, list) or not all(isinstance(o, str) for o in saved):
        raise SweepDirHasResults(
            f"{path}: hydra.overrides.task is not a list of overrides; give another hydra.sweep.dir"
        )
    return saved


def changed_arguments(saved: list[str], now: list[str]) -> list[str]:
    """``key=value (was key=other)`` for each argument that differs, ``resume_sweep`` aside."""

    def by_key(overrides):
        return {override_key(o): "".join(o.split()) for o in overrides if override_key(o) not in SWEEP_SWITCHES}

    before, after = by_key(saved), by_key(now)
    return [
        f"{after.get(key, f'no {key}')} (was {before.get(key, 'not given')})"
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def refuse_changed_arguments(sweep_dir: str | Path, overrides: list[str]) -> None:
    """Stop a ``resume_sweep=true`` whose arguments differ from those the sweep was started with."""
    saved = saved_sweep_overrides(sweep_dir)
    changes = changed_arguments(saved, overrides) if saved is not None else []
    if changes:
        raise SweepDirHasResults(
            f"resume_sweep=true with other arguments than the sweep in {sweep_dir}: {'; '.join(changes)}; "
            f"resume with its own arguments ({Path(sweep_dir) / SAVED_SWEEP}: hydra.overrides.task), or give "
            "another hydra.sweep.dir"
        )


def keep_finished_jobs_records(sweep_dir: str | Path) -> None:
    """Before any job of a resumed sweep runs: copy each finished job's ``.hydra/`` aside, so that the
    job puts it back once Hydra has written over it (``prepare_job``)."""
    for name in finished_jobs(sweep_dir):
        keep_hydra_files(Path(sweep_dir) / name)


def prepare_job(cfg) -> dict | None:
    """Under ``resume_sweep=true``: act on this job's earlier attempt. Returns the kept metrics record
    of a finished job (the caller must not train), else None (``cfg.resume`` is set to continue)."""
    if not cfg.get("resume_sweep"):
        return None
    job_dir = Path(cfg.paths.output_dir)
    action = job_action(job_dir)
    if action == "keep":
        restore_hydra_files(job_dir)  # Hydra has just rewritten .hydra/ for a job that is not run again
        record = read_metrics(job_dir)
        log.info("resume_sweep: %s finished earlier (%s); kept as it is", job_dir.name, record["status"])
        return record
    drop_kept_hydra_files(job_dir)  # this job runs: the .hydra/ Hydra wrote describes it
    if action == "continue":
        log.info("resume_sweep: %s continues from %s", job_dir.name, last_checkpoint(job_dir))
        with open_dict(cfg):
            cfg.resume, cfg.ckpt_path = str(job_dir), None
    elif action == "rerun" and is_rank_zero():
        moved = set_aside_previous_attempt(job_dir)
        log.info("resume_sweep: %s runs again; the earlier attempt is in %s", job_dir.name, moved)
    return None
