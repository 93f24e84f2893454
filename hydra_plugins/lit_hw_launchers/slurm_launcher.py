"""The Hydra side of ``hydra/launcher=slurm``; the launch itself is lit_hw.sweeps.launchers.slurm.

Hydra imports every module under ``hydra_plugins`` when it scans for plugins, so without the
``slurm`` extra this module still imports, and the launcher says what to install.
"""

from __future__ import annotations

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _SubmititSlurmLauncher
except ImportError:  # the extra is not installed
    _SubmititSlurmLauncher = None

from hydra.plugins.launcher import Launcher

if _SubmititSlurmLauncher is not None:

    class SlurmLauncher(_SubmititSlurmLauncher):
        """hydra-submitit-launcher's SLURM launcher; lit_hw replaces how jobs are submitted and followed."""

        def launch(self, job_overrides, initial_job_idx):
            from lit_hw.sweeps.launchers.slurm import launch_on_slurm

            return launch_on_slurm(self, job_overrides, initial_job_idx)

else:

    class SlurmLauncher(Launcher):  # type: ignore[no-redef]
        def __init__(self, **params) -> None:
            from lit_hw.core.errors import SweepConfigError

            raise SweepConfigError("hydra/launcher=slurm needs its extra: pip install -e '.[slurm]'")
