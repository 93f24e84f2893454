"""Errors caused by what the user asked for, reported as one readable line.

Anything raised as a ``UserError`` is printed by the entrypoints without a
stack trace (set ``LIT_HW_DEBUG=1`` to see it); everything else is a bug.
How any exception is recorded in a run's metrics.json (``describe``) lives here too, so that
recording a failure needs neither torch nor Lightning.
"""

from __future__ import annotations

import sys


class UserError(ValueError):
    """A bad config value, a missing or corrupt file, an unusable checkpoint."""


class ConfigError(UserError):
    """A config value that cannot work, found before any training starts."""


class DataError(UserError):
    """Data files that are missing, corrupt or inconsistent."""


class SweepConfigError(ConfigError):
    """A setting that breaks every job of a multirun alike: the sweep stops at once."""


def is_interruption(err: BaseException) -> bool:
    """Ctrl-C, or SIGTERM (scancel, preemption, a kill), which Lightning raises as SIGTERMException:
    the run was stopped, not broken, so ``resume_sweep`` continues it from its last.ckpt."""
    if isinstance(err, KeyboardInterrupt):
        return True
    # A SIGTERMException exists only once Lightning has been imported; importing it here would cost
    # seconds in a job that failed before Lightning was needed (e.g. on a bad config value).
    exceptions = sys.modules.get("lightning.pytorch.utilities.exceptions")
    return exceptions is not None and isinstance(err, exceptions.SIGTERMException)


def describe(err: BaseException) -> str:
    """The one line that metrics.json keeps of an exception: its type and message."""
    text = str(err) or ("the process got SIGTERM (scancel, preemption or a kill)" if is_interruption(err) else "")
    return f"{type(err).__name__}: {text}"
