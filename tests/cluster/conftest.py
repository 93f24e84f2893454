"""Cluster tests: a real one-node SLURM cluster and a Ray head (``make test-cluster`` starts both with
cluster/start.sh and stops them afterwards). Skipped where neither runs, so `pytest` alone stays green."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and any(s in proc.stdout for s in ("idle", "mix", "alloc"))


def ray_head_up() -> bool:
    proc = (
        subprocess.run(["ray", "status"], capture_output=True, text=True, timeout=60) if shutil.which("ray") else None
    )
    return proc is not None and proc.returncode == 0


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def slurm():
    if not slurm_up():
        pytest.skip("no SLURM cluster answers sinfo (make test-cluster starts one)")


@pytest.fixture(scope="session")
def ray_head():
    if not ray_head_up():
        pytest.skip("no Ray head runs here (make test-cluster starts one)")
