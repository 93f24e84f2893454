"""data=fashion_mnist and data=kmnist: MNIST's reader and source rules with each dataset's own folder,
mirrors, checksums, pixel statistics and class names; no bundled fallback for them."""

from __future__ import annotations

import logging

import pytest
import torch
import torchvision.datasets as tv

from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data import mnist
from lit_hw.data.idx_datasets import FASHION_MNIST, KMNIST, MNIST
from lit_hw.data.idx_files import ALL_FILES
from lit_hw.data.mnist import FashionMNISTDataModule, KMNISTDataModule
from tests.helpers.mnist_files import write_random_mnist

MODULES = {"fashion_mnist": FashionMNISTDataModule, "kmnist": KMNISTDataModule}


@pytest.mark.parametrize(
    "dataset, torchvision_class", [(MNIST, tv.MNIST), (FASHION_MNIST, tv.FashionMNIST), (KMNIST, tv.KMNIST)]
)
def test_each_description_is_torchvisions(dataset, torchvision_class):
    # same folder, so a data_dir torchvision filled is read here; same mirrors, checksums and classes
    assert dataset.folder == torchvision_class.__name__
    assert list(dataset.mirrors) == torchvision_class.mirrors
    assert dataset.md5 == dict(torchvision_class.resources)
    assert sorted(dataset.md5) == sorted(f"{name}.gz" for name in ALL_FILES)
    assert len(dataset.class_names) == 10
    if dataset is not MNIST:  # torchvision names MNIST's classes "0 - zero", ...; the figures show the digit
        assert list(dataset.class_names) == torchvision_class.classes


@pytest.mark.parametrize("key, dataset", [("fashion_mnist", FASHION_MNIST), ("kmnist", KMNIST)])
def test_local_files_in_the_datasets_own_folder(tmp_path, key, dataset, monkeypatch):
    monkeypatch.setattr(mnist, "download_idx", _no_download)
    write_random_mnist(tmp_path, n_train=120, n_test=30, dataset=dataset)
    dm = MODULES[key](data_dir=str(tmp_path), source="auto", val_size=20)
    dm.check_before_setup()
    dm.setup()
    assert dm.describe() == {"dataset": dataset.name, "source": "local", "sizes": {"train": 100, "val": 20, "test": 30}}
    assert dm.class_names == dataset.class_names
    # normalized with this dataset's statistics, not MNIST's: uniform noise has mean 0.5 before
    x = dm.splits["train"].tensors[0]
    assert abs(x.mean().item() - (0.5 - dataset.mean) / dataset.std) < 0.05
    # the test split is the t10k files in order, as torchvision reads them from the same folder
    official = getattr(tv, dataset.folder)(str(tmp_path), train=False)
    assert torch.equal(dm.splits["test"].tensors[1], official.targets)


def test_mnist_files_do_not_count_for_another_dataset(random_mnist_dir):
    with pytest.raises(DataError) as err:
        KMNISTDataModule(data_dir=str(random_mnist_dir), source="local").check_before_setup()
    message = str(err.value)
    assert f"{KMNIST.raw_folder(random_mnist_dir).resolve()} is missing train-images-idx3-ubyte" in message
    assert "<data.data_dir>/KMNIST/raw/" in message and "data.source=download" in message
    assert "bundled" not in message and "\n" not in message


@pytest.mark.parametrize("key, dataset", [("fashion_mnist", FASHION_MNIST), ("kmnist", KMNIST)])
def test_no_files_and_no_download_is_one_line_saying_where_they_go(tmp_path, key, dataset, monkeypatch, caplog):
    def offline(dataset, data_dir, mirrors, md5):
        raise DataError(f"could not download train-images-idx3-ubyte.gz: {mirrors[0]}train-images-idx3-ubyte.gz: boom")

    monkeypatch.setattr(mnist, "download_idx", offline)
    dm = MODULES[key](data_dir=str(tmp_path), source="auto")
    with caplog.at_level(logging.WARNING, logger="lit_hw.data.mnist"), pytest.raises(DataError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert f"no {dataset.name} files in {dataset.raw_folder(tmp_path).resolve()}" in message
    assert all(name in message for name in ALL_FILES) and "data.source=download" in message
    assert f"{dataset.mirrors[0]}train-images-idx3-ubyte.gz: boom" in message  # why the download failed
    assert "\n" not in message and not caplog.records  # no fallback, so no warning about one


@pytest.mark.parametrize("key", MODULES)
def test_bundled_is_refused_for_other_datasets(key):
    with pytest.raises(ConfigError, match="only MNIST has a bundled offline sample") as err:
        MODULES[key](source="bundled")
    assert "choose one of auto, local, download" in str(err.value)


def test_default_mirrors_are_the_datasets_own(tmp_path):
    assert FashionMNISTDataModule(data_dir=str(tmp_path)).mirrors == list(FASHION_MNIST.mirrors)
    assert KMNISTDataModule(data_dir=str(tmp_path)).mirrors == list(KMNIST.mirrors)


def _no_download(dataset, data_dir, mirrors, md5):
    raise AssertionError("auto must not download when local files exist")


def test_the_code_scatter_names_the_datasets_classes():
    import numpy as np

    from lit_hw.figures.files import plt
    from lit_hw.figures.plots import plot_codes_side_by_side

    labels = np.arange(20) % 10
    codes = {"a": np.random.default_rng(0).normal(size=(20, 2))}
    for names, title in ((FASHION_MNIST.class_names, "class"), (None, "digit")):
        fig = plot_codes_side_by_side(codes, labels, class_names=names)
        legend = fig.axes[-1].get_legend()
        shown = [text.get_text() for text in legend.get_texts()]
        assert shown == list(names or map(str, range(10))) and legend.get_title().get_text() == title
        plt.close(fig)
