"""What the sweep tests share: background runs, waiting on a job, reading a sweep back, faking its jobs."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.cli import ROOT, sigint_as_from_a_terminal

QUICK = ["trainer=cpu", "logger=none", "callbacks.progress_bar.refresh_rate=0"]


def data_args(data_dir: Path) -> list[str]:
    return ["data.source=local", f"data.data_dir={data_dir}"]


def start(args: list[str], log: Path) -> subprocess.Popen:
    """``python -m lit_hw.train <args>`` in the background, in its own process group (for a SIGKILL of all)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lit_hw.train", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=sigint_as_from_a_terminal,
        )


def run(args: list[str], log: Path, timeout: float = 600) -> tuple[int, str]:
    proc = start(args, log)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    return proc.returncode, log.read_text()


def summary_rows(sweep: Path) -> list[dict]:
    with open(sweep / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def records(sweep: Path) -> dict[str, dict]:
    """{job dir name: metrics.json} of every job of a sweep."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))}


def wait_for(condition, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def epochs_done(job_dir: Path) -> int:
    """Finished epochs whose row and last.ckpt are on disk."""
    try:
        history = json.loads((job_dir / "metrics.json").read_text())["history"]
    except (OSError, ValueError, KeyError):
        return 0
    return len(history) if (job_dir / "checkpoints" / "last.ckpt").is_file() else 0


def comparable(record: dict) -> dict:
    """What a job computed, without wall-clock timings."""
    history = [{k: v for k, v in row.items() if k != "train_time_s"} for row in record["history"]]
    return {"status": record["status"], "final": record["final"], "history": history}


def fake_job(sweep: Path, name: str, lr: str, status: str, accs: list, error: str | None = None) -> None:
    """A finished (or failed) job dir of a sweep, written by hand: what lit_hw.sweeps.summary.tables reads."""
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- optim.lr={lr}\n- seed=0\n")
    history = [
        {
            "epoch": i,
            "train/acc": a,
            "train/loss": str(math.nan) if a is None else 1 - a,
            "val/acc": a,
            "val/loss": 1.0,
            "train_time_s": 0.5,
        }
        for i, a in enumerate(accs)
    ]
    final = {"test/acc": accs[-1], "val/acc_best": max(a for a in accs if a is not None)} if status != "failed" else {}
    (job / "metrics.json").write_text(
        json.dumps(
            {
                "status": status,
                "error": error,
                "final": final,
                "epochs_run": len(accs),
                "epoch_train_time_s": [0.5] * len(accs),
                "history": history,
                "monitor": {"metric": "val/acc", "mode": "max"},
                "overrides": [f"optim.lr={lr}", "seed=0"],
            }
        )
    )
