"""OmegaConf resolvers used by lit_hw's configs; the entry points register them at import."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from lit_hw.config.cli import override_key


def short_name(text: str, max_chars: int = 80) -> str:
    """``text`` if it fits, else its head plus a hash of the whole, so names stay unique.

    Sweep job dirs are named after their overrides; a long override list would pass the
    255-byte file-name limit of most filesystems.
    """
    text = str(text)
    if len(text) <= max_chars:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{text[: max_chars - 9]}~{digest}"


def swept_keys(root) -> set[str]:
    """The keys a multirun sweeps: its sweeper's params (e.g. a preset's) and the command line's sweep
    overrides (``optim.lr=0.01,0.1``), which a job's config no longer holds: Hydra's BasicSweeper
    saved them in <sweep dir>/multirun.yaml before it launched any job."""
    keys = set((OmegaConf.select(root, "hydra.sweeper.params") or {}).keys())
    saved = Path(str(OmegaConf.select(root, "hydra.sweep.dir"))) / "multirun.yaml"
    if saved.is_file():
        keys |= sweep_override_keys(str(saved), saved.stat().st_mtime_ns)
    return keys


@functools.lru_cache(maxsize=8)
def sweep_override_keys(multirun_yaml: str, mtime_ns: int) -> frozenset[str]:
    """The keys of the sweep overrides saved in a multirun.yaml (read once per sweep and file version)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    # read as plain YAML data: OmegaConf would resolve interpolations (${oc.env:...}) found in the file
    try:
        saved = yaml.safe_load(Path(multirun_yaml).read_text()) or {}
        overrides = saved["hydra"]["overrides"]["task"] or []
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return frozenset()
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        return frozenset()
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return frozenset(o.key_or_group for o in parsed if o.is_sweep_override())


def job_dir_name(override_dirname: str, max_chars: int = 80, *, _root_) -> str:
    """A sweep job's dir name (TensorBoard's run name): its swept values, e.g. ``optim.lr=0.1,seed=2``,
    without the overrides every job of the sweep shares. Hydra's override_dirname (all overrides,
    sorted) when nothing is known to be swept. Shortened by ``short_name``."""
    try:
        swept = swept_keys(_root_)
        job = OmegaConf.select(_root_, "hydra.overrides.task") or []
        excluded = set(OmegaConf.select(_root_, "hydra.job.config.override_dirname.exclude_keys") or [])
        mine = sorted(o for o in job if override_key(o) in swept - excluded)
    except Exception:  # a naming problem must never stop a job: Hydra's name is always right
        mine = []
    return short_name(",".join(mine) if mine else override_dirname, max_chars)


# drawn once per process: two runs started in the same second get different dirs
_RUN_ID = secrets.token_hex(2)


def run_id() -> str:
    """4 random hex digits, the same for the whole process (its run dir or sweep dir is resolved more than once)."""
    return _RUN_ID


def device_count(devices, all_devices: int = 1) -> int:
    """How many processes a job starts, one per device, from ``trainer.devices`` (a count, a list,
    or "0,1"). 'auto' and -1 mean every device of the node, ``all_devices``: only the node knows
    how many, so a launcher that asks a scheduler for the node counts them as 1 (the default)."""
    if isinstance(devices, bool):
        return 1
    if not isinstance(devices, (str, int)) and hasattr(devices, "__len__"):
        return max(len(devices), 1)
    text = str(devices).strip()
    if "," in text:
        return len([d for d in text.split(",") if d.strip()])
    if text in ("auto", "-1"):
        return max(int(all_devices), 1)
    return int(text) if text.isdigit() and int(text) > 0 else 1


def gpus_per_job(accelerator, devices) -> int:
    """GPUs a cluster launcher asks for: none with trainer.accelerator=cpu, else one per device."""
    return 0 if str(accelerator) == "cpu" else device_count(devices)


def tag_dict(tags) -> dict[str, str]:
    """``tags`` (a list of labels) as MLflow run tags, which are key/value pairs: ``tags.<label> = 'true'``."""
    return {str(tag): "true" for tag in tags or []}


def dir_label(path: str, part: str = "name") -> str:
    """A run dir's name (``part=name``) or the dir that holds it (``part=parent``), relative to the
    working directory when under it: a sweep's jobs share their parent, the sweep dir, so in MLflow a
    sweep is one experiment and each job a run named after its overrides."""
    path = Path(os.path.abspath(path))
    if part == "name":
        return path.name
    relative = os.path.relpath(path.parent)
    return str(path.parent) if relative == "." or relative.startswith("..") else relative


# name in the configs (``${lit_hw.run_id:}``) -> function; each is used by some config (tested)
RESOLVERS = {
    "lit_hw.devices": device_count,
    "lit_hw.gpus": gpus_per_job,
    "lit_hw.run_id": run_id,
    "lit_hw.tag_dict": tag_dict,
    "lit_hw.dir_label": dir_label,
    "lit_hw.job_dir_name": job_dir_name,
}


def register_resolvers() -> None:
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
