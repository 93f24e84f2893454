"""hydra/launcher=slurm on a real one-node SLURM cluster (2 CPUs, no GPU, no accounting/sacct)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helpers.sweeps import QUICK, data_args, epochs_done, records, run, start, summary_rows, wait_for

pytestmark = pytest.mark.usefixtures("slurm")
SLURM = ["hydra/launcher=slurm", "hydra.launcher.partition=debug"]


def test_lr_sweep_on_slurm_with_the_default_resources(tmp_path, real_mnist_dir):
    sweep = tmp_path / "sweep"
    started = time.monotonic()
    code, out = run(
        [
            "-m",
            "experiment=lr_sweep",
            *SLURM,
            *QUICK,
            *data_args(real_mnist_dir),
            "trainer.max_epochs=1",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path / "sweep.log",
    )
    assert code == 0, out[-3000:]
    assert time.monotonic() - started < 600
    jobs = records(sweep)
    assert len(jobs) == 5 and len(summary_rows(sweep)) == 5
    status = {record["overrides"][0]: record["status"] for record in jobs.values() if record["overrides"]}
    assert status["optim.lr=10"] == "diverged", status
    assert [status[f"optim.lr={lr}"] for lr in ("0.001", "0.01", "0.1", "1")] == ["ok"] * 4
    script = next(sweep.glob(".submitit/*/*_submission.sh")).read_text()
    assert "--gpus-per-node=0" in script and "--cpus-per-task=2" in script and "--mem=4GB" in script
    # no accounting on this cluster: said once, in plain words
    assert "Bypassing sacct error" not in out and "accounting storage is disabled" not in out
    assert out.count("SLURM accounting (sacct) is not available") == 1


def test_a_request_the_cluster_cannot_meet_fails_at_once_in_one_line(tmp_path, random_mnist_dir):
    started = time.monotonic()
    # trainer=default uses a GPU when there is one, so it asks SLURM for one: this cluster has none
    code, out = run(
        ["-m", *SLURM, *data_args(random_mnist_dir), "logger=none", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        tmp_path / "refused.log",
        timeout=120,
    )
    assert code != 0 and time.monotonic() - started < 60
    lines = [line for line in out.splitlines() if "SLURM refused the request" in line]
    assert len(lines) == 1, out[-3000:]
    assert "hydra.launcher.gpus_per_node=1" in lines[0] and "trainer=cpu" in lines[0]
    assert "Traceback" not in out


def test_a_crashing_job_is_failed_and_the_other_finishes(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    code, out = run(
        [
            "-m",
            *SLURM,
            *QUICK,
            *data_args(random_mnist_dir),
            "model=linear",
            "trainer.max_epochs=2",
            "hydra.launcher.cpus_per_task=1",
            "+callbacks.fail_at._target_=lit_hw.callbacks.fault_injection.FailAtEpoch",
            "+callbacks.fail_at.epoch=null,1",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path / "sweep.log",
    )
    assert code != 0
    by_epoch = {r["overrides"][-1]: r for r in records(sweep).values()}
    assert by_epoch["+callbacks.fail_at.epoch=null"]["status"] == "ok"
    failed = by_epoch["+callbacks.fail_at.epoch=1"]
    assert failed["status"] == "failed" and "fault injected at epoch 1" in failed["error"]
    assert failed["epochs_run"] == 1  # the epoch before the crash is kept
    assert sorted(row["status"] for row in summary_rows(sweep)) == ["failed", "ok"]


def test_scancel_of_a_running_job_is_recorded_not_lost(tmp_path, real_mnist_dir):
    sweep = tmp_path / "sweep"
    proc = start(
        [
            "-m",
            *SLURM,
            *QUICK,
            *data_args(real_mnist_dir),
            "model=mlp",
            "hydra.launcher.cpus_per_task=1",
            "trainer.max_epochs=40,1",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path / "sweep.log",
    )
    long_job = wait_for(lambda: next(sweep.glob("0_*"), None), 180, "the long job's dir")
    wait_for(lambda: epochs_done(long_job) >= 1, 180, "the long job's first epoch")
    array = wait_for(lambda: next(sweep.glob(".submitit/*_0"), None), 30, "the submitit folder").name
    subprocess.run(["scancel", array], check=True)
    proc.wait(timeout=300)
    out = (tmp_path / "sweep.log").read_text()
    assert proc.returncode != 0, out[-3000:]
    jobs = {name.split("_", 1)[0]: record for name, record in records(sweep).items()}
    # SLURM sends SIGTERM first; Lightning stops the fit, and the record says why
    assert jobs["0"]["status"] == "interrupted" and "SIGTERM" in jobs["0"]["error"], jobs["0"]
    assert jobs["0"]["epochs_run"] >= 1  # its finished epochs are kept
    assert jobs["1"]["status"] == "ok"
    assert {row["status"] for row in summary_rows(sweep)} == {"interrupted", "ok"}


def test_ddp_job_is_one_slurm_job_with_two_tasks(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    code, out = run(
        [
            "-m",
            *SLURM,
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "logger=none",
            "callbacks.progress_bar.refresh_rate=0",
            *data_args(random_mnist_dir),
            "model=linear",
            "trainer.max_epochs=1",
            "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.mem_gb=1",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path / "ddp.log",
    )
    assert code == 0, out[-3000:]
    (job_dir,) = sweep.glob("0_*")
    record = records(sweep)[job_dir.name]
    assert record["status"] == "ok" and record["data"]["sizes"]["train"] > 0
    script = next(sweep.glob(".submitit/*/*_submission.sh")).read_text()
    assert "--ntasks-per-node=2" in script and "--gpus-per-node=0" in script
    logs = "".join(p.read_text() for p in sweep.glob(".submitit/*/*_log.*"))
    # one process per SLURM task, each one rank: Lightning took the ranks from SLURM and started nothing
    assert logs.count("GLOBAL_RANK: 0, MEMBER: 1/2") == 1 and logs.count("GLOBAL_RANK: 1, MEMBER: 2/2") == 1, logs[
        -3000:
    ]
