"""The Hydra side of ``hydra/sweeper=optuna``; the search itself is lit_hw.sweeps.optuna.search.

Hydra only instantiates sweeper classes defined under ``hydra_plugins``, and imports every module
there at start, for every command: so this module holds the class and nothing else, and imports
optuna (an extra) only when a search starts.
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Asks Optuna for trials, ``n_jobs`` at a time, and runs them through the sweep's launcher."""

    def __init__(
        self,
        sampler=None,
        direction: str | None = None,
        storage=None,
        study_name: str = "search",
        n_trials: int = 20,
        n_jobs: int = 2,
        params=None,
        **unknown: Any,
    ) -> None:
        # hydra-optuna-sweeper's max_failure_rate and custom_search_space are not settings here (a failed
        # trial never stops the search; a search space from code would import a name from the config)
        self.unknown = sorted(unknown)
        self.options = dict(
            sampler=sampler,
            direction=direction,
            storage=storage,
            study_name=study_name,
            n_trials=n_trials,
            n_jobs=n_jobs,
            params=params,
        )
        self.search = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        from lit_hw.core.errors import UserError
        from lit_hw.core.run_files import stop

        if self.unknown:
            stop(
                f"hydra.sweeper.{self.unknown[0]} is not a setting of lit_hw's Optuna sweeper; its settings: "
                f"{', '.join(self.options)} (conf/hydra/sweeper/optuna.yaml)"
            )
        try:
            from lit_hw.sweeps.optuna.search import OptunaSearch
        except ImportError as err:
            stop(f"hydra/sweeper=optuna needs optuna >= 4 ({err}): pip install 'lit_hw[optuna]'")
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        try:
            self.search = OptunaSearch(
                launcher=self.launcher, config=config, hydra_context=hydra_context, **self.options
            )
        except UserError as err:
            stop(str(err))  # one line; Hydra would print a traceback

    def sweep(self, arguments: list[str]) -> Any:
        from lit_hw.core.errors import UserError
        from lit_hw.core.run_files import stop
        from lit_hw.sweeps.resume import SweepDirHasResults

        assert self.search is not None, "setup() not called"
        try:
            return self.search.sweep(arguments)
        except (UserError, SweepDirHasResults) as err:
            stop(str(err))
