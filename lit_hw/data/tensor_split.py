"""A data split held as one tensor per field, served by index slicing.

The usual torchvision pipeline builds every batch from 64 PIL images, each
converted and normalized on its own. Holding the whole split as one
pre-normalized tensor and reading a batch with one fancy-indexing call removes
that per-item Python work, which dominates an MNIST epoch on a small net.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler


class TensorSplit(Dataset):
    """Parallel tensors (e.g. images and labels) indexed along their first dim."""

    def __init__(self, *tensors: torch.Tensor):
        if not tensors:
            raise ValueError("TensorSplit needs at least one tensor")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            sizes = [len(t) for t in tensors]
            raise ValueError(f"TensorSplit tensors differ in length: {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: Sequence[int]):
        # DataLoader's fetcher calls this once per batch with the batch's indices.
        index = torch.as_tensor(indices).to(self.tensors[0].device, non_blocking=True)
        return tuple(t[index] for t in self.tensors)

    def to(self, device: torch.device | str) -> TensorSplit:
        return TensorSplit(*(t.to(device) for t in self.tensors))


class StepChunk(tuple):
    """Several consecutive minibatches fetched as one loader batch; one optimizer step each.

    The idea of Keras' ``steps_per_execution``: Lightning's per-batch bookkeeping (hooks,
    callbacks, fetcher) costs ~0.4 ms on a 2-core CPU, as much as a whole step of a small
    net, so it is paid once per chunk instead of once per optimizer step. Minibatches,
    their order and the number of optimizer steps are exactly those of unchunked training.
    Only lit_hw.tasks.lightning_adapter reads a chunk: there Lightning's counts (limits,
    logger steps) are translated so that the user sees optimizer steps.
    """


def already_batched(batch):
    """collate_fn for TensorSplit: ``__getitems__`` already returns stacked tensors."""
    return batch


class SplitIntoMinibatches:
    """collate_fn for chunked loading: one fetched (x, y) becomes a StepChunk of minibatches.

    A class rather than a function so that the loader says how it chunks (``chunk_shape``)."""

    def __init__(self, minibatch_size: int):
        self.minibatch_size = minibatch_size

    def __call__(self, batch):
        if len(batch[0]) <= self.minibatch_size:
            return batch
        return StepChunk(zip(*(t.split(self.minibatch_size) for t in batch)))


def chunk_shape(loader) -> tuple[int, int] | None:
    """(optimizer steps per loader batch, optimizer steps in a whole epoch) of a chunked ``split_loader``,
    None for any other loader."""
    collate = getattr(loader, "collate_fn", None)
    if not isinstance(collate, SplitIntoMinibatches):
        return None
    size = collate.minibatch_size
    return loader.batch_sampler.batch_size // size, math.ceil(len(loader.batch_sampler.sampler) / size)


def batch_tensors(batch) -> list:
    """The tensors of a loader batch, a StepChunk's minibatches included."""
    return [t for minibatch in batch for t in minibatch] if isinstance(batch, StepChunk) else list(batch)


class EpochSeededSampler(RandomSampler):
    """A random permutation that depends only on (seed, epoch).

    Lightning calls ``set_epoch`` before each epoch, so a run resumed from a
    checkpoint sees the same order as an uninterrupted one. Subclassing
    RandomSampler lets Lightning recognise the loader as shuffled and swap in
    a shuffling DistributedSampler under DDP.
    """

    def __init__(self, data_source, seed: int = 0):
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def permutation(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(len(self.data_source), generator=generator)

    def __iter__(self):
        yield from self.permutation().tolist()


class SliceBatchSampler(BatchSampler):
    """Batches as slices of one index tensor, instead of lists built one index at a time.

    With our own samplers it slices the epoch's permutation (or a range), which is
    what a hand-written loop does. Any other sampler, e.g. the DistributedSampler
    that Lightning injects under DDP (it rebuilds this class with
    ``(sampler, batch_size, drop_last)``), goes through BatchSampler's usual path.
    """

    def __iter__(self):
        if isinstance(self.sampler, EpochSeededSampler):
            order = self.sampler.permutation()
        elif type(self.sampler) is SequentialSampler:
            order = torch.arange(len(self.sampler))
        else:
            yield from super().__iter__()
            return
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)


def split_loader(
    split: TensorSplit, batch_size: int, shuffle: bool, seed: int = 0, steps_per_execution: int = 1
) -> DataLoader:
    """A standard DataLoader (so Lightning can re-wrap it for DDP) over a TensorSplit.

    With ``steps_per_execution`` > 1 each loader batch is a StepChunk of that many
    ``batch_size`` minibatches (the last chunk of an epoch may hold fewer).
    """
    sampler = EpochSeededSampler(split, seed) if shuffle else SequentialSampler(split)
    batches = SliceBatchSampler(sampler, batch_size=batch_size * steps_per_execution, drop_last=False)
    collate = already_batched if steps_per_execution == 1 else SplitIntoMinibatches(batch_size)
    return DataLoader(split, batch_sampler=batches, collate_fn=collate)
