"""resume_sweep=true: what each job of an interrupted sweep does, and the guard against overwriting
(the SIGKILL-mid-sweep cases on the basic launcher and SLURM are in tests/cluster/test_resume_sweep.py)."""

from __future__ import annotations

import json
import signal

import pytest

from lit_hw.config.cli import quote_path_overrides
from lit_hw.sweeps.resume import SweepDirHasResults, job_action, refuse_to_overwrite, set_aside_previous_attempt
from tests.helpers.cli import run_cli


def make_job(job_dir, status=None, checkpoint=False):
    job_dir.mkdir(parents=True)
    if status:
        (job_dir / "metrics.json").write_text(json.dumps({"status": status, "history": [], "final": {}}))
    if checkpoint:
        (job_dir / "checkpoints").mkdir()
        (job_dir / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return job_dir


@pytest.mark.parametrize(
    "status, checkpoint, action",
    [
        ("ok", True, "keep"),
        ("diverged", True, "keep"),
        ("interrupted", True, "continue"),
        ("running", True, "continue"),  # killed: metrics.json still says running
        ("running", False, "rerun"),  # killed before its first checkpoint
        ("failed", True, "rerun"),
        (None, False, "run"),
    ],
)
def test_job_action(tmp_path, status, checkpoint, action):
    assert job_action(make_job(tmp_path / "0_x=1", status, checkpoint)) == action


def test_a_rerun_keeps_the_earlier_attempt(tmp_path):
    job = make_job(tmp_path / "job", "failed", checkpoint=True)
    moved = set_aside_previous_attempt(job)
    assert moved == job / "previous_attempts" / "1"
    assert (moved / "metrics.json").is_file() and (moved / "checkpoints" / "last.ckpt").is_file()
    assert not (job / "metrics.json").exists()
    make_job(job / "again", "failed")  # a second failed attempt goes to previous_attempts/2
    (job / "metrics.json").write_text("{}")
    assert set_aside_previous_attempt(job) == job / "previous_attempts" / "2"


def test_a_sweep_dir_with_finished_jobs_is_refused_without_resume_sweep(tmp_path):
    make_job(tmp_path / "0_a=1", "ok")
    make_job(tmp_path / "1_a=2", "running", checkpoint=True)
    with pytest.raises(SweepDirHasResults, match="1 finished job.*0_a=1.*resume_sweep=true") as err:
        refuse_to_overwrite(tmp_path, resume_sweep=False)
    assert "\n" not in str(err.value)
    refuse_to_overwrite(tmp_path, resume_sweep=True)
    refuse_to_overwrite(tmp_path / "new", resume_sweep=False)


def test_path_overrides_holding_equals_and_commas_are_quoted(tmp_path):
    job = make_job(tmp_path / "1_optim.lr=0.1,seed=2")
    assert quote_path_overrides([f"resume={job}", "seed=1,2", f"ckpt_path='{job}'", "resume=/no/such=dir,x"]) == [
        f"resume='{job}'",
        "seed=1,2",  # a sweep stays a sweep
        f"ckpt_path='{job}'",  # already quoted
        "resume=/no/such=dir,x",  # not a path that exists: Hydra reports it as written
    ]


@pytest.mark.slow
def test_gpu_pool_sweep_resumes_a_failed_job_and_keeps_the_finished_one(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", "model=linear", "trainer=cpu",
            "logger=none", "data.source=local", f"data.data_dir={random_mnist_dir}", "trainer.max_epochs=1",
            "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    run_cli("lit_hw.train", *args)
    first, second = sorted(sweep.glob("[01]_*"))
    record = json.loads((first / "metrics.json").read_text())
    (first / "metrics.json").write_text(json.dumps({**record, "status": "failed", "error": "RuntimeError: boom"}))
    kept = (second / "metrics.json").read_bytes()

    refused = run_cli("lit_hw.train", *args, check=False)
    assert refused.returncode == 2 and "add resume_sweep=true" in refused.stderr

    run_cli("lit_hw.train", *args, "resume_sweep=true")
    assert (second / "metrics.json").read_bytes() == kept  # finished: kept, not run again
    rerun = json.loads((first / "metrics.json").read_text())
    assert rerun["status"] == "ok" and rerun["final"] == record["final"]  # same seed, same numbers
    previous = json.loads((first / "previous_attempts" / "1" / "metrics.json").read_text())
    assert previous["error"] == "RuntimeError: boom"

    # one job of the sweep continues on its own with resume=<job dir>, although its name holds '=' and ','
    run_cli("lit_hw.train", *args[3:-2], "seed=2", "trainer.max_epochs=2", f"hydra.run.dir={tmp_path / 'more'}",
            f"resume={second}")  # fmt: skip
    more = json.loads((tmp_path / "more" / "metrics.json").read_text())
    assert more["status"] == "ok" and more["epochs_run"] == 2 and more["history"][0] == json.loads(kept)["history"][0]


@pytest.mark.slow
def test_ctrl_c_in_a_sweep_brings_the_summary_up_to_date(tmp_path, real_mnist_dir):
    from tests.helpers.sweeps import epochs_done, start, wait_for

    sweep = tmp_path / "sweep"
    args = ["-m", "model=mlp", "data.batch_size=16", "trainer.max_epochs=20", "trainer=cpu", "logger=none",
            "data.source=local", f"data.data_dir={real_mnist_dir}", "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = start(args, tmp_path / "sweep.log")
    first = wait_for(lambda: next(sweep.glob("0_*"), None), 120, "the first job's dir")
    wait_for(lambda: epochs_done(first) >= 1, 120, "the first job's first epoch")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    summary = (sweep / "summary.md").read_text()
    assert "2 jobs: 1 interrupted, 1 pending" in summary, summary  # the second job never started
