"""The Hydra side of ``hydra/launcher=gpu_pool``; the pool itself is lit_hw.sweeps.launchers.gpu_pool.

Hydra only instantiates launcher classes defined under ``hydra_plugins``, so this
module holds the class and nothing else; lit_hw installs this folder beside itself, in the
``hydra_plugins`` namespace that Hydra scans, as any plugin package does.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from lit_hw.core.errors import UserError
from lit_hw.core.run_files import stop
from lit_hw.sweeps.launchers.gpu_pool import GpuPool


class GpuPoolLauncher(Launcher):
    """Runs every job as a fresh ``python -m <entrypoint>`` process pinned to a slot of GPUs."""

    def __init__(
        self,
        slots=None,
        jobs_per_slot: int = 1,
        cpu_slots=None,
        threads_per_job=None,
        entrypoint=None,
        interrupt_grace_s: float = 30,
    ) -> None:
        self.options = dict(
            slots=slots,
            jobs_per_slot=jobs_per_slot,
            cpu_slots=cpu_slots,
            threads_per_job=threads_per_job,
            entrypoint=entrypoint,
            interrupt_grace_s=interrupt_grace_s,
        )
        self.pool: GpuPool | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        try:
            self.pool = GpuPool(hydra_context=hydra_context, task_function=task_function, config=config, **self.options)
        except UserError as err:
            stop(str(err))  # one line; Hydra would print a traceback

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.pool is not None, "setup() not called"
        return self.pool.launch(job_overrides, initial_job_idx)
