"""Lowest layer, pure helpers that import neither torch, Lightning, Hydra nor OmegaConf: errors, the
allow rule for names read from files, atomic writes, dir locks, kept Hydra files, tables, and the one
reader of a run's metrics.json."""
