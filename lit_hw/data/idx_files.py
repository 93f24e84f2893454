"""IDX files (MNIST's format, shared by Fashion-MNIST and KMNIST), raw or gzip'd (``*-ubyte`` or
``*-ubyte.gz``, as a manual download leaves them).

Every read is checked, so a bad file is reported by name and fault: missing, not gzip, truncated,
a wrong magic number, images and labels of different lengths. Functions take the dataset's raw
folder (lit_hw.data.idx_datasets: <data_dir>/<torchvision class name>/raw).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import torch

from lit_hw.core.errors import DataError

# IDX magic numbers: two zero bytes, the data type (0x08 = uint8), the number of dims.
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
IMAGE_SIZE = (28, 28)

# the same four names for MNIST, Fashion-MNIST and KMNIST
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = [name for pair in SPLIT_FILES.values() for name in pair]


def find(folder: Path, name: str) -> Path | None:
    """The file ``name`` in the raw folder, uncompressed or as ``name.gz``; None if neither is there."""
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def missing_files(folder: Path) -> list[Path]:
    return [folder / name for name in ALL_FILES if find(folder, name) is None]


def holds_any(folder: Path) -> bool:
    return len(missing_files(folder)) < len(ALL_FILES)


def read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err or type(err).__name__})") from None


def check_idx(path: Path, data: bytes, size: int, expected_magic: int) -> tuple[int, ...]:
    """Validate an IDX file's header (the first bytes, ``data``) against its full ``size``; return its shape."""
    dims = expected_magic & 0xFF
    header_size = 4 * (dims + 1)
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX file: {size} bytes, shorter than its {header_size}-byte header")
    (magic,) = struct.unpack(">i", data[:4])
    if magic != expected_magic:
        kind = "image" if expected_magic == IMAGE_MAGIC else "label"
        raise DataError(f"{path}: not an IDX {kind} file: magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    shape = struct.unpack(f">{dims}i", data[4:header_size])
    count = 1
    for d in shape:
        count *= d
    expected = header_size + count
    if size != expected:
        what = "truncated" if size < expected else "too long"
        raise DataError(
            f"{path}: {what} IDX file: header declares shape {tuple(shape)} ({expected} bytes), file has {size} bytes"
        )
    return tuple(shape)


def read_header(path: Path, expected_magic: int) -> tuple[int, ...]:
    """The shape of a checked IDX file (a raw file is not read past its header)."""
    if path.suffix == ".gz":
        data = read_bytes(path)
        return check_idx(path, data, len(data), expected_magic)
    with open(path, "rb") as f:
        header = f.read(4 * ((expected_magic & 0xFF) + 1))
    return check_idx(path, header, path.stat().st_size, expected_magic)


def read_idx(path: Path, expected_magic: int) -> torch.Tensor:
    """A checked IDX file as a uint8 tensor of its declared shape."""
    data = read_bytes(path)
    shape = check_idx(path, data, len(data), expected_magic)
    offset = 4 * (len(shape) + 1)
    return torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8).reshape(shape)


def split_paths(folder: Path, split: str) -> tuple[Path, Path]:
    images_name, labels_name = SPLIT_FILES[split]
    paths = find(folder, images_name), find(folder, labels_name)
    if None in paths:
        missing = [name for name, path in zip((images_name, labels_name), paths) if path is None]
        raise DataError(f"{folder} is missing {', '.join(missing)} (raw or .gz)")
    return paths


def check_split(folder: Path, split: str) -> int:
    """Validate one split's image and label files; return its number of examples."""
    images, labels = split_paths(folder, split)
    image_shape = read_header(images, IMAGE_MAGIC)
    label_shape = read_header(labels, LABEL_MAGIC)
    if image_shape[0] != label_shape[0]:
        raise DataError(
            f"{images.parent}: {images.name} holds {image_shape[0]} images but {labels.name} holds "
            f"{label_shape[0]} labels; the two files must have the same length"
        )
    if tuple(image_shape[1:]) != IMAGE_SIZE:
        raise DataError(f"{images}: images are {image_shape[1:]}, expected 28x28 (the MNIST format)")
    return image_shape[0]


def load_split(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 28, 28) images and int64 labels of one split, raw or gzip'd files alike."""
    images, labels = split_paths(folder, split)
    return read_idx(images, IMAGE_MAGIC), read_idx(labels, LABEL_MAGIC).to(torch.int64)


def write_idx(path: str | os.PathLike, array) -> None:
    """Write a uint8 array as an IDX file (used by tests and benchmarks to make data in the MNIST format)."""
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x00000800 | array.ndim
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack(">i", magic))
        f.write(struct.pack(f">{array.ndim}i", *array.shape))
        f.write(array.tobytes())
