"""gpu_pool's slots: the ``CUDA_VISIBLE_DEVICES`` value each running job gets (a GPU, several for a
DDP job, or a share of the CPU cores on a machine without GPUs), and the threads each job may use."""

from __future__ import annotations

import os

from lit_hw.core.errors import ConfigError


def visible_gpus() -> list[str]:
    """The GPUs this process may hand out, as CUDA_VISIBLE_DEVICES entries."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # no usable CUDA runtime: a CPU machine
        return []


def resolve_slots(slots, cpu_slots=None) -> tuple[list[str], bool]:
    """(slot list, on_cpu). ``slots`` null means every visible GPU; without GPUs, ``cpu_slots``
    CPU slots (default: one per core, at most 4) whose CUDA_VISIBLE_DEVICES is empty."""
    if slots is not None:
        if isinstance(slots, (str, int)):
            slots = [slots]
        slots = [str(s).replace(" ", "") for s in slots]
        if not slots or any(not s for s in slots):
            raise ConfigError(f"hydra.launcher.slots={slots} has an empty slot; give e.g. [0,1] or ['0,1','2,3']")
        return slots, not visible_gpus()
    gpus = visible_gpus()
    if gpus:
        return gpus, False
    n = cpu_slots if cpu_slots is not None else min(os.cpu_count() or 1, 4)
    if int(n) < 1:
        raise ConfigError(f"hydra.launcher.cpu_slots={cpu_slots} must be >= 1")
    return [""] * int(n), True


def threads_per_job(concurrent_jobs: int, threads=None) -> int:
    """Cores split evenly between the jobs running at once (at least one thread each)."""
    if threads is not None:
        return max(1, int(threads))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, concurrent_jobs))
