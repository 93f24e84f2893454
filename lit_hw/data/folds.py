"""k-fold cross-validation on a training split: ``data.folds=K data.fold=i``.

Validation is the i-th of K stratified folds (each digit in the same proportion in every fold),
drawn with sklearn's StratifiedKFold, shuffled with ``data.seed``: the K jobs of
``-m data.fold=0,1,...,K-1 data.folds=K`` get disjoint validation sets that together cover the
split, and train on the rest. The test split stays the official one.
"""

from __future__ import annotations

import torch

from lit_hw.config.checks import require_whole
from lit_hw.core.errors import ConfigError


def check_fold_settings(folds, fold, val_size) -> None:
    """One-line errors for settings that cannot pick a fold; ``folds=None`` means no k-fold."""
    if folds is None:
        if fold is not None:
            raise ConfigError(f"data.fold={fold!r} needs data.folds (the number of folds, e.g. data.folds=5)")
        return
    require_whole("data.folds", folds, minimum=2)
    if fold is None or not isinstance(fold, int) or isinstance(fold, bool) or not 0 <= fold < folds:
        raise ConfigError(
            f"data.fold={fold!r} must be a whole number from 0 to {folds - 1} with data.folds={folds} "
            f"(all of them: -m data.fold={','.join(map(str, range(folds)))} data.folds={folds})"
        )
    if val_size not in (None, "auto"):
        raise ConfigError(
            f"data.val_size={val_size!r} and data.folds={folds} both choose the validation split; "
            "with k-fold the validation set is the fold: drop data.val_size"
        )


def check_fold_count(folds: int, n_train: int) -> None:
    if folds > n_train:
        raise ConfigError(f"data.folds={folds} exceeds the {n_train} training images; use at most {n_train} folds")


def fold_indices(labels: torch.Tensor, folds: int, fold: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, validation indices) of fold ``fold`` of ``folds`` stratified folds of ``labels``."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    check_fold_count(folds, len(labels))
    smallest = int(torch.bincount(labels).masked_fill(torch.bincount(labels) == 0, len(labels)).min())
    if folds > smallest:
        raise ConfigError(
            f"data.folds={folds} exceeds {smallest}, the image count of the rarest class: stratified folds "
            f"need each class in every fold; use data.folds={smallest} or fewer"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    train, val = list(splitter.split(np.zeros(len(labels)), labels.numpy()))[fold]
    return torch.as_tensor(train), torch.as_tensor(val)
