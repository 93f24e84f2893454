"""OmegaConf resolvers used by lit_hw's configs; the entry points register them at import."""

from __future__ import annotations

import hashlib
import secrets

from omegaconf import OmegaConf


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


# drawn once per process: two runs started in the same second get different dirs
_RUN_ID = secrets.token_hex(2)


def run_id() -> str:
    """4 random hex digits, the same for the whole process (its run dir or sweep dir is resolved more than once)."""
    return _RUN_ID


def device_count(devices) -> int:
    """How many processes a job starts, one per device, from ``trainer.devices`` (a count, a list,
    or "0,1"). 'auto' and -1 count as 1: a scheduler must be asked before the node is known."""
    if isinstance(devices, bool):
        return 1
    if isinstance(devices, int):
        return max(devices, 1)
    if not isinstance(devices, str) and hasattr(devices, "__len__"):
        return max(len(devices), 1)
    text = str(devices).strip()
    if "," in text:
        return len([d for d in text.split(",") if d.strip()])
    return int(text) if text.isdigit() and int(text) > 0 else 1


def gpus_per_job(accelerator, devices) -> int:
    """GPUs a cluster launcher asks for: none with trainer.accelerator=cpu, else one per device."""
    return 0 if str(accelerator) == "cpu" else device_count(devices)


def register_resolvers() -> None:
    for name, resolver in (
        ("lit_hw.short", short_name),
        ("lit_hw.devices", device_count),
        ("lit_hw.gpus", gpus_per_job),
        ("lit_hw.run_id", run_id),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
