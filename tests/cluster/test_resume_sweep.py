"""resume_sweep=true after a SIGKILL in the middle of a sweep's second job, on the basic launcher
and on SLURM: the finished job is kept, the killed one continues from its last.ckpt, the one that
never started runs, and every job ends with the metrics of a sweep that was never stopped."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.helpers.sweeps import QUICK, comparable, data_args, epochs_done, records, run, start, summary_rows, wait_for


def sweep_args(data_dir, sweep) -> list[str]:
    # batch 16 and 4 epochs: once the second job has finished its first epoch (the test then kills it),
    # three more keep it training for seconds: time to kill it in the middle
    return [
        "-m",
        "model=mlp",
        "optim=sgd",
        "optim.lr=0.02,0.05,0.1",
        "trainer.max_epochs=4",
        "data.batch_size=16",
        *QUICK,
        *data_args(data_dir),
        f"hydra.sweep.dir={sweep}",
    ]


def by_job(sweep) -> dict[str, dict]:
    return {name.split("_", 1)[0]: record for name, record in records(sweep).items()}


@pytest.fixture(scope="module")
def uninterrupted(real_mnist_dir, tmp_path_factory) -> dict[str, dict]:
    sweep = tmp_path_factory.mktemp("uninterrupted") / "sweep"
    code, out = run(sweep_args(real_mnist_dir, sweep), sweep.parent / "sweep.log")
    assert code == 0, out[-3000:]
    return {job: comparable(record) for job, record in by_job(sweep).items()}


def kill_in_second_job(proc, sweep, kill) -> None:
    second = wait_for(lambda: next(sweep.glob("1_*"), None), 300, "the second job's dir")
    wait_for(lambda: epochs_done(second) >= 1, 300, "the second job's first epoch")
    kill()
    proc.wait(timeout=60)


def check_killed_then_resume(tmp_path, real_mnist_dir, sweep, launcher_args, uninterrupted):
    killed = by_job(sweep)
    assert killed["0"]["status"] == "ok"
    assert killed["1"]["status"] in ("running", "interrupted") and killed["1"]["epochs_run"] >= 1
    assert "2" not in killed
    kept = next(sweep.glob("0_*")) / "metrics.json"
    kept_bytes, kept_mtime = kept.read_bytes(), kept.stat().st_mtime_ns

    # the same command again, without resume_sweep: refused before any job runs, nothing overwritten
    code, out = run([*sweep_args(real_mnist_dir, sweep), *launcher_args], tmp_path / "again.log", timeout=120)
    assert code != 0 and "add resume_sweep=true" in out, out[-3000:]
    assert kept.read_bytes() == kept_bytes

    code, out = run([*sweep_args(real_mnist_dir, sweep), *launcher_args, "resume_sweep=true"], tmp_path / "resume.log")
    assert code == 0, out[-3000:]
    assert kept.read_bytes() == kept_bytes and kept.stat().st_mtime_ns == kept_mtime  # kept as it was
    resumed = by_job(sweep)
    assert resumed.keys() == uninterrupted.keys() == {"0", "1", "2"}
    for job in ("0", "1", "2"):
        assert comparable(resumed[job]) == uninterrupted[job], job
    assert [row["status"] for row in summary_rows(sweep)] == ["ok", "ok", "ok"]
    return out


def test_basic_launcher_sweep_killed_mid_second_job_resumes_exactly(tmp_path, real_mnist_dir, uninterrupted):
    sweep = tmp_path / "sweep"
    proc = start(sweep_args(real_mnist_dir, sweep), tmp_path / "killed.log")
    kill_in_second_job(proc, sweep, lambda: os.killpg(proc.pid, signal.SIGKILL))
    check_killed_then_resume(tmp_path, real_mnist_dir, sweep, [], uninterrupted)


@pytest.mark.usefixtures("slurm")
def test_slurm_sweep_killed_mid_second_job_resumes_exactly(tmp_path, real_mnist_dir, uninterrupted):
    sweep = tmp_path / "sweep"
    slurm = ["hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.array_parallelism=1"]
    proc = start([*sweep_args(real_mnist_dir, sweep), *slurm], tmp_path / "killed.log")

    def kill_everything():
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher on the login node
        array = next(sweep.glob(".submitit/*_1")).name.split("_", 1)[0]
        subprocess.run(["scancel", "--signal=KILL", "--full", f"{array}_1"], check=True)  # the job on its node
        subprocess.run(["scancel", array], check=True)  # and the rest of the sweep

    kill_in_second_job(proc, sweep, kill_everything)
    # this sweep's jobs gone from the queue (make test-cluster runs two tests at a time: another test's jobs may queue)
    array = next(sweep.glob(".submitit/*_1")).name.split("_", 1)[0]
    wait_for(
        lambda: not subprocess.run(["squeue", "-h", "-j", array], capture_output=True, text=True).stdout.strip(),
        60,
        f"no job of array {array} in the queue",
    )
    out = check_killed_then_resume(tmp_path, real_mnist_dir, sweep, slurm, uninterrupted)
    assert "continues from" in "".join(p.read_text() for p in sweep.glob(".submitit/*/*_log.out")) + out
