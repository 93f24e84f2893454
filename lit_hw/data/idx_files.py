"""Checks on MNIST IDX files, so that a bad file is reported by name and fault.

torchvision reads the files; this module only explains why a read failed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from lit_hw.core.errors import DataError

# IDX magic numbers: two zero bytes, the data type (0x08 = uint8), the number of dims.
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def raw_folder(data_dir: str | os.PathLike) -> Path:
    """Where torchvision's MNIST class looks for the files: <data_dir>/MNIST/raw."""
    return Path(data_dir) / "MNIST" / "raw"


def missing_files(data_dir: str | os.PathLike) -> list[Path]:
    folder = raw_folder(data_dir)
    return [folder / name for pair in MNIST_FILES.values() for name in pair if not (folder / name).is_file()]


def read_header(path: Path, expected_magic: int) -> tuple[int, ...]:
    """Validate an IDX file's header and size; return its shape."""
    dims = expected_magic & 0xFF
    header_size = 4 * (dims + 1)
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(header_size)
    if len(header) < header_size:
        raise DataError(f"{path}: truncated IDX file: {size} bytes, shorter than its {header_size}-byte header")
    (magic,) = struct.unpack(">i", header[:4])
    if magic != expected_magic:
        kind = "image" if expected_magic == IMAGE_MAGIC else "label"
        raise DataError(
            f"{path}: not an MNIST {kind} IDX file: magic number 0x{magic:08x}, expected 0x{expected_magic:08x}"
        )
    shape = struct.unpack(f">{dims}i", header[4:])
    expected = header_size
    count = 1
    for d in shape:
        count *= d
    expected += count
    if size != expected:
        what = "truncated" if size < expected else "too long"
        raise DataError(
            f"{path}: {what} IDX file: header declares shape {tuple(shape)} ({expected} bytes), file has {size} bytes"
        )
    return tuple(shape)


def check_split(data_dir: str | os.PathLike, split: str) -> int:
    """Validate one split's image and label files; return its number of examples."""
    images_name, labels_name = MNIST_FILES[split]
    folder = raw_folder(data_dir)
    image_shape = read_header(folder / images_name, IMAGE_MAGIC)
    label_shape = read_header(folder / labels_name, LABEL_MAGIC)
    if image_shape[0] != label_shape[0]:
        raise DataError(
            f"{folder}: {images_name} holds {image_shape[0]} images but {labels_name} holds "
            f"{label_shape[0]} labels; the two files must have the same length"
        )
    if tuple(image_shape[1:]) != (28, 28):
        raise DataError(f"{folder / images_name}: images are {image_shape[1:]}, MNIST images are 28x28")
    return image_shape[0]


def write_idx(path: str | os.PathLike, array) -> None:
    """Write a uint8 array as an IDX file (used by tests and benchmarks to make MNIST-format data)."""
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x00000800 | array.ndim
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack(">i", magic))
        f.write(struct.pack(f">{array.ndim}i", *array.shape))
        f.write(array.tobytes())
