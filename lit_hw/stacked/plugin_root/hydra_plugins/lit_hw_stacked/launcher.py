"""The Hydra side of ``hydra/launcher=stacked``; the grouping and training are lit_hw.stacked.grouping.

Hydra only instantiates launcher classes defined under ``hydra_plugins``, so this
module holds the class and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class StackedLauncher(Launcher):
    """Trains groups of jobs that differ only in optimizer scalars, init and seed as one stacked model."""

    def __init__(self, max_stack: int | None = None) -> None:
        self.max_stack = max_stack
        self.sweep = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from lit_hw.core.errors import UserError
        from lit_hw.core.run_files import stop
        from lit_hw.stacked.grouping import StackedSweep  # torch and Lightning only once a sweep starts

        try:
            self.sweep = StackedSweep(hydra_context, task_function, config, max_stack=self.max_stack)
        except UserError as err:
            stop(str(err))  # one line; Hydra would print a traceback

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.sweep is not None, "setup() not called"
        return self.sweep.launch(job_overrides, initial_job_idx)
