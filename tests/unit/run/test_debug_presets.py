"""The debug presets (conf/debug/*.yaml) each train, in-process, and do what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lit_hw.train import train

CONF = Path(__file__).resolve().parents[3] / "conf"


def run_preset(name: str, tmp_path: Path, data_dir: Path, *overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"debug={name}", "data.source=local", f"data.data_dir={data_dir}",
                                          "logger=none", "trainer.accelerator=cpu", f"paths.output_dir={tmp_path}",
                                          "callbacks.progress_bar.refresh_rate=0", *overrides])  # fmt: skip
    train(cfg)
    return json.loads((tmp_path / "metrics.json").read_text())


def test_fdr_runs_one_batch_of_everything(tmp_path, random_mnist_dir):
    record = run_preset("fdr", tmp_path, random_mnist_dir)
    assert record["status"] == "ok" and record["epochs_run"] == 1 and "test/acc" in record["final"]
    assert record["history"][0]["step"] == 1  # one optimizer step, though its loader batch holds a chunk of 8


@pytest.mark.slow
def test_overfit_drives_the_training_loss_towards_zero(tmp_path, real_mnist_dir):
    record = run_preset("overfit", tmp_path, real_mnist_dir)
    assert record["status"] == "ok"
    assert record["final"]["train/loss"] < 0.05, record["final"]
    assert record["history"][0]["step"] == 4  # 4 minibatches an epoch


def test_limit_runs_two_short_epochs(tmp_path, random_mnist_dir):
    record = run_preset("limit", tmp_path, random_mnist_dir, "data.steps_per_execution=1", "data.batch_size=16")
    # 500 training images at batch 16: 32 batches, of which 20 an epoch
    assert record["status"] == "ok" and [row["step"] for row in record["history"]] == [20, 40]


def test_profiler_writes_its_report_into_the_run_dir(tmp_path, random_mnist_dir):
    record = run_preset("profiler", tmp_path, random_mnist_dir, "trainer.limit_train_batches=2")
    assert record["status"] == "ok"
    report = (tmp_path / "fit-profiler.txt").read_text()
    assert "Profiler Report" in report and "run_training_epoch" in report


def test_anomaly_detection_trains(tmp_path, random_mnist_dir):
    import torch

    record = run_preset("anomaly", tmp_path, random_mnist_dir, "trainer.limit_train_batches=2")
    assert record["status"] == "ok"
    torch.autograd.set_detect_anomaly(False)  # Lightning leaves it on for the process
