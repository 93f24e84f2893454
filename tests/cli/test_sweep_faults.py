"""A 4-job sweep where one job diverges and one crashes: every job is accounted for.

Jobs (Hydra's basic launcher, cartesian order):
  0  lr=0.05                    ok
  1  lr=0.05, crash at epoch 1   failed (the injected RuntimeError, after a finished epoch)
  2  lr=1000                    diverged (NaN loss in epoch 0)
  3  lr=1000, crash at epoch 1   diverged: it stops in epoch 0, before the crash would come
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.helpers.cli import run_cli

EXPECTED = ["ok", "failed", "diverged", "diverged"]


@pytest.mark.slow
def test_sweep_with_a_diverging_and_a_failing_job(real_mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "lit_hw.train",
        "-m",
        f"hydra.sweep.dir={sweep}",
        "data.source=local",
        f"data.data_dir={real_mnist_dir}",
        "model=mlp",
        "model.hidden_sizes=[64]",
        "optim=sgd",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=0.3",
        "logger=none",
        "test=false",
        "optim.lr=0.05,1000",
        "+callbacks.fail_at._target_=lit_hw.callbacks.fault_injection.FailAtEpoch",
        "+callbacks.fail_at.epoch=null,1",
        check=False,
    )
    # the sweep ran every job, and its exit status says that one failed
    assert proc.returncode != 0, proc.stderr[-3000:]

    job_dirs = sorted((d for d in sweep.iterdir() if (d / ".hydra").is_dir()), key=lambda d: int(d.name.split("_")[0]))
    assert len(job_dirs) == 4, [d.name for d in sweep.iterdir()]
    records = [json.loads((d / "metrics.json").read_text()) for d in job_dirs]
    assert [r["status"] for r in records] == EXPECTED, [
        (d.name, r["status"], r.get("error")) for d, r in zip(job_dirs, records)
    ]

    ok, failed, diverged, diverged_first = records
    assert ok["epochs_run"] == 2 and ok["error"] is None
    assert "InjectedFault" in failed["error"] and "epoch 1" in failed["error"]
    assert failed["epochs_run"] == 1  # the epoch it finished before crashing is kept
    for record in (diverged, diverged_first):
        assert record["diverged_at"]["epoch"] == 0 and record["epochs_run"] == 1

    # the sweep summary lists all four with the same statuses, and the crash message
    with open(sweep / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["status"] for row in rows] == EXPECTED
    assert [row["job"] for row in rows] == [d.name for d in job_dirs]
    assert "InjectedFault" in rows[1]["error"]
    assert "failed" in (sweep / "summary.md").read_text()


def test_a_bad_value_in_one_job_fails_that_job_only(random_mnist_dir, tmp_path):
    """optim.lr=-1 in one job of three: that job is failed with the one-line reason, the others run."""
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "lit_hw.train",
        "-m",
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.job.num}",
        "data.source=local",
        f"data.data_dir={random_mnist_dir}",
        "model=linear",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "logger=none",
        "test=false",
        "optim.lr=0.01,-1,0.1",
        check=False,
        timeout=300,
    )
    assert proc.returncode == 2  # every failure was bad input
    assert "error: job #1 (optim.lr=-1): optim.lr=-1 must be a positive finite number" in proc.stderr
    statuses = [json.loads((sweep / str(i) / "metrics.json").read_text())["status"] for i in range(3)]
    assert statuses == ["ok", "failed", "ok"]
    assert not (sweep / "1" / "checkpoints").exists()
