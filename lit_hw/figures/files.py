"""Write figures as PNG files, atomically (a reader never sees half a PNG), and as TensorBoard images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from lit_hw.core.atomic_files import write_atomic  # noqa: E402

if TYPE_CHECKING:  # torch only for the annotation: the sweep summary (lit_hw.report) draws without it
    import torch


def tensorboard_writer(logger):
    """The SummaryWriter of a Lightning TensorBoardLogger (or a bare SummaryWriter), else None."""
    if hasattr(logger, "add_figure"):
        return logger
    writer = getattr(logger, "experiment", None) if logger is not None else None
    return writer if hasattr(writer, "add_figure") else None


def save_figure(fig, path: str | Path, logger=None, tag: str | None = None, step: int = 0, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG at ``path`` and, with a TensorBoard logger or writer, as image ``tag``; close it."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, bbox_inches="tight")
    write_atomic(path, png.getvalue())
    writer = tensorboard_writer(logger)
    if writer is not None:
        writer.add_figure(tag or Path(path).stem, fig, global_step=step, close=False)
    plt.close(fig)
    return Path(path)


def save_image_grid(grid: torch.Tensor, path: str | Path, logger=None, tag: str | None = None, step: int = 0) -> Path:
    """Write a (C, H, W) image grid in [0, 1] (e.g. from torchvision's make_grid) as PNG and TensorBoard image."""
    from torchvision.utils import save_image

    png = io.BytesIO()
    save_image(grid, png, format="png")
    write_atomic(path, png.getvalue())
    writer = tensorboard_writer(logger)
    if writer is not None:
        writer.add_image(tag or Path(path).stem, grid.clamp(0, 1), global_step=step)
    return Path(path)
