"""Process-wide settings that make small-net CPU training fast, applied before training starts.

Both were found by profiling an MNIST epoch (see bench/epoch_overhead.py):

* Denormal floats. Adam's first moment of a weight whose gradient is exactly
  zero (a dead ReLU unit) decays by 0.9 per step and reaches the denormal range
  after ~800 steps; from then on every Adam step runs several times slower.
  Flushing denormals to zero costs nothing in accuracy. It must be set before
  torch starts its OpenMP threads, which inherit the setting.
* Lightning sets ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` on import (to keep fork-based
  launchers safe). Every ``optimizer.step()`` asks ``torch.cuda.is_available()``,
  and with that variable set each call dlopens NVML: ~0.2 ms per step, as much
  as a whole linear-model step. lit_hw launches DDP ranks as fresh processes,
  so the fork guard is not needed unless a fork-based strategy is chosen.
"""

from __future__ import annotations

import os

import torch

FORK_STRATEGIES = ("ddp_fork", "ddp_notebook")


def apply_cpu_speed_settings(strategy: str | None = None) -> None:
    torch.set_flush_denormal(True)
    if not (isinstance(strategy, str) and strategy.startswith(FORK_STRATEGIES)):
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
