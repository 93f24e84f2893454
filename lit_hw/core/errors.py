"""Errors caused by what the user asked for, reported as one readable line.

Anything raised as a ``UserError`` is printed by the entrypoints without a
stack trace (set ``LIT_HW_DEBUG=1`` to see it); everything else is a bug.
"""


class UserError(ValueError):
    """A bad config value, a missing or corrupt file, an unusable checkpoint."""


class ConfigError(UserError):
    """A config value that cannot work, found before any training starts."""


class DataError(UserError):
    """Data files that are missing, corrupt or inconsistent."""


class SweepConfigError(ConfigError):
    """A setting that breaks every job of a multirun alike: the sweep stops at once."""
