"""lit_hw's Optuna sweeper for Hydra (``hydra/sweeper=optuna``); the search is lit_hw.sweeps.optuna."""
