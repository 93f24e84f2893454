"""Errors caused by what the user asked for, reported as one readable line.

Anything raised as a ``UserError`` is printed by the entrypoints without a
stack trace (set ``LIT_HW_DEBUG=1`` to see it); everything else is a bug.
How any exception is recorded in a run's metrics.json (``describe``) lives here too, so that
recording a failure needs neither torch nor Lightning, and so does ``print_error``, which prints
every ``error:`` line as one plain line.
"""

from __future__ import annotations

import re
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
    if str(err):
        text = str(err)
    elif isinstance(err, KeyboardInterrupt):
        text = "Ctrl-C (SIGINT)"
    else:
        text = "the process got SIGTERM (scancel, preemption or a kill)" if is_interruption(err) else ""
    return f"{type(err).__name__}: {text}"


# ANSI escape sequences: CSI (colours, cursor moves: ESC [ ... final byte, or the 8-bit CSI byte), OSC
# (window titles, hyperlinks: ESC ] ... BEL or ESC \) and the two-byte ones (ESC followed by @-Z \ ] ^ _)
ANSI_ESCAPE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# what is left of the C0 and C1 control characters once the line breaks are gone (a tab stays)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(message: object) -> str:
    """``message`` as one plain line: a user's value, or a library's message (rich, Lightning), may carry
    colour codes or line breaks, which would paint the user's terminal or break the one-line promise."""
    text = LINE_BREAKS.sub(" ", ANSI_ESCAPE.sub("", str(message)))
    return CONTROL_CHARACTERS.sub("", text).strip()


def print_error(message: object) -> None:
    """Print ``error: <message>`` on stderr: every entrypoint's one-line error goes through here."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
