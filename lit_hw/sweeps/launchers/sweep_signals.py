"""SIGTERM, SIGINT or SIGHUP to a sweep: its running jobs record ``interrupted``, then the sweep exits.

A sweep is stopped through its own process: ``kill <pid>``, a scheduler's preemption, Ctrl-C, a closed
terminal. While a launcher runs jobs, ``SweepSignals`` holds those three signals:

* a launcher whose jobs are other processes (gpu_pool, Ray) only notes the signal in the handler; the
  code that waits on each job passes it on (SIGHUP as SIGTERM: Lightning stops a run at its next batch
  on SIGTERM and has no SIGHUP handling), starts no new job, gives the running ones
  ``hydra.launcher.interrupt_grace_s`` to write ``interrupted`` and then kills them;
* a launcher that trains in its own process (hydra/launcher=stacked, gpu_pool's stack worker)
  raises the interruption where the training is, as Ctrl-C does: KeyboardInterrupt for SIGINT,
  Lightning's SIGTERMException for SIGTERM and SIGHUP. While a Lightning trainer holds SIGTERM it gets
  the signal itself and stops at its next batch; the handler then only notes it.

Then ``exit_interrupted`` brings the summary up to date, prints one line with the command that
continues the sweep, and exits with 128 + the signal's number (143 for SIGTERM, 130 for SIGINT).
"""

from __future__ import annotations

import math
import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from lit_hw.config.cli import override_key, quote_override_value
from lit_hw.config.override_keys import SWEEP_SWITCHES
from lit_hw.core.errors import ConfigError

# SIGHUP too: gpu_pool's jobs have their own process groups, so a closed terminal reaches only the sweep
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PLAIN_VALUE = re.compile(r"[\w./:+-]+")


def passed_on(signum: int) -> int:
    """The signal a job gets for ``signum`` to its sweep."""
    return signal.SIGTERM if signum == signal.SIGHUP else signum


def interruption(signum: int) -> BaseException:
    """What a training loop in this process is stopped with: what Python and Lightning raise themselves."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    return SIGTERMException()


class SweepSignals:
    """Hold SIGTERM, SIGINT and SIGHUP for the ``with`` block, then put the previous handlers back.

    ``signum`` is the first signal that came (None: none), ``count`` how many came; with ``stop_here``
    the first one also raises ``interruption(signum)`` in the main thread. Handlers can only be set
    from the main thread; elsewhere (a launcher run from a thread) nothing is held and the old
    behaviour stays. A signal that is ignored when the block starts (``nohup``, a background job of
    a non-interactive shell) stays ignored."""

    def __init__(self, stop_here: bool = False):
        self.stop_here = stop_here
        self.signum: int | None = None
        self.count = 0
        self.previous: dict[int, object] = {}

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    def __enter__(self) -> SweepSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                previous = signal.getsignal(signum)
                if previous is signal.SIG_IGN:
                    continue
                self.previous[signum] = previous
                signal.signal(signum, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self.previous.items():
            # None: a handler set from C, which Python cannot set back; the default is the nearest
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self.previous.clear()

    def handle(self, signum: int, frame) -> None:
        # No locks and no logging here: the handler runs between two bytecodes of the main thread,
        # which may be holding the very lock it would wait for.
        self.count += 1
        if self.signum is None:
            self.signum = signum
        # Raise only while this is the process's handler: called from Lightning's own SIGTERM handler
        # (which calls the handler it found), the trainer stops at its next batch by itself.
        if self.stop_here and self.count == 1 and signal.getsignal(signum) == self.handle:
            raise interruption(signum)


def grace_seconds(value) -> float:
    """``hydra.launcher.interrupt_grace_s`` as seconds; a ConfigError (one line) if it is not a number >= 0."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not seconds >= 0:
        raise ConfigError(f"hydra.launcher.interrupt_grace_s={value} must be a number of seconds >= 0")
    return seconds


def resume_command(sweep_dir) -> str:
    """The command that continues this sweep: this process's command line, its sweep dir fixed (a
    default dir holds the start time), plus resume_sweep=true."""
    from lit_hw.sweeps.launchers.launching import entrypoint_command

    kept = [a for a in sys.argv[1:] if override_key(a) not in ("hydra.sweep.dir", *SWEEP_SWITCHES)]
    sweep_dir = str(sweep_dir)
    if not PLAIN_VALUE.fullmatch(sweep_dir):  # Hydra's grammar reads ',' '=' quotes, brackets its own way
        sweep_dir = quote_override_value(sweep_dir)
    return shlex.join([*entrypoint_command(), *kept, f"hydra.sweep.dir={sweep_dir}", "resume_sweep=true"])


def exit_interrupted(launcher: str, signum: int, interrupted: int, not_started: int, sweep_dir) -> NoReturn:
    """Bring the sweep summary up to date, say in one line what was stopped and how to continue, and
    exit as a process stopped by ``signum`` does (128 + its number)."""
    from lit_hw.sweeps.summary.hydra_callback import refresh_summary

    refresh_summary(sweep_dir)
    name = signal.Signals(signum).name
    print(
        f"{launcher}: stopped by {name}: {interrupted} running job(s) recorded interrupted, {not_started} not "
        f"started (summary: {Path(str(sweep_dir)) / 'summary.md'}); continue with: {resume_command(sweep_dir)}",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(128 + signum)
