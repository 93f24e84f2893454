"""The assignment's two toy models for x in R^4, one independent model per target.

Both take x as (N, 1, 4) and return (N, T, 1) (the shapes of lit_hw.data.toy4). Parameters carry a
leading target axis: row t is the model for target t, and no parameter is shared between targets,
so with the loss summed over targets (task.target_loss=sum) each row trains exactly as a model
trained on its target alone would. Neither model has a bias: the assignment's models have none.

  Toy4Linear    p = w·x
  Toy4ConvNet   h_f = w_f * x (3 taps, zero padding, 'same' length 4; * is cross-correlation, as
                in torch's conv1d), f = 1, 2;  r = relu(h);  m = (max r_1[0:2], max r_1[2:4],
                max r_2[0:2], max r_2[2:4]) in R^4;  p = u·m
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lit_hw.config.checks import require_whole

IN_FEATURES = 4
TAPS = 3
FILTERS = 2
POOL = 2  # positions {0,1} and {2,3}


def toy4_points(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, 4) or (N, 4) -> (N, 4)."""
    return x.reshape(len(x), IN_FEATURES)


def uniform_parameter(rows: int, fan_in: int) -> nn.Parameter:
    # PyTorch's default for Linear/Conv weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from torch's
    # global generator (seeded by the run's seed), so seeds give different starts
    bound = 1 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(rows, fan_in).uniform_(-bound, bound))


class Toy4Linear(nn.Module):
    """p_t = w_t·x for each target t; w is (T, 4)."""

    def __init__(self, out_channels: int = 1):
        super().__init__()
        require_whole("model.out_channels", out_channels, minimum=1)  # one per target
        self.w = uniform_parameter(out_channels, IN_FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (toy4_points(x) @ self.w.T).unsqueeze(-1)


def conv_windows(points: torch.Tensor) -> torch.Tensor:
    """(N, 4) -> (N, 4, 3): the zero-padded 3-tap window around each position."""
    return F.pad(points, (TAPS // 2, TAPS // 2)).unfold(1, TAPS, 1)


class Toy4ConvNet(nn.Module):
    """Two 3-tap filters, ReLU, max over position pairs, then p = u·m; per target t: w1[t], w2[t], u[t]."""

    def __init__(self, out_channels: int = 1):
        super().__init__()
        require_whole("model.out_channels", out_channels, minimum=1)  # one per target
        self.w1 = uniform_parameter(out_channels, TAPS)
        self.w2 = uniform_parameter(out_channels, TAPS)
        self.u = uniform_parameter(out_channels, FILTERS * IN_FEATURES // POOL)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-activations h: (N, T, 2, 4), h[n, t, f, j] = sum_k w_f[t, k] xpad[n, j + k]."""
        filters = torch.stack([self.w1, self.w2], dim=1)  # (T, 2, 3)
        return torch.einsum("njk,tfk->ntfj", conv_windows(toy4_points(x)), filters)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """m: (N, T, 4) = (max r_1[0:2], max r_1[2:4], max r_2[0:2], max r_2[2:4]) per target.

        amax splits the gradient evenly between tied maxima (a valid subgradient: the max is not
        differentiable there); lit_hw.experiments.theory.toy4_backprop derives the same rule by hand.
        """
        r = torch.relu(self.hidden(x))
        n, t = r.shape[:2]
        return r.reshape(n, t, FILTERS, IN_FEATURES // POOL, POOL).amax(dim=-1).reshape(n, t, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.pooled(x) * self.u).sum(dim=-1, keepdim=True)
