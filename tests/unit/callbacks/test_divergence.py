"""A diverging run stops early, says where and why, keeps its logs and exits 0."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.cli import run_cli

CASES = {
    # the case: lr=10 throws the MLP's loss far above chance (caught by max_loss)
    "lr_10": (["model=mlp", "optim.lr=10"], "loss above max_loss"),
    # a loss that overflows to NaN (max_loss off, so only NaN/inf can stop it)
    "nan": (
        ["model=mlp", "optim=sgd", "optim.lr=1000", "callbacks.stop_on_divergence.max_loss=null"],
        "non-finite loss",
    ),
}


@pytest.mark.slow
def test_diverging_runs_stop_as_diverged(real_mnist_dir, tmp_path):
    def run(case):
        overrides, _ = CASES[case]
        return run_cli(
            "lit_hw.train",
            *overrides,
            "data.source=local",
            f"data.data_dir={real_mnist_dir}",
            "trainer.max_epochs=3",
            "logger=tensorboard",
            f"hydra.run.dir={tmp_path / case}",
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = dict(zip(CASES, pool.map(run, CASES)))

    for case, (_, reason) in CASES.items():
        run_dir = tmp_path / case
        assert procs[case].returncode == 0
        assert f"training diverged ({reason}" in (run_dir / "train.log").read_text()
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["status"] == "diverged", case
        where = metrics["diverged_at"]
        assert where["epoch"] == 0 and where["step"] >= 1 and where["reason"].startswith(reason)
        assert metrics["epochs_run"] == 1, "stopped early instead of running all 3 epochs"
        # the logs and checkpoints of the run are kept
        assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
        assert (run_dir / "checkpoints" / "last.ckpt").is_file() and (run_dir / "config_resolved.yaml").is_file()
    nan_run = json.loads((tmp_path / "nan" / "metrics.json").read_text())
    assert nan_run["diverged_at"]["loss"] in ("nan", "inf", "-inf")  # kept as a string: JSON has no NaN
