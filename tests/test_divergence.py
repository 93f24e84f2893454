"""A run whose loss turns non-finite stops early, says where, keeps its logs and exits 0."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

# On these 5,000 digits lr=10 blows the MLP's loss up to ~1e8 (SGD) or ~1e3 (Adam) without
# reaching NaN within a couple of epochs; lr=1000 with SGD reaches NaN within the first epoch.
DIVERGING = ["model=mlp", "optim=sgd", "optim.lr=1000"]


@pytest.mark.slow
def test_non_finite_loss_stops_the_run_as_diverged(real_mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("lit_hw.train", *DIVERGING, "data.source=local", f"data.data_dir={real_mnist_dir}",
                   "trainer.max_epochs=3", "logger=tensorboard", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0
    assert "training diverged (non-finite loss) at epoch 0" in proc.stdout + proc.stderr

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "diverged"
    where = metrics["diverged_at"]
    assert where["epoch"] == 0 and where["step"] >= 1 and where["loss"] in ("nan", "inf", "-inf")
    assert metrics["epochs_run"] == 1, "stopped early instead of running all 3 epochs"
    assert metrics["history"][0]["train/loss"] in ("nan", "inf")  # non-finite values stay valid JSON
    # the logs and checkpoints of the run are kept
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "config_resolved.yaml").is_file() and (run_dir / "train.log").is_file()
