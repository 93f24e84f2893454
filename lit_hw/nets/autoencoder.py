from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lit_hw.config.checks import require_whole, require_wholes
from lit_hw.core.errors import ConfigError


def dense_stack(sizes: Sequence[int]) -> list[nn.Module]:
    """Linear+ReLU between consecutive sizes, the last Linear left without activation."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


class AutoEncoder(nn.Module):
    """in_features -> hidden_sizes -> code_size -> reversed(hidden_sizes) -> in_features.

    The decoder ends in a sigmoid, so reconstructions are pixels in [0, 1] like the inputs,
    and come back in the input's image shape.
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden_sizes: Sequence[int] = (512, 128),
        code_size: int = 2,
        image_shape: Sequence[int] = (1, 28, 28),
    ):
        super().__init__()
        hidden_sizes = list(hidden_sizes)
        require_wholes("model.hidden_sizes", hidden_sizes, minimum=1, allow_empty=True)
        require_whole("model.code_size", code_size, minimum=1)
        require_whole("model.in_features", in_features, minimum=1)
        image_shape = tuple(image_shape)
        if int(torch.tensor(image_shape).prod()) != in_features:
            raise ConfigError(
                f"model.image_shape={list(image_shape)} holds {int(torch.tensor(image_shape).prod())} pixels, not model.in_features={in_features}"
            )
        self.image_shape = image_shape
        self.encoder = nn.Sequential(nn.Flatten(), *dense_stack([in_features, *hidden_sizes, code_size]))
        self.decoder = nn.Sequential(*dense_stack([code_size, *reversed(hidden_sizes), in_features]), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
