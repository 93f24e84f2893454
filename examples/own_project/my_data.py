"""A datamodule of this project's own: scikit-learn's 8x8 handwritten digits (1,797 images, shipped
with scikit-learn, so nothing to download), named by conf/data/my_data.yaml.

What lit_hw needs from a datamodule (docs/own_project.md): train, val and test loaders of (inputs,
labels) batches; a test split that does not move with the seed; ``save_hyperparameters()`` of plain
values (checkpoints keep them, and ``lit_hw.evaluate`` rebuilds the datamodule from them); and, for
metrics.json and the sweep summary, ``describe()``.
"""

from __future__ import annotations

import lightning as L
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from lit_hw.core.errors import ConfigError

# the test split is drawn once with this seed: every run, whatever its seed, is tested on the same images
TEST_SPLIT_SEED = 0


class DigitsDataModule(L.LightningDataModule):
    def __init__(
        self,
        batch_size: int = 32,
        eval_batch_size: int = 500,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        seed: int = 0,
    ):
        super().__init__()
        for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < value < 1:
                raise ConfigError(f"data.{key}={value!r} must be a fraction in (0, 1)")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"data.batch_size={batch_size!r} must be a whole number >= 1")
        # kept in checkpoints and compared by the stacked launcher: plain values only
        self.save_hyperparameters()
        self.splits: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) in [0, 1]
        labels = torch.tensor(digits.target, dtype=torch.long)
        index = torch.arange(len(labels))
        rest, test = train_test_split(
            index, test_size=self.hparams.test_fraction, stratify=labels, random_state=TEST_SPLIT_SEED
        )
        train, val = train_test_split(
            rest, test_size=self.hparams.val_fraction, stratify=labels[rest], random_state=self.hparams.seed
        )
        self.splits = {
            name: TensorDataset(images[i], labels[i]) for name, i in (("train", train), ("val", val), ("test", test))
        }

    def train_dataloader(self):
        order = torch.Generator().manual_seed(self.hparams.seed)
        return DataLoader(self.splits["train"], batch_size=self.hparams.batch_size, shuffle=True, generator=order)

    def val_dataloader(self):
        return DataLoader(self.splits["val"], batch_size=self.hparams.eval_batch_size)

    def test_dataloader(self):
        return DataLoader(self.splits["test"], batch_size=self.hparams.eval_batch_size)

    def describe(self) -> dict:
        """What metrics.json records under info.data."""
        return {"dataset": "sklearn digits 8x8", "sizes": {name: len(split) for name, split in self.splits.items()}}
