"""How many training images the validation hold-out takes (``data.val_size``)."""

from __future__ import annotations

from lit_hw.core.errors import ConfigError, DataError

FULL_TRAIN_SIZE = 60_000  # MNIST's, Fashion-MNIST's and KMNIST's training split
DEFAULT_VAL_FRACTION = 5_000 / FULL_TRAIN_SIZE


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
