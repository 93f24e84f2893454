"""``hydra/sweeper=optuna``: lit_hw's own Hydra sweeper on Optuna's ask-and-tell interface (optuna >= 4).

search_space reads ``hydra.sweeper.params`` (hydra-optuna-sweeper's syntax) into Optuna distributions,
study opens the study (sqlite in the sweep dir by default) and writes the results file, search runs
the trials through the sweep's launcher. The Hydra class is the shim hydra_plugins.lit_hw_optuna
(Hydra instantiates sweepers only from the hydra_plugins package); optuna is imported only once a
search starts, so that the shim costs nothing to the commands that do not search.
"""
