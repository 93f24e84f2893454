"""lit_hw: the classic first deep-learning experiments on PyTorch Lightning + Hydra."""

__version__ = "0.1.0"
