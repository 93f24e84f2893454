"""The commands that need no model answer without importing torch or Lightning (5-10 s on a small machine):
``python -m lit_hw.train --help``, a Hydra-level config error, and ``python -m lit_hw.report``.

Each command runs as a user runs it, with PYTHONPROFILEIMPORTTIME=1 (``python -X importtime``):
Python then lists every module it imports on stderr, which the tests read back.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.sweeps import fake_job

HEAVY = ("torch", "lightning", "pytorch_lightning", "torchvision", "torchmetrics")


def run_listing_imports(module: str, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -m <module> <args>``; return the process and the names of the modules it imported."""
    proc = run_cli(module, *args, env={"PYTHONPROFILEIMPORTTIME": "1"}, check=False)
    # lines like "import time:       177 |     105214 |   hydra.utils"
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "lit_hw" in imported, f"no list of imports on stderr:\n{proc.stderr[-2000:]}"
    return proc, imported


def heavy(imported: set[str]) -> list[str]:
    """The heavy packages among ``imported`` (top-level names: the failure message stays readable)."""
    return sorted({name.split(".")[0] for name in imported} & set(HEAVY))


def test_train_help_imports_neither_torch_nor_lightning():
    proc, imported = run_listing_imports("lit_hw.train", "--help")
    assert proc.returncode == 0 and "python -m lit_hw.train [group=option ...]" in proc.stdout
    assert "== Configuration groups ==" in proc.stdout  # Hydra composed the config to list the groups
    assert heavy(imported) == []


@pytest.mark.parametrize(
    "override, message",
    [("model=mlpp", "Could not find 'model/mlpp'"), ("optim.lrr=0.1", "Could not override 'optim.lrr'")],
)
def test_a_hydra_config_error_imports_neither_torch_nor_lightning(override, message):
    proc, imported = run_listing_imports("lit_hw.train", override)
    assert proc.returncode == 1 and message in proc.stderr
    assert heavy(imported) == []


def test_report_imports_neither_torch_nor_lightning(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5, 0.8])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "diverged", [0.3, None])
    fake_job(tmp_path, "2_optim.lr=1", "1", "failed", [0.1], error="RuntimeError: boom")

    proc, imported = run_listing_imports("lit_hw.report", str(tmp_path))

    assert proc.returncode == 0 and "| 0_optim.lr=0.01 |" in proc.stdout
    # the whole summary was written, TensorBoard images included
    assert (tmp_path / "plots" / "curves_val_acc.png").is_file()
    assert len(list((tmp_path / "summary_tensorboard").glob("events.out.tfevents.*"))) == 1
    assert heavy(imported) == []


def test_a_failure_is_told_from_an_interruption_as_before():
    """Ctrl-C and SIGTERM (Lightning's SIGTERMException) are interruptions, anything else a failure:
    lit_hw.core.errors, which no longer imports Lightning to tell them apart, says so as run_record did."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from lit_hw.core.errors import describe, is_interruption

    assert is_interruption(KeyboardInterrupt()) and is_interruption(SIGTERMException())
    assert not is_interruption(RuntimeError("boom")) and not is_interruption(SystemExit(1))
    assert describe(SIGTERMException()) == "SIGTERMException: the process got SIGTERM (scancel, preemption or a kill)"
    assert describe(RuntimeError("boom")) == "RuntimeError: boom"
