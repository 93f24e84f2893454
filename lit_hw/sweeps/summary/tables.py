"""Summarize a sweep dir from its jobs' metrics.json: a table, PNG plots, TensorBoard images.

Written into the sweep dir:
  summary.csv, summary.md   one row per job: overrides, status, monitor, the final train/val/test
                            metrics the jobs recorded and each monitor's best value (see
                            lit_hw.sweeps.summary.monitors), epochs run, train and wall time; below
                            the table the best job per monitor
  summary_grouped.csv       one row per configuration (the overrides without seed and data.fold):
                            n, n_ok/n_diverged/n_failed/n_unfinished, <metric>_mean/_std/_ci95 over
                            the ok jobs (lit_hw.sweeps.summary.seed_groups); summary.md gets the same table when
                            some configuration ran with several seeds or folds
  plots/*.png               per-epoch curves of every job, one figure per metric, and the final
                            monitored metric against each swept value (lit_hw.sweeps.summary.plots);
                            with replicates also grouped_*.png: mean ± std bands, mean ± ci95 bars
  summary_tensorboard/      the same figures as TensorBoard images (next to the jobs' runs)

Works on a finished or a partial sweep. A job without metrics.json yet is listed as ``pending``, and
so is every job of the sweep's multirun.yaml that has no dir yet (Hydra's basic sweeper; an Optuna
sweep has no job list to read). A metrics.json that cannot be read as a record (cut short, not JSON,
fields of the wrong type) is listed as ``unreadable`` with the reason, and 'Best' names the jobs it
could not compare. A job's wall time is the one its record holds (RunRecord's ``wall_time_s``).
Overrides that do not change what a job computes (``resume_sweep``) are neither shown nor swept.
"""

from __future__ import annotations

import math
from pathlib import Path

from lit_hw.config.cli import override_key
from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.run_files import METRICS_FILE, UnreadableRecord, as_float, load_metrics, record_problem
from lit_hw.core.tables import csv_text, format_cell, markdown_table
from lit_hw.sweeps.summary.monitors import (
    best_text,
    compared_metrics,
    is_result,
    job_monitor,
    metric_columns,
    monitor_problem,
    monitors_of,
)
from lit_hw.sweeps.summary.plan import planned_jobs
from lit_hw.sweeps.summary.plots import PLOTS_DIR, write_grouped_plots, write_plots, write_tensorboard_images
from lit_hw.sweeps.summary.seed_groups import IGNORED_KEYS, REPLICATE_KEYS, aggregate, grouped_columns, is_replicated

# the columns around the jobs' metric columns (lit_hw.sweeps.summary.monitors.metric_columns)
FIRST_COLUMNS = ["job", "overrides", "status", "monitor"]
LAST_COLUMNS = ["epochs_run", "train_time_s", "wall_time_s", "error"]
# statuses of jobs that did not finish: a sweep with any of these at its end failed
UNFINISHED = ("failed", "interrupted", "pending", "running", "unreadable")
NOT_A_JOB = 10**9


def job_number(job_dir: Path) -> int:
    """Hydra's job number, the head of a job dir's name (``3_optim.lr=0.1``)."""
    head = job_dir.name.split("_", 1)[0]
    return int(head) if head.isdigit() else NOT_A_JOB


def job_dirs(sweep_dir: str | Path) -> list[Path]:
    """The job dirs of a sweep (subdirs named <num>_... with metrics.json or Hydra's .hydra/), in job order.
    The runs of a date folder (outputs/runs/<date>/<time>) are not jobs of a sweep."""
    dirs = [
        d
        for d in Path(sweep_dir).iterdir()
        if d.is_dir() and job_number(d) < NOT_A_JOB and ((d / METRICS_FILE).is_file() or (d / ".hydra").is_dir())
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


def shown_overrides(overrides: list[str]) -> list[str]:
    """A job's overrides without those that do not change what it computes (``resume_sweep=true`` is
    on the jobs that a resumed sweep ran again only: it would pass for a swept value)."""
    return [o for o in overrides if override_key(o) not in IGNORED_KEYS]


def saved_overrides(job_dir: Path) -> list[str]:
    """The overrides Hydra saved in the job's .hydra/overrides.yaml, as written ([] when unreadable)."""
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    from omegaconf import OmegaConf

    try:
        # resolve=False: an override's value may hold an interpolation, which is text here
        overrides = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception:  # a damaged overrides.yaml costs the row its overrides, never the summary
        return []
    return [str(o) for o in overrides] if isinstance(overrides, list) else []


def read_overrides(job_dir: Path, record: dict) -> list[str]:
    """The job's overrides as its record has them, else as Hydra saved them; see shown_overrides."""
    overrides = record.get("overrides")
    return shown_overrides(list(overrides) if overrides is not None else saved_overrides(job_dir))


def wall_time_s(job_dir: Path, record: dict) -> float:
    """The job's wall time as its record has it (RunRecord's ``wall_time_s``). A record from before
    that field: job start (Hydra writes .hydra/ first) to the last metrics.json write, unless a resumed
    sweep has rewritten .hydra/ since (then unknown: NaN, never a negative time)."""
    recorded = as_float(record.get("wall_time_s"))
    if math.isfinite(recorded) and recorded >= 0:
        return round(recorded, 2)
    start, end = job_dir / ".hydra" / "overrides.yaml", job_dir / METRICS_FILE
    if not (record and start.is_file() and end.is_file()):
        return math.nan
    elapsed = end.stat().st_mtime - start.stat().st_mtime
    return round(elapsed, 2) if elapsed >= 0 else math.nan


def read_record(job_dir: Path) -> tuple[dict, str]:
    """The job's metrics.json record ({} when it has none or it is unreadable), and why it is
    unreadable ('' when it is not): cut short, not JSON, or not what RunRecord writes."""
    try:
        record = load_metrics(job_dir)
    except UnreadableRecord as err:
        return {}, str(err)
    problem = (record_problem(record) or monitor_problem(record)) if record is not None else None
    return ({}, problem) if problem else (record or {}, "")


def job_row(job_dir: Path) -> dict:
    """The summary row of a job that has a dir."""
    record, problem = read_record(job_dir)
    final = record.get("final", {})
    row = {
        "job": job_dir.name,
        "num": job_number(job_dir),
        "dir": job_dir,
        "overrides": read_overrides(job_dir, record),
        # a record always has a status (record_problem): without one there is no record yet
        "status": "unreadable" if problem else record.get("status", "pending"),
        "error": f"{METRICS_FILE} unreadable: {problem}" if problem else record.get("error") or "",
        "unreadable": problem,
        "epochs_run": record.get("epochs_run", 0),
        # each time a float first: the record's numbers may be integers past float's range
        "train_time_s": round(sum(as_float(t) for t in record.get("epoch_train_time_s", [])), 2),
        "wall_time_s": wall_time_s(job_dir, record),
        "history": record.get("history", []),
        "record": record,
        "monitor": job_monitor(job_dir, record),
        "metrics": {key: as_float(value) for key, value in final.items() if is_result(key)},
    }
    return row


def pending_row(num: int, overrides: list[str]) -> dict:
    """The row of a job of the sweep that has not started (no dir yet): its number names it."""
    row = {"job": str(num), "num": num, "dir": None, "overrides": shown_overrides(overrides), "status": "pending"}
    row.update(
        {"error": "", "unreadable": "", "epochs_run": 0, "train_time_s": 0.0, "wall_time_s": math.nan, "history": []}
    )
    row.update({"record": {}, "monitor": None, "metrics": {}})
    return row


def collect_jobs(sweep_dir: str | Path) -> list[dict]:
    """One row per job, in job-number order: each job dir, and each job of the sweep not started yet.
    Every row has every metric column of the sweep (NaN where the job has no such metric)."""
    sweep_dir = Path(sweep_dir)
    jobs = [job_row(job_dir) for job_dir in job_dirs(sweep_dir)]
    started = {job["num"] for job in jobs}
    planned = planned_jobs(sweep_dir) or []
    jobs += [pending_row(num, overrides) for num, overrides in enumerate(planned) if num not in started]
    columns = metric_columns(jobs)
    for job in jobs:
        job.update({key: job["metrics"].get(key, math.nan) for key in columns})
    return sorted(jobs, key=lambda job: (job["num"], job["job"]))


def summary_columns(jobs: list[dict]) -> list[str]:
    """summary.csv's header: the metric columns are those the jobs recorded."""
    return FIRST_COLUMNS + metric_columns(jobs) + LAST_COLUMNS


def cells(job: dict, columns: list[str]) -> list:
    """A job's row under ``columns``; its monitor as text (empty when not known)."""
    return [str(job["monitor"] or "") if column == "monitor" else job[column] for column in columns]


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


def grouped_table(groups: list[dict], swept: dict[str, list[str]], metrics: list[str]) -> tuple[list[str], list[list]]:
    """summary_grouped.csv's header and rows; ``config`` names a configuration by its swept values."""
    columns = grouped_columns(metrics)
    for group in groups:
        group["config"] = label(group["jobs"][0], config_keys(swept)) if config_keys(swept) else "all"
    return columns, [[group[c] for c in columns] for group in groups]


def config_keys(swept: dict[str, list[str]]) -> dict[str, list[str]]:
    """The swept keys that make a configuration (not seed or data.fold)."""
    return {k: v for k, v in swept.items() if k not in REPLICATE_KEYS}


def grouped_markdown(groups: list[dict], metrics: list[str]) -> str:
    """mean ± ci95 (n_ok of n) for the metrics a user compares configurations by (the monitors')."""
    shown = compared_metrics(monitors_of([job for group in groups for job in group["jobs"]]), metrics)
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
    shown = [c for c in summary_columns(jobs) if c != "error"]  # the errors are listed below the table
    counts = ", ".join(f"{sum(j['status'] == s for j in jobs)} {s}" for s in sorted({j["status"] for j in jobs}))
    text = f"# Sweep summary: {sweep_dir}\n\n{len(jobs)} jobs: {counts}\n\n"
    text += markdown_table(shown, [cells(job, shown) for job in jobs])
    text += best_text(jobs)
    if groups and is_replicated(groups):
        text += grouped_markdown(groups, metric_columns(jobs))
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
    metrics = metric_columns(jobs)
    groups = aggregate(jobs, metrics)
    grouped_header, grouped_rows = grouped_table(groups, swept, metrics)
    if not figures:
        plots = sorted((sweep_dir / PLOTS_DIR).glob("*.png"))
    else:
        plots = write_plots(jobs, sweep_dir, swept, label) if jobs else []
    if figures and is_replicated(groups):
        group_swept = {k: [label_value(g["jobs"][0], k) for g in groups] for k in config_keys(swept)}
        plots += write_grouped_plots(groups, sweep_dir, group_swept, [g["config"] for g in groups])
    columns = summary_columns(jobs)
    write_atomic(sweep_dir / "summary.csv", csv_text(columns, [cells(job, columns) for job in jobs]))
    write_atomic(sweep_dir / "summary_grouped.csv", csv_text(grouped_header, grouped_rows))
    write_atomic(sweep_dir / "summary.md", summary_markdown(jobs, sweep_dir, plots, groups))
    if figures and tensorboard and plots:
        write_tensorboard_images(plots, sweep_dir)
    return jobs
