"""A signal to a sweep's own process (``kill <pid>``, Ctrl-C, a scheduler's preemption) stops its jobs.

gpu_pool passes SIGTERM/SIGINT on to every running job, starts no other, waits for the jobs to
record ``interrupted`` (killing one that outstays hydra.launcher.interrupt_grace_s and recording it
itself), refreshes the summary and exits 128 + the signal's number; hydra/launcher=stacked stops the
stack it trains the same way. ``resume_sweep=true`` then finishes what was stopped. Also here: a
job's return value comes back to gpu_pool as JSON, and a file in a sweep dir is never unpickled.

Each sweep is signalled through its own pid only: jobs in other process groups must get the signal
from the launcher, not from a kill of the whole group.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT, sigint_as_from_a_terminal
from tests.helpers.sweeps import QUICK, data_args, records, summary_rows, wait_for

# set in a sweep's environment, so every process it starts (jobs, their DDP ranks, stack workers)
# can be found in /proc, whatever process group or parent it ends up with
MARK = "LIT_HW_SIGNAL_TEST"
# a real training job: 8 epochs of 2 batches; the first attempt sleeps after each batch (SLOW_ENV) so
# that it is still training when the signal comes, the resume (no sleep) finishes in a few seconds
SLOW_ENV = "LIT_HW_TEST_SLOW_S"  # tests.helpers.slow_training's (not imported: it imports Lightning)
TRAIN = ["model=linear", *QUICK, "trainer.max_epochs=8", "trainer.limit_train_batches=2",
         "+callbacks.slow_batches._target_=tests.helpers.slow_training.SlowBatches"]  # fmt: skip


# the signal tests find a sweep's processes in /proc (Linux)
needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="reads /proc/<pid>/environ")


@pytest.fixture
def marker():
    """A mark for one test's processes; whatever of them still runs at the end is killed (they are all its own)."""
    value = uuid.uuid4().hex
    yield value
    for pid in alive(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def alive(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds this test's mark."""
    needle = f"{MARK}={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):  # ended meanwhile
            continue
        if state != "Z":
            pids.append(int(entry.name))
    return pids


def start(module: str, args: list[str], log: Path, marker: str, env: dict | None = None) -> subprocess.Popen:
    """``python -m <module> <args>`` in the background, in its own session (the test's SIGTERM goes to its pid)."""
    return start_command([sys.executable, "-m", module, *args], log, marker, env)


def start_command(command: list[str], log: Path, marker: str, env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", MARK: marker, **(env or {})}
    with open(log, "w") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=sigint_as_from_a_terminal,
        )


def stop(proc: subprocess.Popen, signum: int, timeout: float = 120) -> int:
    """Send ``signum`` to the sweep's pid alone and return its exit status."""
    try:
        proc.send_signal(signum)
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def statuses(sweep: Path) -> dict[str, str]:
    return {name: record["status"] for name, record in records(sweep).items()}


# -- gpu_pool ---------------------------------------------------------------------------------------


@needs_proc
@pytest.mark.slow
def test_sigterm_to_a_gpu_pool_sweep_interrupts_its_jobs_and_resume_sweep_finishes_them(
    tmp_path, random_mnist_dir, marker
):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", *TRAIN, *data_args(random_mnist_dir),
            "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = start("lit_hw.train", args, tmp_path / "sweep.log", marker, env={SLOW_ENV: "0.75"})
    # both jobs have finished an epoch (their metrics.json and last.ckpt exist) and are in the next
    wait_for(lambda: len(list(sweep.glob("*/checkpoints/last.ckpt"))) == 2, 300, "both jobs' first epoch")
    code = stop(proc, signal.SIGTERM)
    out = (tmp_path / "sweep.log").read_text()
    assert code == 128 + signal.SIGTERM, out[-3000:]
    assert alive(marker) == []  # no job outlives its sweep
    assert statuses(sweep) == {"0_seed=1": "interrupted", "1_seed=2": "interrupted"}, out[-3000:]
    assert all("SIGTERM" in record["error"] for record in records(sweep).values())
    assert [row["status"] for row in summary_rows(sweep)] == ["interrupted", "interrupted"]
    assert "2 jobs: 2 interrupted" in (sweep / "summary.md").read_text()
    line = next(line for line in out.splitlines() if line.startswith("gpu_pool: stopped by SIGTERM"))
    assert "2 running job(s) recorded interrupted, 0 not started" in line
    assert f"hydra.sweep.dir={sweep}" in line and line.endswith("resume_sweep=true")

    # the command the line gives, as it is
    resumed = start_command(shlex.split(line.split("continue with: ", 1)[1]), tmp_path / "resume.log", marker)
    assert resumed.wait(timeout=300) == 0, (tmp_path / "resume.log").read_text()[-3000:]
    assert statuses(sweep) == {"0_seed=1": "ok", "1_seed=2": "ok"}
    assert all(record["epochs_run"] == 8 for record in records(sweep).values())
    assert "continues from" in (sweep / "0_seed=1" / "console.log").read_text()


@needs_proc
def test_ctrl_c_to_a_gpu_pool_sweep_stops_the_running_jobs_and_starts_no_other(tmp_path, marker):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", "seed=1,2,3", f"hydra.sweep.dir={sweep}"]
    proc = start("tests.sweep_signal_probe", args, tmp_path / "sweep.log", marker)
    wait_for(lambda: len(list(sweep.glob("*/probe_started"))) == 2, 120, "two jobs running")
    code = stop(proc, signal.SIGINT)
    out = (tmp_path / "sweep.log").read_text()
    assert code == 128 + signal.SIGINT, out[-3000:]
    assert alive(marker) == []
    # the jobs' own record of the KeyboardInterrupt they got; the third job was never started
    assert statuses(sweep) == {"0_seed=1": "interrupted", "1_seed=2": "interrupted"}, out[-3000:]
    assert all(record["error"].startswith("KeyboardInterrupt") for record in records(sweep).values())
    assert not list(sweep.glob("2_*"))
    rows = summary_rows(sweep)
    assert [row["status"] for row in rows[:2]] == ["interrupted", "interrupted"]
    assert all(row["status"] == "pending" for row in rows[2:])  # the summary may list the unstarted job
    assert "gpu_pool: stopped by SIGINT: 2 running job(s) recorded interrupted, 1 not started" in out


@needs_proc
def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period_and_recorded_by_the_launcher(tmp_path, marker):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", "hydra.launcher.interrupt_grace_s=2",
            "+probe_ignore_sigterm_jobs=[0]", "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = start("tests.sweep_signal_probe", args, tmp_path / "sweep.log", marker)
    wait_for(lambda: len(list(sweep.glob("*/probe_started"))) == 2, 120, "both jobs running")
    code = stop(proc, signal.SIGTERM)
    out = (tmp_path / "sweep.log").read_text()
    assert code == 128 + signal.SIGTERM, out[-3000:]
    assert alive(marker) == []
    # neither job could write its record (SIGTERM's default ends job 1 at once, job 0 was killed):
    # the launcher wrote both, with the job's own overrides
    jobs = records(sweep)
    assert statuses(sweep) == {"0_seed=1": "interrupted", "1_seed=2": "interrupted"}, out[-3000:]
    assert "JobLost: job #0 stopped by SIGTERM" in jobs["0_seed=1"]["error"]
    assert "seed=2" in jobs["1_seed=2"]["overrides"]
    assert "job #0 still ran 2 s after the signal (hydra.launcher.interrupt_grace_s): killed" in out


def test_a_bad_interrupt_grace_s_is_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.sweep_signal_probe",
            "-m",
            "hydra/launcher=gpu_pool",
            "seed=1,2",
            "hydra.launcher.interrupt_grace_s=-1",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: hydra.launcher.interrupt_grace_s=-1 must be a number of seconds >= 0"
    )


# -- hydra/launcher=stacked (trains in the sweep's own process) -----------------------------------------


@needs_proc
@pytest.mark.slow
def test_sigterm_to_a_stacked_sweep_interrupts_every_member_and_resume_sweep_finishes_them(
    tmp_path, random_mnist_dir, marker
):
    sweep = tmp_path / "sweep"
    # one stack of two; 10 epochs of 5 single steps of batch 8: a few seconds of training
    args = ["-m", "hydra/launcher=stacked", "model=linear", *QUICK, "trainer.enable_progress_bar=false",
            "trainer.max_epochs=10", "trainer.limit_train_batches=5", "data.batch_size=8",
            "data.steps_per_execution=1", *data_args(random_mnist_dir), "seed=1,2", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = start("lit_hw.train", args, tmp_path / "sweep.log", marker)
    wait_for(lambda: len(list(sweep.glob("*/checkpoints/last.ckpt"))) == 2, 300, "the stack's first epoch")
    code = stop(proc, signal.SIGTERM)
    out = (tmp_path / "sweep.log").read_text()
    assert code == 128 + signal.SIGTERM, out[-3000:]
    assert alive(marker) == []
    assert statuses(sweep) == {"0_seed=1": "interrupted", "1_seed=2": "interrupted"}, out[-3000:]
    assert all(record["error"].startswith("SIGTERMException") for record in records(sweep).values())
    assert all(0 < record["epochs_run"] < 10 for record in records(sweep).values())
    assert "2 jobs: 2 interrupted" in (sweep / "summary.md").read_text()
    assert "stacked: stopped by SIGTERM: 2 running job(s) recorded interrupted, 0 not started" in out

    resumed = start("lit_hw.train", [*args, "resume_sweep=true"], tmp_path / "resume.log", marker)
    assert resumed.wait(timeout=300) == 0, (tmp_path / "resume.log").read_text()[-3000:]
    assert statuses(sweep) == {"0_seed=1": "ok", "1_seed=2": "ok"}
    assert all(record["epochs_run"] == 10 for record in records(sweep).values())


# -- a job's return value: JSON, never a pickle -------------------------------------------------------


class _Payload:
    """Unpickling this runs ``os.system('touch <path>')``: what a crafted sweep dir could hold."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


@pytest.mark.parametrize("name", [".job_return.pkl", ".job_return.json"])
def test_a_return_file_holding_a_pickle_is_never_unpickled(tmp_path, name):
    from lit_hw.sweeps.launchers.job_return import load_job_return

    created = tmp_path / "pwned"
    crafted = tmp_path / name
    crafted.write_bytes(pickle.dumps(("COMPLETED", _Payload(created))))
    assert load_job_return(crafted) is None
    assert not created.exists()


def test_a_real_jobs_float_return_and_failure_come_back_as_json(tmp_path):
    from lit_hw.sweeps.launchers.job_return import (
        JOB_RETURN_ENV,
        JOB_RETURN_FILE,
        JobError,
        SaveJobReturn,
        load_job_return,
    )

    callback = f"+hydra.callbacks.ret._target_={SaveJobReturn.__module__}.{SaveJobReturn.__name__}"
    for num, fail in ((0, "[]"), (1, "[1]")):
        returned = tmp_path / f"{num}{JOB_RETURN_FILE}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.gpu_pool_probe",
                "+probe_sleep_s=0",
                f"+fail_jobs={fail}",
                callback,
                f"hydra.job.num={num}",
                f"hydra.run.dir={tmp_path / str(num)}",
            ],  # fmt: skip
            cwd=ROOT,
            env={**os.environ, JOB_RETURN_ENV: str(returned)},
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert json.loads(returned.read_text())["status"] in ("COMPLETED", "FAILED")
        status, value = load_job_return(returned)
        if num == 0:
            assert (status.name, value) == ("COMPLETED", 0.5) and isinstance(value, float)
        else:
            assert status.name == "FAILED" and isinstance(value, JobError)
            assert str(value) == "RuntimeError: probe job 1 failed on purpose"
