"""Matplotlib (Agg) figures for the experiments, written as PNG and, when a run has one, to TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def tensorboard_writer(logger):
    """The SummaryWriter of a Lightning TensorBoardLogger, or None for other/no loggers."""
    writer = getattr(logger, "experiment", None) if logger is not None else None
    return writer if hasattr(writer, "add_figure") else None


def save_figure(fig, path: str | Path, logger=None, tag: str | None = None, step: int = 0) -> Path:
    """Write ``fig`` as a PNG at ``path`` and, with a TensorBoard logger, as image ``tag``; close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    writer = tensorboard_writer(logger)
    if writer is not None:
        writer.add_figure(tag or path.stem, fig, global_step=step, close=False)
    plt.close(fig)
    return path


def save_image_grid(grid: torch.Tensor, path: str | Path, logger=None, tag: str | None = None, step: int = 0) -> Path:
    """Write a (C, H, W) image grid in [0, 1] (e.g. from torchvision's make_grid) as PNG and TensorBoard image."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    writer = tensorboard_writer(logger)
    if writer is not None:
        writer.add_image(tag or path.stem, grid.clamp(0, 1), global_step=step)
    return path


def plot_toy_predictions(signal: torch.Tensor, truth: torch.Tensor, predictions: Mapping[str, torch.Tensor],
                         target_names: Sequence[str]):
    """One panel per target: the input signal (grey), the truth, and each model's prediction."""
    n = len(target_names)
    fig, axes = plt.subplots(n, 1, figsize=(9, 2.1 * n), sharex=True, squeeze=False)
    positions = np.arange(signal.shape[-1])
    for i, (ax, name) in enumerate(zip(axes[:, 0], target_names)):
        ax.plot(positions, signal.numpy(), color="0.8", lw=1, label="input signal")
        ax.plot(positions, truth[i].numpy(), color="black", lw=2, label="truth")
        for label, pred in predictions.items():
            ax.plot(positions, pred[i].numpy(), lw=1.3, ls="--", label=label)
        ax.set_ylabel(name)
    axes[0, 0].legend(loc="upper right", ncol=2 + len(predictions), fontsize=8)
    axes[-1, 0].set_xlabel("position (targets standardized)")
    fig.suptitle("one test signal per target")
    fig.tight_layout()
    return fig


def plot_codes_side_by_side(codes: Mapping[str, np.ndarray], labels: np.ndarray):
    """A 2-D scatter per method, points coloured by digit, with one shared legend."""
    fig, axes = plt.subplots(1, len(codes), figsize=(5.5 * len(codes), 5), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (title, z) in zip(axes[0], codes.items()):
        for digit in range(10):
            mask = labels == digit
            ax.scatter(z[mask, 0], z[mask, 1], s=4, alpha=0.6, color=cmap(digit), label=str(digit))
        ax.set_title(title)
        ax.set_xlabel("code 1")
        ax.set_ylabel("code 2")
    axes[0, -1].legend(title="digit", markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], xlabel: str, ylabel: str, title: str,
                logy: bool = False):
    """Line per label from (x values, y values): e.g. validation accuracy per epoch for each run of a sweep.
    ``logy`` for losses, which span decades across a learning-rate sweep."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    if logy:
        ax.set_yscale("log")
    for label, (xs, ys) in curves.items():
        ax.plot(list(xs), list(ys), marker="o", ms=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if curves:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
