"""hydra/launcher=ray: a local Ray started by the sweep, and the existing head of cluster/start.sh."""

from __future__ import annotations

import time

import pytest

from tests.helpers.sweeps import QUICK, data_args, records, run, summary_rows


def lr_sweep(tmp_path, data_dir, *extra):
    sweep = tmp_path / "sweep"
    code, out = run(
        [
            "-m",
            "experiment=lr_sweep",
            "hydra/launcher=ray",
            *QUICK,
            *data_args(data_dir),
            "trainer.max_epochs=1",
            f"hydra.sweep.dir={sweep}",
            *extra,
        ],
        tmp_path / "sweep.log",
    )
    assert code == 0, out[-3000:]
    status = {r["overrides"][0]: r["status"] for r in records(sweep).values()}
    assert len(status) == 5 and len(summary_rows(sweep)) == 5
    assert status["optim.lr=10"] == "diverged", status
    assert [status[f"optim.lr={lr}"] for lr in ("0.001", "0.01", "0.1", "1")] == ["ok"] * 4
    return out


def test_lr_sweep_on_a_local_ray(tmp_path, real_mnist_dir, monkeypatch):
    # a Ray of its own: pointing RAY_ADDRESS nowhere keeps ray.init from joining the head of make test-cluster
    out = lr_sweep(
        tmp_path,
        real_mnist_dir,
        "+hydra.launcher.ray.init.include_dashboard=false",
        "hydra.launcher.ray.init.address=local",
    )
    assert "'GPU'" not in out.split("each asking for", 1)[1].splitlines()[0]  # trainer=cpu asks for no GPU


@pytest.mark.usefixtures("ray_head")
def test_lr_sweep_on_an_existing_ray_head(tmp_path, real_mnist_dir):
    lr_sweep(tmp_path, real_mnist_dir, "hydra.launcher.ray.init.address=auto")


@pytest.mark.usefixtures("ray_head")
def test_a_gpu_job_on_a_cluster_without_gpus_fails_within_the_bound(tmp_path, random_mnist_dir):
    started = time.monotonic()
    code, out = run(
        [
            "-m",
            "hydra/launcher=ray",
            "hydra.launcher.ray.init.address=auto",
            "hydra.launcher.schedule_timeout_s=10",
            *data_args(random_mnist_dir),
            "logger=none",
            "trainer=gpu",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        tmp_path / "gpu.log",
        timeout=180,
    )
    assert code != 0 and time.monotonic() - started < 90, out[-3000:]
    lines = [line for line in out.splitlines() if "no Ray node can run a job asking for" in line]
    assert len(lines) == 1, out[-3000:]
    assert "GPU: 1" in lines[0] and "CPU: 2" in lines[0] and "waited 10 s" in lines[0]  # asked, and what the node has


# on the head of make test-cluster: each address=local sweep starts (and stops) a Ray of its own, some 20 s
@pytest.mark.usefixtures("ray_head")
def test_resume_sweep_on_ray_keeps_the_finished_job_and_reruns_the_failed_one(tmp_path, random_mnist_dir):
    import json

    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=ray", "hydra.launcher.ray.init.address=auto", *QUICK, *data_args(random_mnist_dir),
            "model=linear", "trainer.max_epochs=1", "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    code, out = run(args, tmp_path / "first.log")
    assert code == 0, out[-3000:]
    first, second = sorted(sweep.glob("[01]_*"))
    record = json.loads((first / "metrics.json").read_text())
    (first / "metrics.json").write_text(json.dumps({**record, "status": "failed", "error": "RuntimeError: boom"}))
    kept = (second / "metrics.json").read_bytes()
    code, out = run([*args, "resume_sweep=true"], tmp_path / "resume.log")
    assert code == 0, out[-3000:]
    assert (second / "metrics.json").read_bytes() == kept
    rerun = json.loads((first / "metrics.json").read_text())
    assert rerun["status"] == "ok" and rerun["final"] == record["final"]
    assert (first / "previous_attempts" / "1" / "metrics.json").is_file()
