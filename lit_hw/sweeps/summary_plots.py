"""The sweep summary's figures: per-epoch curves of every job, and final test accuracy per swept value."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from lit_hw.core.run_files import as_float
from lit_hw.figures.files import plt, save_figure
from lit_hw.figures.plots import plot_curves

# per-epoch test curves exist when the run set data.test_every_epoch=true
CURVE_METRICS = ["train/acc", "val/acc", "test_epoch/acc", "train/loss", "val/loss", "test_epoch/loss"]
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "summary_tensorboard"


def curves_of(jobs: list[dict], metric: str, labels: list[str]) -> dict:
    curves = {}
    for job, name in zip(jobs, labels):
        rows = [row for row in job["history"] if metric in row]
        if rows:
            curves[name] = ([row["epoch"] for row in rows], [as_float(row[metric]) for row in rows])
    return curves


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
    for metric in CURVE_METRICS:
        curves = curves_of(jobs, metric, labels)
        if curves:
            fig = plot_curves(curves, "epoch", metric, f"{metric} per epoch", marked=marked)
            plots.append(save_figure(fig, folder / f"curves_{metric.replace('/', '_')}.png", dpi=100))
    for key, values in swept.items():
        plots.append(
            plot_final_vs_swept(jobs, key, values, "test/acc", folder / f"test_acc_vs_{key.replace('/', '_')}.png")
        )
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
