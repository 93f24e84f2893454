"""Summarize a sweep dir from its jobs' metrics.json: a table, PNG plots, TensorBoard images.

Written into the sweep dir:
  summary.csv, summary.md   one row per job: overrides, status, final train/val/test loss and
                            accuracy, best val acc, epochs run, train and wall time
  plots/*.png               per-epoch curves of every job, one figure per metric, and the final
                            test accuracy against each swept value (log x when it spans decades)
  summary_tensorboard/      the same figures as TensorBoard images (next to the jobs' runs)

Works on a finished or a partial sweep: a job without metrics.json yet is listed as ``pending``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from matplotlib.figure import Figure

from lit_hw.atomic_files import write_atomic

COLUMNS = ["job", "overrides", "status", "train/loss", "train/acc", "val/loss", "val/acc", "test/loss",
           "test/acc", "val/acc_best", "epochs_run", "train_time_s", "wall_time_s", "error"]
# per-epoch test curves exist when the run set data.test_every_epoch=true
CURVE_METRICS = ["train/acc", "val/acc", "test_epoch/acc", "train/loss", "val/loss", "test_epoch/loss"]
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "summary_tensorboard"
# statuses of jobs that did not finish: a sweep with any of these at its end failed
UNFINISHED = ("failed", "interrupted", "pending", "running")


def as_float(value) -> float:
    try:
        return float(value)  # JSON keeps NaN/inf as strings: float("nan") reads them back
    except (TypeError, ValueError):
        return math.nan


def job_number(job_dir: Path) -> int:
    head = job_dir.name.split("_", 1)[0]
    return int(head) if head.isdigit() else 10**9


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
    """One dict per job dir (a subdir with metrics.json or .hydra/), in job-number order."""
    jobs = []
    for job_dir in sorted(Path(sweep_dir).iterdir(), key=lambda d: (job_number(d), d.name)):
        if not job_dir.is_dir() or not ((job_dir / "metrics.json").is_file() or (job_dir / ".hydra").is_dir()):
            continue
        try:
            record = json.loads((job_dir / "metrics.json").read_text())
        except (OSError, ValueError):
            record = {"status": "pending"}
        final = record.get("final") or {}
        row = {"job": job_dir.name, "dir": job_dir, "overrides": read_overrides(job_dir, record),
               "status": record.get("status", "pending"), "error": record.get("error") or "",
               "epochs_run": record.get("epochs_run", 0),
               "train_time_s": round(sum(record.get("epoch_train_time_s") or []), 2),
               "wall_time_s": wall_time_s(job_dir), "history": record.get("history") or []}
        for key in COLUMNS[3:10]:
            row[key] = as_float(final.get(key))
        jobs.append(row)
    return jobs


def swept_values(jobs: list[dict]) -> dict[str, list[str]]:
    """Override keys whose value differs between jobs, with each job's value (in job order)."""
    per_job = [dict(o.split("=", 1) for o in job["overrides"] if "=" in o) for job in jobs]
    keys = sorted({k for d in per_job for k in d})
    return {k: [d.get(k, "") for d in per_job] for k in keys if len({d.get(k, "") for d in per_job}) > 1}


def label(job: dict, swept: dict[str, list[str]]) -> str:
    mine = [o for o in job["overrides"] if o.split("=", 1)[0] in swept]
    return ",".join(mine) or job["job"]


# -- tables ----------------------------------------------------------------------------------------
def cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def write_csv(jobs: list[dict], path: Path) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for job in jobs:
        writer.writerow([cell(job[c]) for c in COLUMNS])
    write_atomic(path, text.getvalue())


def write_markdown(jobs: list[dict], path: Path, sweep_dir: Path, plots: list[Path]) -> None:
    shown = COLUMNS[:-1]
    lines = [f"# Sweep summary: {sweep_dir}", "",
             f"{len(jobs)} jobs: " + ", ".join(f"{sum(j['status'] == s for j in jobs)} {s}"
                                               for s in sorted({j['status'] for j in jobs})), "",
             "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(cell(job[c]).replace("|", "\\|") for c in shown) + " |" for job in jobs]
    finished = [j for j in jobs if not math.isnan(j["val/acc_best"])]
    if finished:
        best = max(finished, key=lambda j: j["val/acc_best"])
        lines += ["", f"Best val/acc: {best['val/acc_best']:.4f} ({cell(best['overrides'])}), "
                      f"its test/acc {cell(best['test/acc'])}."]
    errors = [j for j in jobs if j["error"]]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {j['job']}: {j['error']}" for j in errors]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.relative_to(sweep_dir).as_posix()})" for p in plots]
    write_atomic(path, "\n".join(lines) + "\n")


# -- plots -----------------------------------------------------------------------------------------
def save(fig: Figure, path: Path) -> Path:
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
    return write_atomic(path, png.getvalue())


def plot_curves(jobs: list[dict], metric: str, swept: dict, path: Path) -> Path | None:
    series = [(job, [(row["epoch"], as_float(row.get(metric))) for row in job["history"] if metric in row])
              for job in jobs]
    series = [(job, pts) for job, pts in series if pts]
    if not series:
        return None
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for job, pts in series:
        marker = "x" if job["status"] != "ok" else "o"
        ax.plot([e for e, _ in pts], [v for _, v in pts], marker=marker, markersize=3,
                label=f"{label(job, swept)} ({job['status']})" if job["status"] != "ok" else label(job, swept))
    finite = [v for _, pts in series for _, v in pts if math.isfinite(v)]
    if metric.endswith("loss") and finite and min(finite) > 0 and max(finite) / min(finite) > 50:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path)


def plot_final_vs_swept(jobs: list[dict], key: str, values: list[str], metric: str, path: Path) -> Path | None:
    ys = [job[metric] for job in jobs]
    numbers = [as_float(v) for v in values]
    if all(math.isnan(y) for y in ys):
        return None
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    if all(math.isfinite(x) for x in numbers):
        order = sorted(range(len(jobs)), key=lambda i: numbers[i])
        ax.plot([numbers[i] for i in order], [ys[i] for i in order], "o-")
        if min(numbers) > 0 and max(numbers) / min(numbers) >= 100:
            ax.set_xscale("log")
    else:
        ax.plot(range(len(values)), ys, "o")
        ax.set_xticks(range(len(values)), values, rotation=30)
    for job, x, y in zip(jobs, numbers if all(math.isfinite(x) for x in numbers) else range(len(values)), ys):
        if job["status"] != "ok":
            ax.annotate(job["status"], (x, 0 if math.isnan(y) else y), fontsize=8, color="red")
    ax.set(xlabel=key, ylabel=f"final {metric}", title=f"final {metric} vs {key}")
    ax.grid(alpha=0.3)
    return save(fig, path)


def write_plots(jobs: list[dict], sweep_dir: Path) -> list[Path]:
    folder = sweep_dir / PLOTS_DIR
    folder.mkdir(exist_ok=True)
    swept = swept_values(jobs)
    plots = [plot_curves(jobs, m, swept, folder / f"curves_{m.replace('/', '_')}.png") for m in CURVE_METRICS]
    for key, values in swept.items():
        plots.append(plot_final_vs_swept(jobs, key, values, "test/acc", folder / f"test_acc_vs_{key.replace('/', '_')}.png"))
    return [p for p in plots if p is not None]


def write_tensorboard_images(plots: list[Path], sweep_dir: Path) -> None:
    """The PNGs as TensorBoard images, replacing those of an earlier summary (no duplicates)."""
    import numpy as np
    from matplotlib.image import imread
    from torch.utils.tensorboard import SummaryWriter

    folder = sweep_dir / TENSORBOARD_DIR
    folder.mkdir(exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    writer = SummaryWriter(str(folder))
    try:
        for png in plots:
            image = np.asarray(imread(png))[..., :3]
            writer.add_image(f"sweep/{png.stem}", image, global_step=0, dataformats="HWC")
    finally:
        writer.close()


def write_summary(sweep_dir: str | Path, tensorboard: bool = True) -> list[dict]:
    """Build every summary file for ``sweep_dir``; return the job rows."""
    sweep_dir = Path(sweep_dir)
    jobs = collect_jobs(sweep_dir)
    plots = write_plots(jobs, sweep_dir) if jobs else []
    write_csv(jobs, sweep_dir / "summary.csv")
    write_markdown(jobs, sweep_dir / "summary.md", sweep_dir, plots)
    if tensorboard and plots:
        write_tensorboard_images(plots, sweep_dir)
    return jobs

