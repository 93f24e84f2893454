"""The assignment's theory questions as code that checks itself.

  sigmoid_check.py     σ' = σ(1 − σ) as an autograd Function (lit_hw/nets/sigmoid.py): gradcheck, vs torch.sigmoid
  zero_init.py         a zero-initialized ReLU MLP never leaves zero; He/Xavier do
  shared_threshold.py  relu(x − t) with one shared t is a Linear+ReLU with a shifted bias
  toy4_backprop.py     the toy convnet's and linear model's gradients by hand vs autograd (float64, ties, kink)

``run_all()`` runs the four checks; ``python -m lit_hw.experiments.theory`` prints their results as JSON.
"""

from __future__ import annotations

from lit_hw.experiments.theory.shared_threshold import check_shared_threshold
from lit_hw.experiments.theory.sigmoid_check import check_sigmoid
from lit_hw.experiments.theory.toy4_backprop import check_toy4_backprop
from lit_hw.experiments.theory.zero_init import check_zero_init


def run_all(seed: int = 0, zero_init_data=None) -> dict:
    return {
        "sigmoid_from_output": check_sigmoid(seed=seed),
        "zero_init": check_zero_init(seed=seed, data=zero_init_data),
        "shared_threshold": check_shared_threshold(seed=seed),
        "toy4_backprop": check_toy4_backprop(seed=seed),
    }
