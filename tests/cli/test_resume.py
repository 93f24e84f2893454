"""Interruption and resume with real child processes: SIGKILL mid-epoch, resume, Ctrl-C.

The model is a small ConvNet *with dropout*, so the test also proves that the
per-epoch reseeding (lit_hw.callbacks.epoch_seed) makes a resumed run draw the
same dropout masks as an uninterrupted one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from tests.helpers.cli import run_cli
from tests.helpers.sweeps import start

MAX_EPOCHS = 2


def overrides(data_dir: Path, run_dir: Path) -> list[str]:
    # ~460 steps per epoch (~0.8 s on an idle 2-core CPU): a signal sent just after epoch 0 lands in epoch 1
    return [
        "model=cnn",
        "model.channels=[4]",
        "model.fc_size=16",
        "model.dropout=0.3",
        "data.batch_size=8",
        "data.source=local",
        f"data.data_dir={data_dir}",
        f"trainer.max_epochs={MAX_EPOCHS}",
        "trainer.accelerator=cpu",
        "logger=none",
        "seed=7",
        f"hydra.run.dir={run_dir}",
    ]


def wait_until_epoch(proc: subprocess.Popen, run_dir: Path, epoch: int, timeout: float = 240) -> None:
    """Return once epochs 0..epoch-1 are finished: their rows are in metrics.json and last.ckpt is
    on disk (RunRecord writes a row when the epoch's checkpoint is taken, just before the file)."""
    metrics, last = run_dir / "metrics.json", run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before epoch {epoch} (exit {proc.returncode})"
        try:
            if len(json.loads(metrics.read_text())["history"]) >= epoch and last.is_file():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"epoch {epoch} did not start within {timeout} s")


def comparable(metrics: dict) -> dict:
    """Everything a run computed, without the wall-clock timings."""
    history = [{k: v for k, v in row.items() if k != "train_time_s"} for row in metrics["history"]]
    return {"final": metrics["final"], "history": history}


@pytest.fixture(scope="module")
def uninterrupted(real_mnist_dir, tmp_path_factory) -> dict:
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    run_cli("lit_hw.train", *overrides(real_mnist_dir, run_dir))
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(real_mnist_dir, tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    args = overrides(real_mnist_dir, run_dir)
    proc = start(args, tmp_path / "killed.log")
    wait_until_epoch(proc, run_dir, 1)
    time.sleep(0.1)  # inside epoch 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    killed = json.loads((run_dir / "metrics.json").read_text())
    assert killed["status"] == "running" and 1 <= killed["epochs_run"] < MAX_EPOCHS
    last = run_dir / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)  # loads: not half-written
    completed = checkpoint["epoch"]
    assert completed == killed["epochs_run"] - 1, "last.ckpt must be the last *completed* epoch"
    assert checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == completed

    # the long form, into a fresh run dir, and the shorthand, continuing in the same run dir
    elsewhere = tmp_path / "elsewhere"
    run_cli("lit_hw.train", *overrides(real_mnist_dir, elsewhere), f"ckpt_path={last}")
    run_cli("lit_hw.train", *args, f"resume={run_dir}")
    for resumed_dir in (elsewhere, run_dir):
        final = json.loads((resumed_dir / "metrics.json").read_text())
        assert final["status"] == "ok"
        assert final["epochs_run"] == MAX_EPOCHS
        assert comparable(final) == comparable(uninterrupted)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_checkpoint_and_status_interrupted(real_mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    log = tmp_path / "interrupted.log"
    proc = start(overrides(real_mnist_dir, run_dir), log)
    wait_until_epoch(proc, run_dir, 1)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    output = log.read_text()
    assert proc.returncode == 1, output[-3000:]
    assert "Detected KeyboardInterrupt, attempting graceful shutdown" in output and "Traceback" not in output

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "interrupted"
    assert "KeyboardInterrupt" in metrics["error"]
    assert metrics["epochs_run"] >= 1  # the finished epochs are kept

    interrupted = torch.load(run_dir / "checkpoints" / "interrupted.ckpt", map_location="cpu", weights_only=True)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert interrupted["global_step"] >= last["global_step"]  # the weights at the moment of Ctrl-C
    assert last["epoch"] == metrics["epochs_run"] - 1  # the resume point is still the last completed epoch
