"""Activation layers by name, so configs can say ``activation: sigmoid``."""

from __future__ import annotations

from torch import nn

from lit_hw.errors import ConfigError


def _sigmoid_from_output():
    # Imported lazily: the theory module is optional reading for most users.
    from lit_hw.theory.sigmoid import SigmoidFromOutput

    return SigmoidFromOutput()


ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "sigmoid_from_output": _sigmoid_from_output,
}


def make_activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(
            f"model.activation={name!r} is not known; choose one of {', '.join(ACTIVATIONS)}"
        ) from None
