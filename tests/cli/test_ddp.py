"""DDP on CPU (gloo, 2 processes): one run with trainer=ddp, DDP jobs inside a gpu_pool sweep,
and the refusal of DDP inside a multirun whose launcher would re-run the sweep."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers.cli import run_cli

DDP_CPU = (
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "logger=none",
)


def test_ddp_in_a_multirun_with_the_basic_launcher_is_refused(tmp_path, random_mnist_dir):
    proc = run_cli(
        "lit_hw.train",
        "-m",
        f"hydra.sweep.dir={tmp_path}",
        "data.source=local",
        f"data.data_dir={random_mnist_dir}",
        *DDP_CPU,
        "optim.lr=0.01,0.1",
        check=False,
        timeout=300,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "trainer.strategy=ddp" in errors[0] and "hydra/launcher=gpu_pool" in errors[0]
    assert not list(tmp_path.glob("*/metrics.json"))


@pytest.mark.slow
def test_ddp_single_run_on_cpu_uses_two_processes(tmp_path, random_mnist_dir):
    run_cli(
        "lit_hw.train",
        f"hydra.run.dir={tmp_path}",
        "data.source=local",
        f"data.data_dir={random_mnist_dir}",
        *DDP_CPU,
        timeout=400,
    )
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "ok" and record["final"]["test/acc"] >= 0
    assert (tmp_path / "train_ddp_process_1.log").is_file()  # rank 1, relaunched by Lightning


@pytest.mark.slow
def test_gpu_pool_sweep_of_ddp_jobs_runs_each_job_once_with_its_own_override(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "lit_hw.train",
        "-m",
        "hydra/launcher=gpu_pool",
        "hydra.launcher.slots=['0,1','2,3']",
        f"hydra.sweep.dir={sweep}",
        "data.source=local",
        f"data.data_dir={random_mnist_dir}",
        *DDP_CPU,
        "optim.lr=0.01,0.1",
        timeout=500,
    )
    job_dirs = sorted(d for d in sweep.iterdir() if d.is_dir() and (d / ".hydra").is_dir())
    names = [d.name for d in job_dirs]  # no second sweep added jobs
    assert names == ["0_optim.lr=0.01", "1_optim.lr=0.1"]  # named by the swept value
    assert (proc.stdout + proc.stderr).count("gpu_pool: 2 jobs") == 1
    for job_dir, lr in zip(job_dirs, (0.01, 0.1)):
        record = json.loads((job_dir / "metrics.json").read_text())
        assert record["status"] == "ok" and f"optim.lr={lr}" in record["overrides"]
        assert yaml.safe_load((job_dir / "config_resolved.yaml").read_text())["optim"]["lr"] == lr
        assert (job_dir / "train_ddp_process_1.log").is_file()  # rank 1 re-ran this job, not the sweep
        console = (job_dir / "console.log").read_text()
        assert "gpu_pool: " not in console and "Launching" not in console
    assert list(sweep.glob("*/*/metrics.json")) == []
