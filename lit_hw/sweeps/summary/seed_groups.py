"""Aggregate a sweep's jobs over seeds and folds: one row per configuration, mean ± spread per metric.

A configuration is a job's overrides without the replicate keys (``seed``, ``data.fold``): the
jobs of ``-m optim.lr=0.01,0.1 seed=0,1,2`` form two configurations of three jobs each. Jobs with
different monitors (lit_hw.sweeps.summary.monitors) are never one configuration.
Only jobs that finished ``ok`` enter the mean; diverged, failed and unfinished jobs are
counted apart (``n_ok``, ``n_diverged``, ``n_failed``, ``n_unfinished``) so none vanish into it.

Per final metric: ``<metric>_mean``, ``<metric>_std`` (sample std, ddof=1) and ``<metric>_ci95``
(half-width of the Student-t 95% interval of the mean, t(0.975, n_ok-1) * std / sqrt(n_ok)).
Both are NaN (an empty cell) with fewer than two ok jobs.
"""

from __future__ import annotations

import math
import statistics

from lit_hw.config.cli import override_key
from lit_hw.config.override_keys import REPLICATE_KEYS
from lit_hw.config.override_keys import SWEEP_SWITCHES as IGNORED_KEYS  # neither shown nor swept
from lit_hw.core.run_files import as_float

STATUS_COUNTS = {"n_ok": ("ok",), "n_diverged": ("diverged",), "n_failed": ("failed",)}


def config_overrides(overrides: list[str]) -> tuple[str, ...]:
    """A job's overrides without the replicate and ignored keys: its configuration."""
    dropped = REPLICATE_KEYS + IGNORED_KEYS
    return tuple(o for o in overrides if override_key(o) not in dropped)


def t_quantile_975(dof: int) -> float:
    from scipy.stats import t  # scikit-learn's dependency; imported only when a group has 2+ jobs

    return float(t.ppf(0.975, dof))


def mean_std_ci95(values: list[float]) -> tuple[float, float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return mean, math.nan, math.nan
    std = statistics.stdev(finite)
    return mean, std, t_quantile_975(len(finite) - 1) * std / math.sqrt(len(finite))


def group_jobs(jobs: list[dict]) -> list[dict]:
    """Jobs with the same configuration and monitor, in order of each configuration's first job."""
    groups: dict[tuple, dict] = {}
    for job in jobs:
        overrides, monitor = config_overrides(job["overrides"]), job.get("monitor")
        group = groups.setdefault((overrides, monitor), {"overrides": list(overrides), "monitor": monitor, "jobs": []})
        group["jobs"].append(job)
    return list(groups.values())


def aggregate(jobs: list[dict], metrics: list[str]) -> list[dict]:
    """One row per configuration: counts by status and mean/std/ci95 of each metric over its ok jobs."""
    rows = []
    for group in group_jobs(jobs):
        members = group["jobs"]
        ok = [j for j in members if j["status"] == "ok"]
        row = {
            "overrides": group["overrides"],
            "monitor": str(group["monitor"] or ""),
            "jobs": members,
            "n": len(members),
        }
        for column, statuses in STATUS_COUNTS.items():
            row[column] = sum(j["status"] in statuses for j in members)
        row["n_unfinished"] = row["n"] - sum(row[c] for c in STATUS_COUNTS)
        for metric in metrics:
            mean, std, ci95 = mean_std_ci95([j[metric] for j in ok])
            row.update({f"{metric}_mean": mean, f"{metric}_std": std, f"{metric}_ci95": ci95})
        rows.append(row)
    return rows


def grouped_columns(metrics: list[str]) -> list[str]:
    counts = ["n", *STATUS_COUNTS, "n_unfinished"]
    return ["config", "overrides", "monitor", *counts] + [f"{m}_{s}" for m in metrics for s in ("mean", "std", "ci95")]


def is_replicated(rows: list[dict]) -> bool:
    """Whether some configuration ran more than once (several seeds or folds)."""
    return any(row["n"] > 1 for row in rows)


def mean_curve(jobs: list[dict], metric: str) -> tuple[list[int], list[float], list[float]]:
    """Per epoch, the mean and sample std of ``metric`` over the ok jobs that logged it (std 0 for one job)."""
    by_epoch: dict[int, list[float]] = {}
    for job in jobs:
        if job["status"] != "ok":
            continue
        for entry in job["history"]:
            value = as_float(entry.get(metric))
            if math.isfinite(value):
                by_epoch.setdefault(int(entry["epoch"]), []).append(value)
    epochs = sorted(by_epoch)
    means = [statistics.fmean(by_epoch[e]) for e in epochs]
    stds = [statistics.stdev(by_epoch[e]) if len(by_epoch[e]) > 1 else 0.0 for e in epochs]
    return epochs, means, stds
