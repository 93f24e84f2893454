"""Matplotlib figures for the experiments and sweeps; lit_hw.figures.files writes them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import MaxNLocator

from lit_hw.figures.files import plt

if TYPE_CHECKING:  # torch only for the annotations: the sweep summary (lit_hw.report) draws without it
    import torch


def integer_epoch_ticks(ax) -> None:
    """Epochs are whole numbers: no 0.5 or 2.25 ticks on a short run's axis."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_toy_predictions(
    signal: torch.Tensor, truth: torch.Tensor, predictions: Mapping[str, torch.Tensor], target_names: Sequence[str]
):
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


def plot_codes_side_by_side(
    codes: Mapping[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str] | None = None
):
    """A 2-D scatter per method, points coloured by class (MNIST's ten digits unless ``class_names``
    names them, e.g. Fashion-MNIST's clothes), with one shared legend."""
    fig, axes = plt.subplots(1, len(codes), figsize=(5.5 * len(codes), 5), squeeze=False)
    cmap = plt.get_cmap("tab10")
    digits = [str(digit) for digit in range(10)]
    names = digits if class_names is None else list(class_names)
    for ax, (title, z) in zip(axes[0], codes.items()):
        for label, name in enumerate(names):
            mask = labels == label
            ax.scatter(z[mask, 0], z[mask, 1], s=4, alpha=0.6, color=cmap(label), label=name)
        ax.set_title(title)
        ax.set_xlabel("code 1")
        ax.set_ylabel("code 2")
    legend_title = "digit" if names == digits else "class"
    axes[0, -1].legend(title=legend_title, markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str,
    logy: bool | str = "auto",
    marked: Sequence[str] = (),
):
    """A line per label from (x values, y values): e.g. validation accuracy per epoch for each run of a sweep.

    ``logy="auto"``: a log scale for a positive loss that spans more than 50x (a learning-rate
    sweep's losses span decades). Labels in ``marked`` (runs that diverged or failed) get x markers.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    finite = [float(y) for _, ys in curves.values() for y in ys if math.isfinite(float(y))]
    if logy == "auto":
        logy = "loss" in ylabel and bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 50
    if logy:
        ax.set_yscale("log")
    for label, (xs, ys) in curves.items():
        ax.plot(list(xs), list(ys), marker="x" if label in marked else "o", markersize=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if xlabel == "epoch":
        integer_epoch_ticks(ax)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
