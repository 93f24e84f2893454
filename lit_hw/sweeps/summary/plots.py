"""The sweep summary's figures: per-epoch curves of every job, and the final metric per swept value.

The metrics follow the jobs' own (lit_hw.sweeps.summary.monitors): curves of each monitored metric, of
the loss and of every other metric logged per epoch, in every stage; the monitored metric on the test
split (else its best value) against each swept value. A classifier's: accuracy and loss curves,
test/acc; a regressor's: loss and R² curves, test/loss; the autoencoder's: MSE and loss curves, test/mse.

When configurations ran with several seeds or folds (lit_hw.sweeps.summary.seed_groups), also one line per
configuration: the mean per epoch with a ±1 std band, and the final metric's mean with 95%
confidence-interval error bars against each swept value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from lit_hw.core.run_files import as_float
from lit_hw.figures.files import plt, save_figure
from lit_hw.figures.plots import integer_epoch_ticks, plot_curves
from lit_hw.sweeps.summary.monitors import curve_metrics, final_metric, metric_columns, monitors_of
from lit_hw.sweeps.summary.seed_groups import REPLICATE_KEYS, mean_curve

PLOTS_DIR = "plots"
TENSORBOARD_DIR = "summary_tensorboard"


def curves_of(jobs: list[dict], metric: str, labels: list[str]) -> dict:
    curves = {}
    for job, name in zip(jobs, labels):
        rows = [row for row in job["history"] if metric in row]
        if rows:
            curves[name] = ([row["epoch"] for row in rows], [as_float(row[metric]) for row in rows])
    return curves


def final_metrics(jobs: list[dict], grouped: bool = False) -> list[str]:
    """The final metrics plotted against each swept value: per monitor its metric on the test split (else
    its best value); per configuration also the monitored metric itself (its last value)."""
    columns = metric_columns(jobs)
    wanted = [final_metric(m, columns) for m in monitors_of(jobs)]
    wanted += [m.metric for m in monitors_of(jobs) if grouped and m.metric in columns]
    return [metric for metric in dict.fromkeys(wanted) if metric is not None]


def plot_name(metric: str, key: str, prefix: str = "") -> str:
    return f"{prefix}{metric.replace('/', '_')}_vs_{key.replace('/', '_')}.png"


def plot_final_vs_swept(jobs: list[dict], key: str, values: list[str], metric: str, path: Path) -> Path | None:
    ys = [job[metric] for job in jobs]
    numbers = [as_float(v) for v in values]
    if all(math.isnan(y) for y in ys):
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    numeric = all(math.isfinite(x) for x in numbers)
    if numeric:
        order = sorted(range(len(jobs)), key=lambda i: numbers[i])
        ax.plot([numbers[i] for i in order], [ys[i] for i in order], "o-")
        if min(numbers) > 0 and max(numbers) / min(numbers) >= 100:
            ax.set_xscale("log")
    else:
        ax.plot(range(len(values)), ys, "o")
        ax.set_xticks(range(len(values)), values, rotation=30)
    for job, x, y in zip(jobs, numbers if numeric else range(len(values)), ys):
        if job["status"] != "ok":
            ax.annotate(job["status"], (x, 0 if math.isnan(y) else y), fontsize=8, color="red")
    ax.set(xlabel=key, ylabel=f"final {metric}", title=f"final {metric} vs {key}")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=100)


def write_plots(
    jobs: list[dict], sweep_dir: Path, swept: dict[str, list[str]], label: Callable[[dict, dict], str]
) -> list[Path]:
    folder = sweep_dir / PLOTS_DIR
    labels = [label(job, swept) + (f" ({job['status']})" if job["status"] != "ok" else "") for job in jobs]
    marked = [name for name, job in zip(labels, jobs) if job["status"] != "ok"]
    plots = []
    for metric in curve_metrics(jobs):
        curves = curves_of(jobs, metric, labels)
        if curves:
            fig = plot_curves(curves, "epoch", metric, f"{metric} per epoch", marked=marked)
            plots.append(save_figure(fig, folder / f"curves_{metric.replace('/', '_')}.png", dpi=100))
    for key, values in swept.items():
        if key in REPLICATE_KEYS:
            continue  # a metric against the seed says nothing; the grouped plots show the spread
        for metric in final_metrics(jobs):
            plots.append(plot_final_vs_swept(jobs, key, values, metric, folder / plot_name(metric, key)))
    return [p for p in plots if p is not None]


def plot_mean_bands(rows: list[dict], labels: list[str], metric: str):
    """Per configuration, the per-epoch mean of ``metric`` over its ok jobs, with a ±1 std band."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for row, name in zip(rows, labels):
        epochs, means, stds = mean_curve(row["jobs"], metric)
        if not epochs:
            continue
        drawn = True
        low, high = [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)]
        (line,) = ax.plot(epochs, means, marker="o", markersize=3, label=f"{name} (n={row['n_ok']})")
        ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2)
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch: mean ± std over seeds/folds")
    integer_epoch_ticks(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_grouped_final_vs_swept(rows: list[dict], key: str, values: list[str], metric: str, path: Path) -> Path | None:
    """Each configuration's mean final ``metric`` against its value of ``key``, with ci95 error bars."""
    means = [row[f"{metric}_mean"] for row in rows]
    if all(math.isnan(m) for m in means):
        return None
    errors = [0.0 if math.isnan(row[f"{metric}_ci95"]) else row[f"{metric}_ci95"] for row in rows]
    numbers = [as_float(v) for v in values]
    numeric = all(math.isfinite(x) for x in numbers)
    xs = numbers if numeric else list(range(len(values)))
    fig, ax = plt.subplots(figsize=(6, 4))
    order = sorted(range(len(rows)), key=lambda i: xs[i])
    ax.errorbar([xs[i] for i in order], [means[i] for i in order], yerr=[errors[i] for i in order], fmt="o-", capsize=4)
    if numeric and min(numbers) > 0 and max(numbers) / min(numbers) >= 100:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xs, values, rotation=30)
    for row, x, m in zip(rows, xs, means):
        not_ok = row["n"] - row["n_ok"]
        if not_ok:
            ax.annotate(f"{not_ok} of {row['n']} not ok", (x, 0 if math.isnan(m) else m), fontsize=8, color="red")
    ax.set(xlabel=key, ylabel=f"final {metric}", title=f"final {metric} vs {key}: mean ± 95% CI")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=100)


def write_grouped_plots(
    rows: list[dict], sweep_dir: Path, swept: dict[str, list[str]], labels: list[str]
) -> list[Path]:
    """The figures of a sweep with replicates; ``swept`` holds each configuration's value per swept key."""
    folder = sweep_dir / PLOTS_DIR
    plots = []
    jobs = [job for row in rows for job in row["jobs"]]
    for metric in curve_metrics(jobs):
        fig = plot_mean_bands(rows, labels, metric)
        if fig is not None:
            plots.append(save_figure(fig, folder / f"grouped_curves_{metric.replace('/', '_')}.png", dpi=100))
    for key, values in swept.items():
        for metric in final_metrics(jobs, grouped=True):
            path = folder / plot_name(metric, key, prefix="grouped_")
            plots.append(plot_grouped_final_vs_swept(rows, key, values, metric, path))
    return [p for p in plots if p is not None]


# a PNG's IHDR colour type -> its channels, which TensorBoard's image proto calls the colorspace
PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


def png_image(data: bytes):
    """A TensorBoard image summary of an encoded PNG, sized from its header (no decoding needed)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    # IHDR, right after the 8-byte signature and the chunk's length and type: width, height (big-endian
    # 4 bytes each), bit depth, colour type
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return Summary.Image(
        height=height, width=width, colorspace=PNG_CHANNELS.get(data[25], 4), encoded_image_string=data
    )


def write_tensorboard_images(plots: list[Path], sweep_dir: Path) -> None:
    """The PNGs as TensorBoard images, replacing those of an earlier summary (no duplicates)."""
    # tensorboard's own writer, not torch.utils.tensorboard: lit_hw.report then never imports
    # torch (seconds); the PNG files go in as they are, as TensorBoard stores images anyway.
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder = sweep_dir / TENSORBOARD_DIR
    folder.mkdir(exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    writer = EventFileWriter(str(folder))
    try:
        for png in plots:
            value = Summary.Value(tag=f"sweep/{png.stem}", image=png_image(png.read_bytes()))
            writer.add_event(Event(wall_time=time.time(), step=0, summary=Summary(value=[value])))
    finally:
        writer.close()
