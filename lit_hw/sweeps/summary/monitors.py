"""Each job's monitor, and what the summary derives from it: the metric columns, the 'Best' lines and
the metrics that are plotted.

A job's monitor is the metric that picked its best checkpoint and whether higher or lower is better
(``monitor.metric``/``monitor.mode`` from the task config: ``val/acc``/max for a classifier,
``val/loss``/min for a regressor, ``val/mse``/min for the autoencoder). RunRecord writes it into
metrics.json; for a record without it (written before it was recorded, or by a run outside a Trainer)
it is read from the job's .hydra/config.yaml. Jobs with different monitors are never compared with
each other: each monitor has its own 'Best' line.

The metric columns are the jobs' own final metrics (RunRecord's ``final``) of the stages train, val
and test: a classifier's loss and accuracy, a regressor's loss and R² and MSE per target, the
autoencoder's MSE, kNN accuracy and silhouette beside PCA's; and each ``<monitor>_best``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

from lit_hw.core.run_files import BEST_SUFFIX, METRICS_FILE
from lit_hw.core.tables import format_cell

MODES = ("min", "max")
# the stages whose final values are results, in column order; test_epoch/<x> (data.test_every_epoch)
# repeats test/<x> once per epoch, so it is a curve, not a column
RESULT_STAGES = ("train", "val", "test")
CURVE_STAGES = ("train", "val", "test_epoch")
# logged every epoch, but what the schedule set, not what the run found
SETTINGS = ("lr",)
LOSS = "loss"


class Monitor(NamedTuple):
    metric: str  # val/acc
    mode: str  # min | max

    @property
    def name(self) -> str:
        """The metric without its stage: ``acc`` of ``val/acc``."""
        return self.metric.split("/", 1)[-1]

    @property
    def best(self) -> str:
        return self.metric + BEST_SUFFIX

    @property
    def test(self) -> str:
        """The same metric on the test split, which the best checkpoint is scored by at the end."""
        return f"test/{self.name}"

    def __str__(self) -> str:
        return f"{self.metric} {self.mode}"


def parse_monitor(value) -> Monitor | None:
    """A monitor as RunRecord writes it ({metric, mode}), or None for anything else. An interpolation
    (read from an unresolved config.yaml) names no metric."""
    if not isinstance(value, dict):
        return None
    metric, mode = value.get("metric"), value.get("mode")
    if not isinstance(metric, str) or "/" not in metric or "${" in metric or mode not in MODES:
        return None
    return Monitor(metric, mode)


def monitor_problem(record: dict) -> str | None:
    """Why a record's ``monitor`` is not what RunRecord writes, or None (it may lack one)."""
    value = record.get("monitor")
    if value is None or parse_monitor(value) is not None:
        return None
    return "monitor is not {metric: <stage>/<name>, mode: min|max}"


def configured_monitor(job_dir: Path) -> Monitor | None:
    """The monitor Hydra composed for the job (.hydra/config.yaml), or None when it cannot be read."""
    path = job_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    try:
        config = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception:  # a damaged config.yaml costs the job its monitor, never the summary
        return None
    return parse_monitor(config.get("monitor")) if isinstance(config, dict) else None


def job_monitor(job_dir: Path, record: dict) -> Monitor | None:
    """The job's monitor: its record's, else its config's."""
    return parse_monitor(record.get("monitor")) or configured_monitor(job_dir)


def is_result(key: str) -> bool:
    """Whether a final metric is a result of the run (a column): train/val/test, not a setting like lr."""
    stage, _, name = key.partition("/")
    return stage in RESULT_STAGES and bool(name) and name not in SETTINGS


def metric_columns(jobs: list[dict]) -> list[str]:
    """Every result metric some job has: train, then val, then test, each stage's loss first, then by
    name; the ``<monitor>_best`` values last (a classifier: train/loss, train/acc, ..., val/acc_best)."""

    def place(key: str) -> tuple:
        stage, name = key.split("/", 1)
        return name.endswith(BEST_SUFFIX), RESULT_STAGES.index(stage), name != LOSS, name

    return sorted({key for job in jobs for key in job["metrics"]}, key=place)


def monitors_of(jobs: list[dict]) -> list[Monitor]:
    """The jobs' distinct monitors, in job order."""
    return list(dict.fromkeys(job["monitor"] for job in jobs if job.get("monitor") is not None))


def score(job: dict, monitor: Monitor) -> float:
    """The job's monitored value: its best checkpoint's (``<metric>_best``), else its last epoch's; NaN
    when it has neither."""
    for key in (monitor.best, monitor.metric):
        value = job["metrics"].get(key, math.nan)
        if math.isfinite(value):
            return value
    return math.nan


def curve_metrics(jobs: list[dict]) -> list[str]:
    """The per-epoch curves, in every stage: each monitored metric, the loss, then whatever else the
    jobs logged per epoch (a regressor's R²); a classifier's: train/acc, val/acc, test_epoch/acc, train/loss, ..."""
    keys = {tuple(key.split("/", 1)) for job in jobs for row in job["history"] for key in row if "/" in key}
    logged = sorted(name for stage, name in keys if stage in CURVE_STAGES and name not in SETTINGS)
    names = [m.name for m in monitors_of(jobs)] + [LOSS] + logged
    return [f"{stage}/{name}" for name in dict.fromkeys(names) for stage in CURVE_STAGES]


def final_metric(monitor: Monitor, columns: list[str]) -> str | None:
    """The final value plotted against a swept value: the monitored metric on the test split, else its
    best value, else its last value (None when the jobs have none of them)."""
    return next((key for key in (monitor.test, monitor.best, monitor.metric) if key in columns), None)


def compared_metrics(monitors: list[Monitor], columns: list[str]) -> list[str]:
    """What configurations are compared by: per monitor its metric, its test value and its best value,
    then every other test metric (a classifier: val/acc, test/acc, val/acc_best, test/loss)."""
    wanted = [key for m in monitors for key in (m.metric, m.test, m.best)]
    wanted += [key for key in columns if key.startswith("test/")]
    return [key for key in dict.fromkeys(wanted) if key in columns]


def best_line(monitor: Monitor, jobs: list[dict], unread: list[str]) -> str | None:
    """'Best <metric>: ...' among ``jobs`` (those with this monitor), naming the jobs not read (any of them
    may be better); None when there is nothing to say."""
    candidates = [job for job in jobs if math.isfinite(score(job, monitor))]
    if not candidates and not unread:
        return None
    text = f"Best {monitor.metric}: "
    if candidates:
        pick = max if monitor.mode == "max" else min
        best = pick(candidates, key=lambda job: score(job, monitor))
        text += f"{score(best, monitor):.4f} ({format_cell(best['overrides'])})"
        if monitor.test != monitor.metric and math.isfinite(best["metrics"].get(monitor.test, math.nan)):
            text += f", its {monitor.test} {format_cell(best['metrics'][monitor.test])}"
    else:
        text += "none among the jobs read"
    if unread:
        text += f"; not compared, their {METRICS_FILE} unreadable: {', '.join(unread)}"
    text += "."
    if candidates:
        jobs_compared = f"{len(candidates)} job" + ("s" if len(candidates) > 1 else "")
        text += f" Picked by {monitor.metric}, mode {monitor.mode}, among {jobs_compared}."
    return text


def best_text(jobs: list[dict]) -> str:
    """One 'Best' line per monitor; jobs whose record could not be read are named on the line of their
    monitor (known from their config), or on every line."""
    read = [job for job in jobs if job["status"] != "unreadable"]
    unread = [job for job in jobs if job["status"] == "unreadable"]
    monitors = monitors_of(jobs)
    lines = [
        best_line(m, [j for j in read if j["monitor"] == m], [j["job"] for j in unread if j["monitor"] in (m, None)])
        for m in monitors
    ]
    if not monitors and unread:
        lines.append(f"Best: none among the jobs read; not compared, their {METRICS_FILE} unreadable: "
                     f"{', '.join(j['job'] for j in unread)}.")  # fmt: skip
    unknown = [job["job"] for job in read if job["monitor"] is None and job["metrics"]]
    if unknown:
        lines.append(f"Not compared, no monitor recorded: {', '.join(unknown)}.")
    if len(monitors) > 1:
        lines.append("Jobs with different monitors are not compared with each other.")
    lines = [line for line in lines if line]
    return "".join(f"\n{line}\n" for line in lines)
