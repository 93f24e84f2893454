"""Every experiment preset composes and trains a few steps; `reproduce fast=true` writes a full report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lit_hw.train import train

CONF = Path(__file__).resolve().parents[2] / "conf"
PRESETS = (
    "toy",
    "toy_seeds",
    "toy_signals",
    "mnist_linear",
    "mnist_mlp",
    "mnist_cnn",
    "lr_sweep",
    "lr_sweep_adam",
    "init_sweep",
    "autoencoder",
)
FEW_STEPS = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "logger=none",
    "trainer.accelerator=cpu",
]


def compose_preset(name: str, *overrides: str, hydra_node: bool = False):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"experiment={name}", *overrides], return_hydra_config=hydra_node)


def first_sweep_job(cfg) -> list[str]:
    """The overrides of a sweep preset's first job (what `-m` would run first)."""
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    return [f"{key}={str(values).split(',')[0]}" for key, values in params.items()]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_and_trains_a_few_steps(name, tmp_path, random_mnist_dir):
    assert (CONF / "experiment" / f"{name}.yaml").is_file(), f"conf/experiment/{name}.yaml is missing"
    data = ["data.source=local", f"data.data_dir={random_mnist_dir}"]
    if name in ("toy", "toy_seeds"):
        data = ["data.n_train=32", "data.n_val=8", "data.n_test=8"]
    if name == "toy_signals":
        data = ["data.n_train=32", "data.n_val=8", "data.n_test=8", "data.length=32"]
    probe = compose_preset(name, hydra_node=True)
    cfg = compose_preset(name, *first_sweep_job(probe), *data, *FEW_STEPS, f"paths.output_dir={tmp_path}")
    assert cfg.monitor.metric.startswith("val/")
    final = train(cfg)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "ok"
    assert any(key.startswith("test/") for key in final)


def test_toy_experiment_is_a_two_model_multirun_with_a_comparison(cli, tmp_path):
    cli(
        "lit_hw.train",
        "experiment=toy_signals",
        "data.n_train=32",
        "data.n_val=8",
        "data.n_test=8",
        "data.length=32",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={tmp_path}",
    )
    scores = json.loads((tmp_path / "toy_comparison.json").read_text())
    assert set(scores) == {"toy_linear", "toy_convnet"}
    assert "r2_linear_smooth" in scores["toy_linear"]
    assert (tmp_path / "figures" / "toy_comparison.png").stat().st_size > 1000
    assert "| linear_smooth |" in (tmp_path / "toy_comparison.md").read_text()


@pytest.mark.slow
def test_reproduce_fast_writes_every_section(cli, tmp_path, real_mnist_dir):
    report_dir = tmp_path / "report"
    cli(
        "lit_hw.reproduce",
        "fast=true",
        "data_source=local",
        f"data_dir={real_mnist_dir}",
        f"hydra.run.dir={report_dir}",
        timeout=1500,
    )
    report = (report_dir / "REPORT.md").read_text()
    for title in (
        "Toy functions",
        "Toy signals (1-D)",
        "MNIST classifiers",
        "Learning-rate sweep",
        "Initialization sweep",
        "Autoencoder vs PCA",
        "Theory checks",
        "Claims",
    ):
        assert f"## {title}" in report, title
    assert "MNIST source (as resolved by the datamodule): **local**" in report
    assert "failed" not in report
    for link in (
        "runs/toy/figures/toy_fits.png",
        "runs/toy_signals/figures/toy_comparison.png",
        "runs/autoencoder/figures/codes_scatter.png",
        "runs/autoencoder/figures/reconstructions.png",
        "figures/mnist_val_acc.png",
        "figures/lr_sweep_train_loss.png",
        "figures/init_sweep_val_acc.png",
    ):
        assert f"]({link})" in report, link
        assert (report_dir / link).is_file(), link
    assert "gradcheck | True" in report
    assert "Largest difference overall" in report and "within the bound" in report
    assert report.count("| holds |") + report.count("| does not hold |") == 12
