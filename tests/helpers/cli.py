"""Run lit_hw's commands as a user would: a fresh ``python -m <module>`` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sigint_as_from_a_terminal() -> None:
    """preexec_fn for a child that a test stops with SIGINT (Ctrl-C): a test runner started in the
    background (`make test &`) ignores SIGINT, its children inherit that, and lit_hw rightly leaves an
    ignored signal ignored; a terminal's Ctrl-C reaches a process whose SIGINT is at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(
    module: str, *overrides: str, cwd: Path = ROOT, timeout: int = 600, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <overrides>`` as a user would; return the finished process."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", module, *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} {' '.join(overrides)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc
