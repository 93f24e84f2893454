"""One training run, around Lightning: the run built from its config and checked before anything is
written (build), its loggers, what produced it (run_info), the console, CPU speed settings, and the
Hydra callback that guards its dir (run_dir_guard)."""
