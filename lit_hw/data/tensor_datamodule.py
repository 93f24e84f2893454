"""Base for datamodules whose splits are TensorSplits (MNIST, toy functions)."""

from __future__ import annotations

import lightning as L
import torch

from lit_hw.config.checks import require_whole
from lit_hw.data.tensor_split import TensorSplit, batch_tensors, split_loader


class TensorDataModule(L.LightningDataModule):
    """Subclasses fill ``self.splits`` ('train', 'val', 'test') in ``setup``; this serves them."""

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int,
        on_device: bool,
        seed: int,
        steps_per_execution: int = 1,
        test_every_epoch: bool = False,
    ):
        super().__init__()
        require_whole("data.batch_size", batch_size, minimum=1)
        require_whole("data.eval_batch_size", eval_batch_size, minimum=1)
        require_whole("data.steps_per_execution", steps_per_execution, minimum=1)
        self.test_every_epoch = test_every_epoch
        self.steps_per_execution = steps_per_execution
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.on_device = on_device
        self.seed = seed
        self.splits: dict[str, TensorSplit] = {}

    def move_to_accelerator(self) -> None:
        """Keep the tensors on the accelerator when there is one: batches then never cross PCIe."""
        if not self.on_device or self.trainer is None:
            return
        device = self.trainer.strategy.root_device
        if device.type != "cpu":
            self.splits = {name: split.to(device) for name, split in self.splits.items()}

    def train_dataloader(self):
        # Under DDP one training_step must make one backward: DDP syncs gradients only for the
        # first backward after each forward, so chunking would silently skip the sync.
        distributed = self.trainer is not None and self.trainer.world_size > 1
        steps = 1 if distributed else self.steps_per_execution
        return split_loader(
            self.splits["train"], self.batch_size, shuffle=True, seed=self.seed, steps_per_execution=steps
        )

    def val_dataloader(self):
        val = split_loader(self.splits["val"], self.eval_batch_size, shuffle=False)
        if not self.test_every_epoch:
            return val
        # Per-epoch test curves (the lr study plots them); the task logs them as test_epoch/*.
        return [val, split_loader(self.splits["test"], self.eval_batch_size, shuffle=False)]

    def test_dataloader(self):
        return split_loader(self.splits["test"], self.eval_batch_size, shuffle=False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        # Batches sliced from on-device splits are already there: skip Lightning's per-step walk.
        if all(isinstance(t, torch.Tensor) and t.device == device for t in batch_tensors(batch)):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def describe(self) -> dict:
        return {"sizes": {name: len(split) for name, split in self.splits.items()}}
