"""Where runs meet: one live process per run or sweep dir (lit_hw.core.dir_lock), a resume that must use
the sweep's own arguments, and a finished run's files never rewritten by a command that changed nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lit_hw.core.dir_lock import LOCK_FILE, DirInUse, holder, lock_dir, refuse_if_held_above, release_dir
from lit_hw.sweeps.resume import saved_sweep_overrides
from tests.helpers.cli import run_cli

FAST = ["model=linear", "trainer=cpu", "logger=none", "data.source=local", "trainer.max_epochs=1"]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the lock file aside: it says who last held the dir) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


def hold_in_child(folder: Path) -> subprocess.Popen:
    """Another process that holds ``folder``'s lock until it is killed."""
    code = (
        "import sys, time; from lit_hw.core.dir_lock import lock_dir; "
        "lock_dir(sys.argv[1], 'hydra.sweep.dir'); print('held', flush=True); time.sleep(600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_holder_refuses_others_and_a_killed_one_leaves_no_lock(tmp_path):
    sweep = tmp_path / "sweep"
    child = hold_in_child(sweep)
    try:
        with pytest.raises(
            DirInUse, match=rf"hydra.sweep.dir={sweep} is in use by another lit_hw process \(pid {child.pid}"
        ):
            lock_dir(sweep, "hydra.sweep.dir")
        assert f"pid {child.pid}" in holder(sweep)
        with pytest.raises(DirInUse, match=rf"inside {sweep}"):  # a run dir inside the live sweep's dir
            refuse_if_held_above(sweep / "0_seed=1", "hydra.run.dir")
    finally:
        child.send_signal(signal.SIGKILL)  # no clean-up code runs: the kernel drops the lock
        child.wait()
    assert holder(sweep) is None
    lock_dir(sweep, "hydra.sweep.dir")
    release_dir(sweep)


@pytest.mark.slow
def test_two_sweeps_into_one_dir_the_second_is_refused_before_it_writes(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    data = f"data.data_dir={random_mnist_dir}"
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lit_hw.train",
            "-m",
            *FAST,
            data,
            "seed=1,2",
            "trainer.max_epochs=3",
            f"hydra.sweep.dir={sweep}",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (sweep / "multirun.yaml").is_file() and first.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert holder(sweep), "the first sweep must hold its dir while it runs"
        second = run_cli(
            "lit_hw.train", "-m", "model=cnn", *FAST[1:], data, "seed=1,2", f"hydra.sweep.dir={sweep}", check=False
        )
        single = run_cli("lit_hw.train", *FAST, data, f"hydra.run.dir={sweep / '0_seed=1'}", check=False)
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    for proc in (second, single):
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-3000:]
        assert f"is in use by another lit_hw process (pid {first.pid}" in errors[0], errors[0]
    for job in sorted(sweep.glob("[01]_*")):  # the first sweep's results, whole and its own
        assert "model=linear" in (job / ".hydra" / "overrides.yaml").read_text()
        assert '"status": "ok"' in (job / "metrics.json").read_text()
    assert "model=linear" in saved_sweep_overrides(sweep)  # multirun.yaml is the first sweep's


@pytest.mark.slow
def test_resume_sweep_with_other_arguments_is_refused_and_kept_jobs_are_never_rewritten(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", *FAST, f"data.data_dir={random_mnist_dir}", "seed=1,2", f"hydra.sweep.dir={sweep}"]
    run_cli("lit_hw.train", *args)
    before = files_of(sweep)

    changed = run_cli("lit_hw.train", *[a.replace("model=linear", "model=cnn") for a in args], "trainer.max_epochs=2",
                      "resume_sweep=true", check=False)  # fmt: skip
    errors = [line for line in changed.stderr.splitlines() if line.startswith("error:")]
    assert changed.returncode == 2 and len(errors) == 1, changed.stderr[-3000:]
    assert (
        "model=cnn (was model=linear)" in errors[0] and "trainer.max_epochs=2 (was trainer.max_epochs=1)" in errors[0]
    )
    assert files_of(sweep) == before  # refused before anything was written

    run_cli("lit_hw.train", *args, "resume_sweep=true")
    after = files_of(sweep)
    for name, data in before.items():
        if name.startswith(("0_", "1_")):  # every file of a kept job, its .hydra/ included, byte for byte
            if name.endswith(".log"):  # Hydra's job log: one line appended that says the job was kept
                assert after[name].startswith(data) and b"kept as it is" in after[name][len(data) :], name
            else:
                assert after.get(name) == data, name
    assert not list(sweep.glob("*/.hydra.kept"))


@pytest.mark.slow
def test_a_failed_resume_in_place_leaves_the_finished_run_as_it_was(tmp_path, random_mnist_dir):
    run_dir = tmp_path / "run"
    args = [*FAST, f"data.data_dir={random_mnist_dir}", f"hydra.run.dir={run_dir}"]
    run_cli("lit_hw.train", *args)
    last = run_dir / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:500])  # cut short: not a checkpoint any more
    before = files_of(run_dir)
    proc = run_cli("lit_hw.train", *args, f"resume={run_dir}", "trainer.max_epochs=2", check=False)
    assert proc.returncode == 2 and "is not a PyTorch checkpoint" in proc.stderr, proc.stderr[-3000:]
    assert files_of(run_dir) == before  # status still ok, .hydra/ as the finished run left it
    assert not (run_dir / ".hydra.kept").exists()


@pytest.mark.slow
def test_gpu_pool_leaves_a_job_dir_that_a_live_process_holds_alone(tmp_path, random_mnist_dir):
    """A job still running from a sweep killed with SIGKILL (here: a process holding its dir) is neither
    run a second time nor has its console.log truncated; the other jobs run."""
    sweep = tmp_path / "sweep"
    held = sweep / "0_seed=1"
    held.mkdir(parents=True)
    (held / "console.log").write_text("the orphan's own log\n")
    child = hold_in_child(held)
    try:
        proc = run_cli("lit_hw.train", "-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", *FAST,
                       f"data.data_dir={random_mnist_dir}", "seed=1,2", f"hydra.sweep.dir={sweep}", check=False)  # fmt: skip
    finally:
        child.kill()
        child.wait()
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and f"pid {child.pid}" in errors[0], proc.stderr[-3000:]
    assert (held / "console.log").read_text() == "the orphan's own log\n"
    assert not (held / "metrics.json").exists()
    assert '"status": "ok"' in (sweep / "1_seed=2" / "metrics.json").read_text()
