from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from lit_hw.config.checks import require_fraction, require_wholes
from lit_hw.core.errors import ConfigError


class ConvNet(nn.Module):
    """Conv(3x3, same) -> ReLU -> MaxPool(2) per channel count, dropout, FC, dropout, FC.

    Pooling right after each conv keeps the default CPU-friendly: the second conv
    runs on 14x14 maps, the classifier head on 7x7.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        channels: Sequence[int] = (32, 64),
        fc_size: int = 128,
        dropout: float = 0.25,
        num_classes: int = 10,
    ):
        super().__init__()
        channels = list(channels)
        require_wholes("model.channels", channels, minimum=1)
        if image_size // 2 ** len(channels) < 1:
            raise ConfigError(
                f"model.channels={channels}: {len(channels)} poolings shrink a {image_size}px image below 1px; "
                f"use at most {image_size.bit_length() - 1} conv layers"
            )
        require_fraction("model.dropout", dropout)
        layers: list[nn.Module] = []
        width, size = in_channels, image_size
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width, size = c, size // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(width * size * size, fc_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fc_size, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
