"""The fit figure of the assignment's toy functions: prediction against truth on every test point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lit_hw.figures.files import plt


def r2_score(truth: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - ((truth - pred) ** 2).sum() / max(((truth - truth.mean()) ** 2).sum(), 1e-300))


def plot_fits(truth: np.ndarray, predictions: Mapping[str, np.ndarray], target_names: Sequence[str]):
    """One panel per (model, target): test points as (truth, prediction), with the line p = y.

    ``truth`` is (N, T); each prediction is (N, T), columns in the order of ``target_names``.
    A perfect fit puts every point on the diagonal; R² is written in each panel.
    """
    rows, cols = len(predictions), len(target_names)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.2 * rows), squeeze=False)
    for i, (model, pred) in enumerate(predictions.items()):
        for j, name in enumerate(target_names):
            ax, y, p = axes[i, j], truth[:, j], pred[:, j]
            lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
            ax.plot([lo, hi], [lo, hi], color="0.6", lw=1)
            ax.scatter(y, p, s=6, alpha=0.6)
            ax.set_title(f"{model} on {name}: R² {r2_score(y, p):.3f}", fontsize=9)
            ax.set_xlabel("truth")
            ax.set_ylabel("prediction")
    fig.tight_layout()
    return fig
