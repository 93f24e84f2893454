"""One job's process under a launcher (gpu_pool and its stack workers): started in its own process group,
waited on, and stopped with the sweep.

A signal to the sweep (lit_hw.sweeps.launchers.sweep_signals) is passed on to the job's whole group (its DDP ranks
too); a job still running ``grace_s`` later, or at a second signal, is killed.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import time
from pathlib import Path

from lit_hw.sweeps.launchers.sweep_signals import SweepSignals, passed_on

log = logging.getLogger("lit_hw.sweeps.launchers.gpu_pool")
# how often a thread waiting on a job looks for a signal to the sweep
POLL_S = 0.2


def run_job_process(
    command: list[str],
    env: dict,
    console: Path,
    what: str,
    signals: SweepSignals,
    grace_s: float,
    stdin: bytes | None = None,
):
    """Run one job's process to its end: (exit status, whether a signal to the sweep stopped it), or
    (None, False) when the sweep was stopped before it started. ``stdin``: bytes to feed it; without,
    it reads nothing (a job in the background must not wait on the terminal)."""
    if signals.stopping:
        return None, False
    with open(console, "w") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            cwd=os.getcwd(),
            start_new_session=True,  # its own process group: see the module docstring
        )
    try:
        if stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:  # it ended before reading: its exit status says why
                pass
        stopped = wait_for_job(proc, what, signals, grace_s)
    except BaseException:  # this thread failed: the job must not outlive the sweep
        signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise
    return proc.returncode, stopped


def wait_for_job(proc: subprocess.Popen, what: str, signals: SweepSignals, grace_s: float) -> bool:
    """Wait for a job's process; pass a signal to the sweep on to it, kill it if it still runs
    ``grace_s`` later, or at a second signal. Whether a signal was passed on."""
    passed, deadline = 0, math.inf
    while True:
        try:
            proc.wait(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            pass
        if signals.count > passed:
            if passed == 0:
                sent = passed_on(signals.signum)
                log.info("\t%s: passing %s on", what, signal.Signals(sent).name)
                signal_group(proc, sent)
                deadline = time.monotonic() + grace_s
            else:  # a second signal: whoever sent it does not want to wait
                signal_group(proc, signal.SIGKILL)
            passed = signals.count
        elif time.monotonic() > deadline:
            log.warning(
                "\t%s still ran %g s after the signal (hydra.launcher.interrupt_grace_s): killed",
                what,
                grace_s,
            )
            signal_group(proc, signal.SIGKILL)
            deadline = math.inf
    if passed:
        # what is left of its process group (a DDP rank that its rank 0 did not stop); the group
        # exists as long as one of them does, so its number cannot belong to anyone else yet
        signal_group(proc, signal.SIGKILL)
    return passed > 0


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to a job's process group (the job and what it started, e.g. DDP ranks)."""
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):  # all gone (PermissionError: macOS, for a group of zombies)
        pass
