"""Toy functions: seeded 1-D signals and several target functions computed from each.

Signals are white Gaussian noise, periodic (circular boundary), so every target is
the same function at every position and the models (circular-padded convolutions)
see no edge effects. Targets map a batch of signals (N, L) to (N, L):

  linear_smooth       a fixed local filter: the one target a linear model can fit
  abs                 |x|: uncorrelated with x, so a linear fit explains ~nothing
  local_max           max over a window of 5: a linear fit explains ~45 % of it
  thresholded_edge    relu(edge filter - 1): a filter then a threshold, ~37 %

``register_target(name, fn)`` adds more; ``data.targets`` picks which are used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from lit_hw.config.checks import require_whole
from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import TensorSplit

TargetFn = Callable[[torch.Tensor], torch.Tensor]
TARGETS: dict[str, TargetFn] = {}


def register_target(name: str, fn: TargetFn) -> TargetFn:
    """Make ``fn`` (signals (N, L) -> targets (N, L)) available as ``data.targets=[..., name]``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(
            f"toy target name {name!r} must be a plain identifier (letters, digits, _): it becomes a metric name"
        )
    if name in TARGETS:
        raise ConfigError(f"toy target {name!r} is already registered; pick another name")
    if not callable(fn):
        raise ConfigError(f"toy target {name!r}: {fn!r} is not callable; give a function of a (N, L) tensor")
    TARGETS[name] = fn
    return fn


def circular_filter(signals: torch.Tensor, kernel: Sequence[float]) -> torch.Tensor:
    """Correlate each signal with ``kernel`` (odd length), wrapping around the ends."""
    weight = torch.tensor(kernel, dtype=signals.dtype).view(1, 1, -1)
    x = F.pad(signals.unsqueeze(1), (len(kernel) // 2, len(kernel) // 2), mode="circular")
    return F.conv1d(x, weight).squeeze(1)


# Kernels scaled to unit norm, so each filter's output of unit white noise has unit variance.
SMOOTH_KERNEL = [k / math.sqrt(19) for k in (1.0, 2.0, 3.0, 2.0, 1.0)]
EDGE_KERNEL = [k / math.sqrt(2) for k in (-1.0, 0.0, 1.0)]


def local_max(signals: torch.Tensor, window: int = 5) -> torch.Tensor:
    x = F.pad(signals.unsqueeze(1), (window // 2, window // 2), mode="circular")
    return F.max_pool1d(x, window, stride=1).squeeze(1)


register_target("linear_smooth", lambda x: circular_filter(x, SMOOTH_KERNEL))
register_target("abs", torch.abs)
register_target("local_max", local_max)
register_target("thresholded_edge", lambda x: F.relu(circular_filter(x, EDGE_KERNEL) - 1.0))
DEFAULT_TARGETS = ("linear_smooth", "abs", "local_max", "thresholded_edge")


class ToyFunctionsDataModule(TensorDataModule):
    """Signals x (N, 1, L) and targets y (N, T, L), one channel per entry of ``targets``.

    All three splits are drawn from one generator seeded with ``seed``. With
    ``standardize`` each target channel is shifted and scaled by its training-split
    mean and std, so the summed MSE weighs the targets equally and MSE ~ 1 - R².
    """

    def __init__(
        self,
        targets: Sequence[str] | None = None,
        length: int = 128,
        n_train: int = 2000,
        n_val: int = 200,
        n_test: int = 500,
        standardize: bool = True,
        batch_size: int = 32,
        eval_batch_size: int = 500,
        on_device: bool = True,
        seed: int = 0,
        steps_per_execution: int = 1,
    ):
        targets = list(DEFAULT_TARGETS if targets is None else targets)
        if not targets:
            raise ConfigError(f"data.targets=[] has no target; choose from {', '.join(TARGETS)}")
        unknown = [t for t in targets if t not in TARGETS]
        if unknown:
            raise ConfigError(
                f"data.targets: {', '.join(map(repr, unknown))} not registered; choose from {', '.join(TARGETS)}"
            )
        if len(set(targets)) != len(targets):
            raise ConfigError(f"data.targets={targets} names a target twice")
        require_whole("data.length", length, minimum=8)
        for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
            require_whole(f"data.{name}", value, minimum=1)
        super().__init__(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            on_device=on_device,
            seed=seed,
            steps_per_execution=steps_per_execution,
        )
        self.save_hyperparameters()
        self.target_names = targets
        self.length = length
        self.sizes = {"train": n_train, "val": n_val, "test": n_test}
        self.standardize = standardize
        self.target_mean: torch.Tensor | None = None
        self.target_std: torch.Tensor | None = None

    def make_targets(self, signals: torch.Tensor) -> torch.Tensor:
        """(N, L) signals -> (N, T, L) targets, checked for shape and finiteness."""
        outputs = []
        for name in self.target_names:
            y = TARGETS[name](signals)
            if not isinstance(y, torch.Tensor) or y.shape != signals.shape:
                got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise DataError(
                    f"toy target {name!r} returned {got}; it must return a tensor shaped like its input {tuple(signals.shape)}"
                )
            if not torch.isfinite(y).all():
                raise DataError(f"toy target {name!r} returned non-finite values")
            outputs.append(y.to(torch.float32))
        return torch.stack(outputs, dim=1)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        generator = torch.Generator().manual_seed(self.seed)
        raw = {}
        for split, n in self.sizes.items():
            signals = torch.randn(n, self.length, generator=generator)
            raw[split] = (signals.unsqueeze(1), self.make_targets(signals))
        train_y = raw["train"][1]
        if self.standardize:
            self.target_mean = train_y.mean(dim=(0, 2), keepdim=True)[0]
            self.target_std = train_y.std(dim=(0, 2), keepdim=True)[0].clamp_min(1e-8)
        else:
            self.target_mean = torch.zeros(len(self.target_names), 1)
            self.target_std = torch.ones(len(self.target_names), 1)
        self.splits = {split: TensorSplit(x, (y - self.target_mean) / self.target_std) for split, (x, y) in raw.items()}
        self.move_to_accelerator()

    def describe(self) -> dict:
        return {"source": "toy", "targets": list(self.target_names), "length": self.length, **super().describe()}
