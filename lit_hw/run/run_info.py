"""What produced a run: package and library versions, git commit, overrides, config."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import lightning
import torch

from lit_hw import __version__


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The commit of the lit_hw checkout, with '-dirty' if it has local changes; None outside git."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def versions() -> dict:
    return {
        "lit_hw": __version__,
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "git_commit": git_commit(),
    }


def hparams_for_loggers(cfg) -> dict:
    """The knobs a user compares runs by, flattened for the loggers' hyper-parameters (TensorBoard's HPARAMS tab)."""
    from omegaconf import OmegaConf

    from lit_hw.run.build import run_tags

    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    # the chosen scheduler's settings only: the others' would be columns that change nothing
    optim["scheduler_args"] = (optim.get("scheduler_args") or {}).get(optim.get("scheduler")) or {}
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "optim": optim,
        "init": cfg.init.scheme,
        "batch_size": cfg.data.get("batch_size"),
        "max_epochs": cfg.trainer.max_epochs,
        "seed": cfg.seed,
        "tags": ",".join(run_tags(cfg)),
    }
