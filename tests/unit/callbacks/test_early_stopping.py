"""callbacks=early_stopping: off by default, on with one override, stopping on the monitored metric."""

from __future__ import annotations

import json
from pathlib import Path

from hydra import compose, initialize_config_dir

from lit_hw.train import train

CONF = Path(__file__).resolve().parents[3] / "conf"


def run(tmp_path, data_dir, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["data.source=local", f"data.data_dir={data_dir}", "model=linear",
                                          "trainer.max_epochs=5", "logger=none", "trainer.accelerator=cpu",
                                          f"paths.output_dir={tmp_path}", *overrides])  # fmt: skip
    train(cfg)
    return json.loads((tmp_path / "metrics.json").read_text())


def test_early_stopping_is_off_by_default(tmp_path, random_mnist_dir):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        assert "early_stopping" not in compose("train").callbacks


def test_early_stopping_stops_when_the_monitored_metric_does_not_improve(tmp_path, random_mnist_dir):
    # no val/acc gain can reach min_delta=2, so training stops after patience=1 epoch without one
    record = run(tmp_path, random_mnist_dir, "callbacks=early_stopping", "callbacks.early_stopping.patience=1",
                 "callbacks.early_stopping.min_delta=2")  # fmt: skip
    assert record["status"] == "ok" and record["epochs_run"] == 2 and "test/acc" in record["final"]
