"""A finished run's Hydra records, kept as they were when a later command passes through its dir.

Hydra writes ``<run dir>/.hydra/`` (config, overrides) before lit_hw's task function runs, so a
``resume_sweep=true`` that keeps a finished job, or a ``resume=<dir>`` in place that fails before it
trains, would leave that job's ``.hydra/`` describing a command that changed nothing. The sweep (or the
run's guard) copies ``.hydra/`` aside before Hydra writes; the job then puts the copy back (nothing was
redone) or drops it (the job ran, and the new ``.hydra/`` describes it). A copy left by a killed command
is the original and is never replaced by a newer one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HYDRA_DIR = ".hydra"
KEPT_DIR = ".hydra.kept"


def keep_hydra_files(run_dir: str | Path) -> None:
    run_dir = Path(run_dir)
    if (run_dir / HYDRA_DIR).is_dir() and not (run_dir / KEPT_DIR).exists():
        shutil.copytree(run_dir / HYDRA_DIR, run_dir / KEPT_DIR)


def restore_hydra_files(run_dir: str | Path) -> None:
    """Put the kept ``.hydra/`` back over what Hydra wrote since (a no-op without a kept copy)."""
    run_dir = Path(run_dir)
    kept = run_dir / KEPT_DIR
    if not kept.is_dir():
        return
    rewritten = run_dir / ".hydra.rewritten"
    shutil.rmtree(rewritten, ignore_errors=True)
    if (run_dir / HYDRA_DIR).exists():
        (run_dir / HYDRA_DIR).rename(rewritten)
    kept.rename(run_dir / HYDRA_DIR)
    shutil.rmtree(rewritten, ignore_errors=True)


def drop_kept_hydra_files(run_dir: str | Path) -> None:
    shutil.rmtree(Path(run_dir) / KEPT_DIR, ignore_errors=True)
