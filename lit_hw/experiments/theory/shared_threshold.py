"""A ReLU with one learnable threshold shared by all units adds no expressive power.

relu(Wx + b − t) = relu(Wx + (b − t·1)): a Linear layer followed by the shared-threshold
ReLU is exactly a Linear+ReLU whose bias is shifted by t. Conversely any Linear+ReLU is
the t = 0 case. So the threshold is a redundant parameter, never a new function.
"""

from __future__ import annotations

import torch
from torch import nn


class SharedThresholdReLU(nn.Module):
    """relu(x − t) with one learnable scalar t for every unit."""

    def __init__(self, threshold: float = 0.0):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(float(threshold)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x - self.threshold)


def fold_threshold(linear: nn.Linear, activation: SharedThresholdReLU) -> nn.Sequential:
    """The plain Linear+ReLU computing the same function as ``linear`` then ``activation``."""
    folded = nn.Linear(linear.in_features, linear.out_features, dtype=linear.weight.dtype)
    with torch.no_grad():
        folded.weight.copy_(linear.weight)
        bias = linear.bias if linear.bias is not None else torch.zeros(linear.out_features)
        folded.bias.copy_(bias - activation.threshold)
    return nn.Sequential(folded, nn.ReLU())


def check_shared_threshold(
    seed: int = 0, trials: int = 20, in_features: int = 16, out_features: int = 32, batch: int = 256
) -> dict:
    """Random layers, thresholds and inputs: the largest output gap between the two forms (float64)."""
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(trials):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        linear = nn.Linear(in_features, out_features).double()
        activation = SharedThresholdReLU(float(torch.randn((), generator=generator) * 2)).double()
        x = torch.randn(batch, in_features, generator=generator, dtype=torch.float64) * 3
        with torch.no_grad():
            gap = (activation(linear(x)) - fold_threshold(linear, activation)(x)).abs().max()
        worst = max(worst, float(gap))
    return {"trials": trials, "max_abs_output_diff": worst}
