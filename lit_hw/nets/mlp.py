from __future__ import annotations

from typing import Sequence

from torch import nn

from lit_hw.errors import ConfigError
from lit_hw.nets.activations import make_activation


class MLP(nn.Module):
    """Flatten, then Linear+activation per hidden size, then a Linear to the class logits."""

    def __init__(
        self,
        in_features: int = 784,
        hidden_sizes: Sequence[int] = (256,),
        num_classes: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        hidden_sizes = list(hidden_sizes)
        if not hidden_sizes:
            raise ConfigError(
                "model.hidden_sizes=[] leaves the MLP without a hidden layer; give at least one size "
                "(e.g. [256]) or use model=linear"
            )
        if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden_sizes):
            raise ConfigError(f"model.hidden_sizes={hidden_sizes} must be whole numbers >= 1")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), make_activation(activation)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
