"""Cluster tests: a real one-node SLURM cluster and a Ray head (``make test-cluster`` starts both with
cluster/start.sh and stops them afterwards). Skipped where neither runs, so `pytest` alone stays green."""

from __future__ import annotations

import os
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


def missing(what: str) -> None:
    """Under make test-cluster (LIT_HW_CLUSTER_REQUIRED=1) a cluster that is not up fails the test."""
    message = f"{what} (make test-cluster starts one)"
    if os.environ.get("LIT_HW_CLUSTER_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def slurm():
    if not slurm_up():
        missing("no SLURM cluster answers sinfo")


@pytest.fixture(scope="session")
def ray_head():
    if not ray_head_up():
        missing("no Ray head answers `ray status`")
