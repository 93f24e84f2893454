"""The stack's data: the members' own datamodules, one stream per distinct data config.

Members whose data configs are equal (an lr or init sweep) share one datamodule, the very one an
ordinary job of theirs builds: every member sees the same batches, and the stacked net's first layer is
one product for all. Members whose data differs (a ``seed`` sweep: ``data.seed`` is ``${seed}``, so each
draws its own split, batch order or, for the toy signals, its own signals) each keep their own stream;
``StreamsDataModule`` serves the streams together, each batch every stream's batch stacked (S, B, ...),
and the stack hands each member the rows of its stream.
"""

from __future__ import annotations

import json

import lightning as L
import torch

from lit_hw.data.tensor_split import StepChunk


def data_streams(datamodules: list) -> tuple[list, list[int]]:
    """(the distinct datamodules, the index of each member's): equal hyper-parameters, one stream."""
    streams, keys, index = [], {}, []
    for datamodule in datamodules:
        key = (type(datamodule).__qualname__, json.dumps(dict(datamodule.hparams), sort_keys=True, default=str))
        if key not in keys:
            keys[key] = len(streams)
            streams.append(datamodule)
        index.append(keys[key])
    return streams, index


def stack_batches(batches: tuple):
    """One batch of S streams: each field stacked, (S, B, ...); a StepChunk stays one, per minibatch."""
    if isinstance(batches[0], StepChunk):
        return StepChunk(stack_batches(minibatches) for minibatches in zip(*batches))
    return tuple(torch.stack(fields) for fields in zip(*batches))


class StreamsSampler:
    """Lightning sets the epoch on a loader's ``sampler``: this passes it to every stream's own."""

    def __init__(self, loaders: list):
        self.loaders = loaders

    def set_epoch(self, epoch: int) -> None:
        for loader in self.loaders:
            batch_sampler = getattr(loader, "batch_sampler", None)
            if hasattr(batch_sampler, "set_epoch"):
                batch_sampler.set_epoch(epoch)


class ZippedLoader:
    """The streams' loaders batch by batch (their lengths are equal: only the seed differs)."""

    def __init__(self, loaders: list):
        self.loaders = loaders
        self.sampler = StreamsSampler(loaders)
        # how the streams chunk their batches, alike (lit_hw.data.tensor_split.chunk_shape reads these)
        self.collate_fn = getattr(loaders[0], "collate_fn", None)
        self.batch_sampler = getattr(loaders[0], "batch_sampler", None)

    def __len__(self) -> int:
        return min(len(loader) for loader in self.loaders)

    def __iter__(self):
        for batches in zip(*self.loaders):
            yield stack_batches(batches)


def zipped(loaders: list):
    """A loader, or each of a list of loaders (validation with the test split every epoch), zipped."""
    if isinstance(loaders[0], (list, tuple)):
        return [ZippedLoader(list(position)) for position in zip(*loaders)]
    return ZippedLoader(loaders)


class StreamsDataModule(L.LightningDataModule):
    def __init__(self, datamodules: list):
        super().__init__()
        self.datamodules = datamodules
        first = datamodules[0]
        # what the progress bar and the lr schedules read of a datamodule (lit_hw.callbacks.progress_bar)
        self.steps_per_execution = getattr(first, "steps_per_execution", 1)
        self.batch_size = getattr(first, "batch_size", None)

    @property
    def splits(self) -> dict:
        return self.datamodules[0].splits

    def prepare_data(self) -> None:
        for datamodule in self.datamodules:
            datamodule.prepare_data()

    def setup(self, stage: str) -> None:
        for datamodule in self.datamodules:
            datamodule.trainer = self.trainer
            datamodule.setup(stage)

    def train_dataloader(self):
        return zipped([datamodule.train_dataloader() for datamodule in self.datamodules])

    def val_dataloader(self):
        return zipped([datamodule.val_dataloader() for datamodule in self.datamodules])

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return self.datamodules[0].transfer_batch_to_device(batch, device, dataloader_idx)
