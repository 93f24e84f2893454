"""Activation layers by name, so configs can say ``activation: sigmoid``."""

from __future__ import annotations

from torch import nn

from lit_hw.config.checks import require_in
from lit_hw.nets.sigmoid import SigmoidFromOutput

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "sigmoid_from_output": SigmoidFromOutput,
}


def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS[require_in("model.activation", name, ACTIVATIONS, what="activation")]()
