"""Summarize a sweep dir from its jobs' metrics.json: a table, PNG plots, TensorBoard images.

Written into the sweep dir:
  summary.csv, summary.md   one row per job: overrides, status, final train/val/test loss and
                            accuracy, best val acc, epochs run, train and wall time
  summary_grouped.csv       one row per configuration (the overrides without seed and data.fold):
                            n, n_ok/n_diverged/n_failed/n_unfinished, <metric>_mean/_std/_ci95 over
                            the ok jobs (lit_hw.sweeps.groups); summary.md gets the same table when
                            some configuration ran with several seeds or folds
  plots/*.png               per-epoch curves of every job, one figure per metric, and the final
                            test accuracy against each swept value (lit_hw.sweeps.summary_plots);
                            with replicates also grouped_*.png: mean ± std bands, mean ± ci95 bars
  summary_tensorboard/      the same figures as TensorBoard images (next to the jobs' runs)

Works on a finished or a partial sweep: a job without metrics.json yet is listed as ``pending``.
"""

from __future__ import annotations

import math
from pathlib import Path

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.run_files import as_float, read_metrics
from lit_hw.core.tables import csv_text, format_cell, markdown_table
from lit_hw.sweeps.groups import REPLICATE_KEYS, aggregate, grouped_columns, is_replicated
from lit_hw.sweeps.summary_plots import PLOTS_DIR, write_grouped_plots, write_plots, write_tensorboard_images

COLUMNS = [
    "job",
    "overrides",
    "status",
    "train/loss",
    "train/acc",
    "val/loss",
    "val/acc",
    "test/loss",
    "test/acc",
    "val/acc_best",
    "epochs_run",
    "train_time_s",
    "wall_time_s",
    "error",
]
METRIC_COLUMNS = COLUMNS[3:10]
# statuses of jobs that did not finish: a sweep with any of these at its end failed
UNFINISHED = ("failed", "interrupted", "pending", "running")


def job_number(job_dir: Path) -> int:
    """Hydra's job number, the head of a job dir's name (``3_optim.lr=0.1``)."""
    head = job_dir.name.split("_", 1)[0]
    return int(head) if head.isdigit() else 10**9


def job_dirs(sweep_dir: str | Path) -> list[Path]:
    """The job dirs of a sweep (subdirs named <num>_... with metrics.json or Hydra's .hydra/), in job order.
    The runs of a date folder (outputs/runs/<date>/<time>) are not jobs of a sweep."""
    dirs = [
        d
        for d in Path(sweep_dir).iterdir()
        if d.is_dir() and job_number(d) < 10**9 and ((d / "metrics.json").is_file() or (d / ".hydra").is_dir())
    ]
    return sorted(dirs, key=lambda d: (job_number(d), d.name))


def not_a_sweep_dir(path: Path) -> str | None:
    """Why ``path`` is not a sweep dir (one subdir per job, named <num>_<overrides>), or None if it is one."""
    if not path.is_dir():
        return f"sweep dir not found: {path} (expected a multirun dir with one subdir per job)"
    if (path / "metrics.json").is_file() or (path / ".hydra").is_dir():
        return f"{path} is the dir of a single run, not of a sweep; give the multirun dir that holds its jobs"
    if not job_dirs(path):
        return f"{path} holds no sweep jobs (subdirs named <num>_<overrides> with metrics.json or .hydra/); give a multirun dir"
    return None


def read_overrides(job_dir: Path, record: dict) -> list[str]:
    if record.get("overrides") is not None:
        return list(record["overrides"])
    path = job_dir / ".hydra" / "overrides.yaml"
    if path.is_file():
        from omegaconf import OmegaConf

        return list(OmegaConf.load(path))
    return []


def wall_time_s(job_dir: Path) -> float:
    """Job start (Hydra writes .hydra/ first) to the last metrics.json write."""
    start, end = job_dir / ".hydra" / "overrides.yaml", job_dir / "metrics.json"
    if start.is_file() and end.is_file():
        return round(end.stat().st_mtime - start.stat().st_mtime, 2)
    return math.nan


def collect_jobs(sweep_dir: str | Path) -> list[dict]:
    """One row per job dir, in job-number order."""
    jobs = []
    for job_dir in job_dirs(sweep_dir):
        record = read_metrics(job_dir) or {"status": "pending"}
        final = record.get("final") or {}
        row = {
            "job": job_dir.name,
            "dir": job_dir,
            "overrides": read_overrides(job_dir, record),
            "status": record.get("status", "pending"),
            "error": record.get("error") or "",
            "epochs_run": record.get("epochs_run", 0),
            "train_time_s": round(sum(record.get("epoch_train_time_s") or []), 2),
            "wall_time_s": wall_time_s(job_dir),
            "history": record.get("history") or [],
            "record": record,
        }
        row.update({key: as_float(final.get(key)) for key in METRIC_COLUMNS})
        jobs.append(row)
    return jobs


def swept_values(jobs: list[dict]) -> dict[str, list[str]]:
    """Override keys whose value differs between jobs, with each job's value (in job order)."""
    per_job = [override_values(job) for job in jobs]
    keys = sorted({k for d in per_job for k in d})
    return {k: [d.get(k, "") for d in per_job] for k in keys if len({d.get(k, "") for d in per_job}) > 1}


def override_values(job: dict) -> dict[str, str]:
    """{key: value} of a job's overrides."""
    return dict(o.split("=", 1) for o in job["overrides"] if "=" in o)


def label_value(job: dict, key: str) -> str:
    """The job's value of override ``key`` ('' when it does not set it)."""
    return override_values(job).get(key, "")


def label(job: dict, swept: dict[str, list[str]]) -> str:
    mine = [o for o in job["overrides"] if o.split("=", 1)[0] in swept]
    return ",".join(mine) or job["job"]


def grouped_table(groups: list[dict], swept: dict[str, list[str]]) -> tuple[list[str], list[list]]:
    """summary_grouped.csv's header and rows; ``config`` names a configuration by its swept values."""
    columns = grouped_columns(METRIC_COLUMNS)
    for group in groups:
        group["config"] = label(group["jobs"][0], config_keys(swept)) if config_keys(swept) else "all"
    return columns, [[group[c] for c in columns] for group in groups]


def config_keys(swept: dict[str, list[str]]) -> dict[str, list[str]]:
    """The swept keys that make a configuration (not seed or data.fold)."""
    return {k: v for k, v in swept.items() if k not in REPLICATE_KEYS}


def grouped_markdown(groups: list[dict]) -> str:
    """mean ± ci95 (n_ok of n) for the metrics a user compares configurations by."""
    shown = ["val/acc", "test/acc", "val/acc_best", "test/loss"]
    header = ["config", "n_ok / n", "diverged", "failed"] + [f"{m} mean ± ci95" for m in shown]
    rows = [
        [g["config"], f"{g['n_ok']} / {g['n']}", g["n_diverged"], g["n_failed"]]
        + [f"{format_cell(g[f'{m}_mean'])} ± {format_cell(g[f'{m}_ci95'])}" for m in shown]
        for g in groups
    ]
    return (
        "\n## Per configuration, over seeds and folds (summary_grouped.csv)\n\n"
        "Means over the ok jobs only; ± is the 95% t-interval half-width (empty below 2 ok jobs).\n\n"
        + markdown_table(header, rows)
    )


def summary_markdown(jobs: list[dict], sweep_dir: Path, plots: list[Path], groups: list[dict] | None = None) -> str:
    shown = COLUMNS[:-1]
    counts = ", ".join(f"{sum(j['status'] == s for j in jobs)} {s}" for s in sorted({j["status"] for j in jobs}))
    text = f"# Sweep summary: {sweep_dir}\n\n{len(jobs)} jobs: {counts}\n\n"
    text += markdown_table(shown, [[job[c] for c in shown] for job in jobs])
    finished = [j for j in jobs if not math.isnan(j["val/acc_best"])]
    if finished:
        best = max(finished, key=lambda j: j["val/acc_best"])
        text += (
            f"\nBest val/acc: {best['val/acc_best']:.4f} ({format_cell(best['overrides'])}), "
            f"its test/acc {format_cell(best['test/acc'])}.\n"
        )
    if groups and is_replicated(groups):
        text += grouped_markdown(groups)
    errors = [j for j in jobs if j["error"]]
    if errors:
        text += "\n## Errors\n\n" + "".join(f"- {j['job']}: {j['error']}\n" for j in errors)
    if plots:
        text += "\n## Plots\n\n" + "".join(f"![{p.stem}]({p.relative_to(sweep_dir).as_posix()})\n" for p in plots)
    return text


def write_summary(sweep_dir: str | Path, tensorboard: bool = True, figures: bool = True) -> list[dict]:
    """Build every summary file for ``sweep_dir``; return the job rows. ``figures=False``: the tables
    only (a sweep refreshes them after every job; drawing every figure each time cost ~1-2 s a job),
    listing the figures already drawn."""
    sweep_dir = Path(sweep_dir)
    jobs = collect_jobs(sweep_dir)
    swept = swept_values(jobs)
    groups = aggregate(jobs, METRIC_COLUMNS)
    columns, grouped_rows = grouped_table(groups, swept)
    if not figures:
        plots = sorted((sweep_dir / PLOTS_DIR).glob("*.png"))
    else:
        plots = write_plots(jobs, sweep_dir, swept, label) if jobs else []
    if figures and is_replicated(groups):
        group_swept = {k: [label_value(g["jobs"][0], k) for g in groups] for k in config_keys(swept)}
        plots += write_grouped_plots(groups, sweep_dir, group_swept, [g["config"] for g in groups])
    write_atomic(sweep_dir / "summary.csv", csv_text(COLUMNS, [[job[c] for c in COLUMNS] for job in jobs]))
    write_atomic(sweep_dir / "summary_grouped.csv", csv_text(columns, grouped_rows))
    write_atomic(sweep_dir / "summary.md", summary_markdown(jobs, sweep_dir, plots, groups))
    if figures and tensorboard and plots:
        write_tensorboard_images(plots, sweep_dir)
    return jobs
