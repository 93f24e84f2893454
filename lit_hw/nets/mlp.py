from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from lit_hw.config.checks import require_wholes
from lit_hw.core.errors import ConfigError
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
        require_wholes("model.hidden_sizes", hidden_sizes, minimum=1)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), make_activation(activation)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)

    def stack_layers(self) -> nn.Sequential:
        """The modules forward runs, in order (lit_hw.stacked.net trains many MLPs as one from them)."""
        return self.layers
