"""The Hydra side of ``hydra/launcher=ray``; the launch itself is lit_hw.sweeps.launchers.ray."""

from __future__ import annotations

from hydra.plugins.launcher import Launcher


class RayLauncher(Launcher):
    """Runs every job as a Ray task; ``ray.init`` and ``ray.remote`` take the ``ray`` settings as they are."""

    def __init__(self, ray=None, schedule_timeout_s: float = 120, interrupt_grace_s: float = 30) -> None:
        from lit_hw.sweeps.launchers.ray import as_dict

        settings = as_dict(ray)
        self.init = as_dict(settings.get("init"))
        self.remote = as_dict(settings.get("remote"))
        self.schedule_timeout_s = float(schedule_timeout_s)
        self.interrupt_grace_s = interrupt_grace_s  # checked in setup, where a bad value is one line
        self.config = self.hydra_context = self.task_function = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            from lit_hw.core.errors import SweepConfigError

            raise SweepConfigError("hydra/launcher=ray needs its extra: pip install -e '.[ray]'") from None
        from lit_hw.core.errors import UserError
        from lit_hw.core.run_files import stop
        from lit_hw.sweeps.launchers.sweep_signals import grace_seconds

        try:
            self.interrupt_grace_s = grace_seconds(self.interrupt_grace_s)
        except UserError as err:
            stop(str(err))  # one line; Hydra would print a traceback
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides, initial_job_idx):
        from lit_hw.sweeps.launchers.ray import launch_on_ray

        return launch_on_ray(self, job_overrides, initial_job_idx)
