"""The Hydra callback that guards a run's dir and a sweep's dir before Hydra writes into them."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.experimental.callback import Callback

from lit_hw.core.dir_lock import DirInUse, holder, lock_dir, refuse_if_held_above
from lit_hw.core.kept_files import keep_hydra_files
from lit_hw.core.run_files import continued_run_dir, foreign_run_files, is_rank_zero, run_finished, stop, unwritable


class RunDirGuard(Callback):
    """Hydra callback: before Hydra writes anything, take the run dir's (or sweep dir's) lock
    (lit_hw.core.dir_lock), and stop a single run whose run dir (an explicit ``hydra.run.dir``) holds
    another run's files, lies inside a dir a live process holds, or cannot be written. A gpu_pool job is
    a single run in a dir of its sweep, which holds the sweep dir and has checked its files
    (lit_hw.sweeps.resume): the job only locks its own dir."""

    def on_run_start(self, config, **kwargs) -> None:
        if not is_rank_zero():
            return  # a DDP rank > 0 that Lightning started for a run its rank 0 already checked
        run_dir = Path(str(config.hydra.run.dir))
        gpu_pool_job = os.environ.get("LIT_HW_GPU_POOL_SLOT") is not None
        try:
            if not gpu_pool_job:
                refuse_if_held_above(run_dir, "hydra.run.dir")
            why = unwritable(run_dir)
            if why:
                stop(f"hydra.run.dir={run_dir} cannot be written ({why}); give a dir you can write to")
            lock_dir(run_dir, "hydra.run.dir")
        except DirInUse as err:
            stop(str(err))
        continued = continued_run_dir(config)
        owner = holder(continued) if continued else None
        if owner:
            stop(f"resume={continued} is a run that a live process is still training ({owner}); wait for it to end")
        if continued and continued.resolve() == run_dir.resolve() and run_finished(run_dir):
            # continued in place: if this command fails before it trains, the run keeps its .hydra/ as it was
            keep_hydra_files(run_dir)
        present = [] if gpu_pool_job else foreign_run_files(run_dir, config)
        if present:
            stop(
                f"hydra.run.dir={run_dir} already holds another run ({', '.join(present)}); give a new "
                "hydra.run.dir, or resume=<that dir> to continue that run"
            )

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        why = unwritable(sweep_dir)
        if why:
            stop(f"hydra.sweep.dir={sweep_dir} cannot be written ({why}); give a dir you can write to")
        try:
            refuse_if_held_above(sweep_dir, "hydra.sweep.dir")
            lock_dir(sweep_dir, "hydra.sweep.dir")
        except DirInUse as err:
            stop(str(err))
