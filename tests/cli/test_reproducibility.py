"""Same seed and config, same numbers on CPU: across runs and inside a multirun; each run
records what produced it (versions, git commit, the resolved config)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import lit_hw
from tests.helpers.cli import run_cli

# dropout is on, so the runs also prove that the global RNG is seeded the same way
CONFIG = [
    "model=cnn",
    "model.channels=[4]",
    "model.fc_size=16",
    "model.dropout=0.3",
    "data.batch_size=32",
    "trainer.max_epochs=2",
    "trainer.accelerator=cpu",
    "logger=none",
    "seed=3",
]


def comparable(metrics: dict) -> dict:
    history = [{k: v for k, v in row.items() if k != "train_time_s"} for row in metrics["history"]]
    return {"status": metrics["status"], "final": metrics["final"], "history": history}


@pytest.fixture(scope="module")
def runs(random_mnist_dir, tmp_path_factory) -> dict[str, Path]:
    """Two single runs and a 2-job multirun (basic launcher) whose first job is the same config."""
    base = tmp_path_factory.mktemp("repro")
    data = ["data.source=local", f"data.data_dir={random_mnist_dir}"]
    calls = {
        "first": [*CONFIG, *data, "optim.lr=0.002", f"hydra.run.dir={base / 'first'}"],
        "second": [*CONFIG, *data, "optim.lr=0.002", f"hydra.run.dir={base / 'second'}"],
        "sweep": ["-m", *CONFIG, *data, "optim.lr=0.002,0.004", f"hydra.sweep.dir={base / 'sweep'}"],
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda args: run_cli("lit_hw.train", *args), calls.values()))
    jobs = sorted(p.parent for p in (base / "sweep").glob("*/metrics.json"))
    assert len(jobs) == 2, jobs
    job = next(j for j in jobs if "optim.lr=0.002" in json.loads((j / "metrics.json").read_text())["overrides"])
    return {"first": base / "first", "second": base / "second", "sweep_job": job}


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.slow
def test_same_seed_same_metrics_across_two_runs(runs):
    first, second = metrics(runs["first"]), metrics(runs["second"])
    assert first["status"] == "ok" and len(first["history"]) == 2
    assert comparable(first) == comparable(second)


@pytest.mark.slow
def test_single_run_equals_the_same_job_inside_a_multirun(runs):
    assert comparable(metrics(runs["first"])) == comparable(metrics(runs["sweep_job"]))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["first", "sweep_job"])
def test_run_dir_records_versions_commit_and_resolved_config(runs, which):
    import lightning
    import torch

    run_dir = runs[which]
    versions = metrics(run_dir)["versions"]
    assert versions["lit_hw"] == lit_hw.__version__
    assert versions["torch"] == torch.__version__ and versions["lightning"] == lightning.__version__
    assert versions["git_commit"] is None or len(versions["git_commit"].removesuffix("-dirty")) == 40
    if (Path(lit_hw.__file__).resolve().parents[1] / ".git").exists():
        assert versions["git_commit"], "a git checkout must record its commit"

    text = (run_dir / "config_resolved.yaml").read_text()
    assert "${" not in text  # resolved: paths and interpolations are the values used
    config = yaml.safe_load(text)
    assert {"data", "model", "optim", "init", "trainer", "callbacks", "seed"} <= set(config)
    assert config["seed"] == 3 and config["optim"]["lr"] == 0.002 and config["model"]["dropout"] == 0.3
    assert config["model"]["_target_"] == "lit_hw.nets.cnn.ConvNet"
    assert Path(config["paths"]["output_dir"]).resolve() == run_dir.resolve()
