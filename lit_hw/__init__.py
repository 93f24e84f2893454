"""lit_hw: the classic first deep-learning experiments on PyTorch Lightning + Hydra.

Entry points: ``python -m lit_hw.train``, ``lit_hw.evaluate``, ``lit_hw.reproduce``, ``lit_hw.report``.
The layers, lowest first: core, config, figures, nets, data, callbacks, tasks, run, sweeps, stacked,
experiments (README.md, "Folders"; tests/test_architecture.py). This file imports nothing, so every
layer may import ``lit_hw``.
"""

__version__ = "0.2.0"
