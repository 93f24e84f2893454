"""1-D conv nets for the toy functions: one input channel, one output channel per target.

Every convolution pads circularly ('same' length), like the periodic toy signals.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from lit_hw.config.checks import is_whole, require_whole, require_wholes
from lit_hw.core.errors import ConfigError


def conv_stack(out_channels: int, channels: Sequence[int], kernel_size: int, activation: bool) -> nn.Sequential:
    """Conv(kernel_size) [+ReLU] per entry of ``channels``, then a 1x1 conv to ``out_channels``."""
    channels = require_wholes("model.channels", channels, minimum=1, allow_empty=True)
    if not is_whole(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(
            f"model.kernel_size={kernel_size!r} must be an odd whole number >= 1 (keeps the signal length)"
        )
    require_whole("model.out_channels", out_channels, minimum=1)  # one per target
    layers: list[nn.Module] = []
    width = 1
    for c in channels:
        layers.append(nn.Conv1d(width, c, kernel_size, padding=kernel_size // 2, padding_mode="circular"))
        if activation:
            layers.append(nn.ReLU())
        width = c
    layers.append(nn.Conv1d(width, out_channels, 1))
    return nn.Sequential(*layers)


class ToyLinear(nn.Module):
    """Convolutions with no nonlinearity between them: the whole net is one linear map
    (a single filter of width ``len(channels) * (kernel_size - 1) + 1`` per target)."""

    def __init__(self, out_channels: int = 1, channels: Sequence[int] = (16,), kernel_size: int = 9):
        super().__init__()
        self.layers = conv_stack(out_channels, channels, kernel_size, activation=False)

    def forward(self, x):
        return self.layers(x)


class ToyConvNet(nn.Module):
    """Conv + ReLU per entry of ``channels``, then a 1x1 conv to one channel per target."""

    def __init__(self, out_channels: int = 1, channels: Sequence[int] = (32, 32, 32), kernel_size: int = 5):
        super().__init__()
        if not list(channels):
            raise ConfigError(
                "model.channels=[] leaves toy_convnet without a ReLU layer; give at least one size, or use model=toy_linear"
            )
        self.layers = conv_stack(out_channels, channels, kernel_size, activation=True)

    def forward(self, x):
        return self.layers(x)
