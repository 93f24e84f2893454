"""The assignment's toy functions: points x in R^4 and three targets built from one fixed random matrix.

  x ~ U[-x_range, x_range]^4, W ~ U[-w_range, w_range]^(4x4) (drawn once from ``matrix_seed``)

  linear      sum_j (xW)_j        the one target the linear model p = w·x can fit
  max         max_i x_i           piecewise linear, with a positive mean a bias-free linear model cannot reach
  logsumexp   log sum_j exp((xW)_j)   a smooth max of the entries of xW

Each target gets multiplicative Gaussian noise: y = f(x) (1 + noise·ε), ε ~ N(0, 1), 1 % by default.
Targets are not standardized: the assignment fits them as they are.

Shapes follow the 1-D toy (lit_hw.data.toy) so that lit_hw.tasks.regressor serves both: x is
(N, 1, 4), a one-channel signal of length 4, and y is (N, T, 1), one channel per target at one position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from lit_hw.config.checks import require_whole
from lit_hw.core.errors import ConfigError
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import TensorSplit

IN_FEATURES = 4
# (x (N, 4), W (4, 4)) -> (N,), computed in float64
TOY4_TARGETS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "linear": lambda x, w: (x @ w).sum(dim=1),
    "max": lambda x, w: x.max(dim=1).values,
    "logsumexp": lambda x, w: torch.logsumexp(x @ w, dim=1),
}


def toy4_matrix(matrix_seed: int, w_range: float) -> torch.Tensor:
    """The fixed 4x4 matrix W: the same for every data seed, so seeds change samples, not the functions."""
    generator = torch.Generator().manual_seed(matrix_seed)
    return (torch.rand(IN_FEATURES, IN_FEATURES, generator=generator, dtype=torch.float64) * 2 - 1) * w_range


class Toy4DataModule(TensorDataModule):
    """The three splits of the assignment's toy problem, drawn from one generator seeded with ``seed``.

    The assignment has 1,000 training and 200 test points and no validation split; ``n_val``
    extra points from the same distribution pick the best checkpoint, so the test points stay unseen.
    """

    def __init__(
        self,
        targets: Sequence[str] = ("linear", "max", "logsumexp"),
        n_train: int = 1000,
        n_val: int = 200,
        n_test: int = 200,
        x_range: float = 2.5,
        w_range: float = 2.0,
        matrix_seed: int = 0,
        noise: float = 0.01,
        batch_size: int = 32,
        eval_batch_size: int = 1000,
        on_device: bool = True,
        seed: int = 0,
        steps_per_execution: int = 1,
    ):
        targets = list(targets)
        unknown = [t for t in targets if t not in TOY4_TARGETS]
        if not targets or unknown or len(set(targets)) != len(targets):
            raise ConfigError(
                f"data.targets={targets}: give each of {', '.join(TOY4_TARGETS)} at most once, and at least one"
            )
        for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
            require_whole(f"data.{name}", value, minimum=1)
        for name, value in (("x_range", x_range), ("w_range", w_range)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"data.{name}={value!r} must be a positive number")
        if not isinstance(noise, (int, float)) or not noise >= 0:
            raise ConfigError(f"data.noise={noise!r} must be a number >= 0 (the relative noise std)")
        # (batch_size, eval_batch_size, on_device, seed, steps_per_execution): TensorDataModule's loader settings
        super().__init__(batch_size, eval_batch_size, on_device, seed, steps_per_execution)
        self.save_hyperparameters()
        self.target_names = targets
        self.sizes = {"train": n_train, "val": n_val, "test": n_test}
        self.x_range, self.noise = float(x_range), float(noise)
        self.matrix = toy4_matrix(matrix_seed, float(w_range))

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n points and their noisy targets, float64: x (n, 4), y (n, T)."""
        x = (torch.rand(n, IN_FEATURES, generator=generator, dtype=torch.float64) * 2 - 1) * self.x_range
        clean = torch.stack([TOY4_TARGETS[t](x, self.matrix) for t in self.target_names], dim=1)
        noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        return x, clean * (1 + self.noise * noise)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        generator = torch.Generator().manual_seed(self.seed)
        splits = {}
        for split, n in self.sizes.items():
            x, y = self.draw(n, generator)
            splits[split] = TensorSplit(x.float().unsqueeze(1), y.float().unsqueeze(-1))
        self.splits = splits
        self.move_to_accelerator()

    def describe(self) -> dict:
        return {"source": "toy4", "targets": list(self.target_names), **super().describe()}
