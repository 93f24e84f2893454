"""Reseed the global RNGs at every training epoch, so a resumed run replays the same randomness."""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch


def seed_for_epoch(seed: int, epoch: int) -> None:
    """Seed torch, numpy and random from (seed, epoch); the +1 keeps epoch 0 from reusing the run's
    initial seed (and so the init's random stream)."""
    value = (int(seed) * 100_003 + epoch + 1) % 2**32
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)  # CPU and every CUDA device


class SeedEachEpoch(L.Callback):
    """Seed torch, numpy and random from (seed, epoch) at the first training batch of each epoch.

    Checkpoints do not hold the RNG state, so after ``resume=`` the dropout masks
    (and anything else drawing from the global RNG) would differ from those of an
    uninterrupted run. Seeding per epoch makes epoch k's randomness the same either
    way. Batch order is already (seed, epoch)-seeded by EpochSeededSampler.

    The first batch, not ``on_train_epoch_start``: creating the epoch's DataLoader
    iterator draws a number from the global RNG, and a resumed run does not create
    it at the same point relative to that hook as an uninterrupted one.
    """

    def __init__(self, seed: int = 0):
        super().__init__()
        self.seed = int(seed)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx != 0:
            return
        seed_for_epoch(self.seed, trainer.current_epoch)
