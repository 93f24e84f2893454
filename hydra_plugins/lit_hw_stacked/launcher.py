"""The Hydra side of ``hydra/launcher=stacked``: jobs that differ only in what a stack may vary
(lit_hw.stacked) trained as one stacked model each, the others as ordinary jobs.

Without slots the stacks and ordinary jobs run one after another in the sweep's process
(lit_hw.stacked.grouping.StackedSweep); with ``slots`` or ``cpu_slots`` (gpu_pool's settings) each
stack, and each ordinary job, is a fresh process on a slot (lit_hw.stacked.pool.StackedPool).

Hydra only instantiates launcher classes defined under ``hydra_plugins``, so this module holds the
class and nothing else; lit_hw installs this folder beside itself, in the ``hydra_plugins`` namespace
that Hydra scans, as any plugin package does.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class StackedLauncher(Launcher):
    """Trains groups of jobs that differ only in optimizer scalars, init and seed as one stacked model."""

    def __init__(
        self,
        max_stack: int | None = None,
        slots=None,
        cpu_slots=None,
        jobs_per_slot: int = 1,
        threads_per_job=None,
        interrupt_grace_s: float = 30,
    ) -> None:
        self.max_stack = max_stack
        self.pool_options = None
        if slots is not None or cpu_slots is not None:
            self.pool_options = dict(slots=slots, cpu_slots=cpu_slots, jobs_per_slot=jobs_per_slot,
                                     threads_per_job=threads_per_job, interrupt_grace_s=interrupt_grace_s)  # fmt: skip
        self.sweep = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from lit_hw.core.errors import UserError
        from lit_hw.core.run_files import stop

        context = dict(hydra_context=hydra_context, task_function=task_function, config=config)
        try:  # torch and Lightning only once a sweep starts
            if self.pool_options is None:
                from lit_hw.stacked.grouping import StackedSweep

                self.sweep = StackedSweep(hydra_context, task_function, config, max_stack=self.max_stack)
            else:
                from lit_hw.stacked.pool import StackedPool

                self.sweep = StackedPool(max_stack=self.max_stack, **context, **self.pool_options)
        except UserError as err:
            stop(str(err))  # one line; Hydra would print a traceback

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.sweep is not None, "setup() not called"
        return self.sweep.launch(job_overrides, initial_job_idx)
