"""Weight initialization schemes (``init=zero|he|xavier``) applied to every Linear and Conv layer of a net."""

from __future__ import annotations

from torch import nn

from lit_hw.config.checks import require_in

SCHEMES = ("default", "zero", "he", "xavier")
_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)


def apply_init(net: nn.Module, scheme: str) -> nn.Module:
    """default keeps PyTorch's init; zero zeroes weights *and* biases; he/xavier zero the biases."""
    require_in("init.scheme", scheme, SCHEMES, what="scheme")
    if scheme == "default":
        return net
    for layer in net.modules():
        if not isinstance(layer, _LAYERS):
            continue
        if scheme == "zero":
            nn.init.zeros_(layer.weight)
        elif scheme == "he":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        else:
            nn.init.xavier_normal_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return net
