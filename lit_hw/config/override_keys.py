"""The command-line overrides that lit_hw treats specially, each kind defined once here and imported
by whoever acts on it. A key is what ``lit_hw.config.cli.override_key`` returns: ``optim.lr`` of
``+optim.lr=0.1``, ``init`` of ``init=he``.

Hydra's ``hydra.job.config.override_dirname.exclude_keys`` (conf/hydra/default.yaml) is a list of
its own: the keys kept out of job dir names, some of which (``experiment``, ``trainer.devices``) do
change what a job computes. It holds every SWEEP_SWITCHES key (tested), so a resumed sweep finds its
jobs' dirs under the names they had.
"""

from __future__ import annotations

# switches of a sweep, not settings of its jobs: the sweep summary neither shows nor sweeps them, a
# resume may add them (everything else must be given as the sweep was started), and the command that
# continues an interrupted sweep sets them itself
SWEEP_SWITCHES = ("resume_sweep",)

# overrides that replicate a configuration instead of changing it: the summary averages over them
REPLICATE_KEYS = ("seed", "data.fold")

# overrides that change neither the architecture nor the data stream: the jobs of one stack
# (hydra/launcher=stacked) may differ in them
STACKABLE_KEYS = frozenset(
    {
        "seed",
        "init",
        "init.scheme",
        "optim.lr",
        "optim.momentum",
        "optim.dampening",
        "optim.weight_decay",
        "optim.betas",
        "optim.eps",
    }
)

# overrides whose value is a path; a sweep's job dirs are named like 1_optim.lr=0.1,seed=0, so the
# command line quotes such a value where Hydra's grammar would not read it as written
PATH_KEYS = ("resume", "ckpt_path", "data.data_dir", "hydra.run.dir", "hydra.sweep.dir")
# Hydra's own dirs, which Hydra refuses to sweep: a ',' in them is part of the path
HYDRA_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir")

# key prefixes of a sweep's hydra overrides that describe the sweep, not one of its jobs: a job that a
# launcher starts as its own process is a single run in its own dir, and must not get them
SWEEP_ONLY_HYDRA_KEYS = (
    "hydra/launcher",
    "hydra.launcher",
    "hydra/sweeper",
    "hydra.sweeper",
    "hydra.sweep",
    "hydra.mode",
    "hydra.run.dir",
    "hydra.job.num",
    "hydra.job.id",
)
