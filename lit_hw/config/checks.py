"""One helper per kind of value check; each raises a ConfigError that names the key and what is accepted.

Every object checks its own arguments with these (nets, datamodules, tasks, the optimizer
builder), and ``check_config`` composes those objects instead of restating their rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from lit_hw.core.errors import ConfigError


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require_whole(key: str, value, minimum: int | None = None):
    """A whole number (not a bool, not 1.0), at least ``minimum``."""
    if not is_whole(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(f"{key}={value!r} must be a whole number{bound}")
    return value


def require_wholes(key: str, values, minimum: int = 1, allow_empty: bool = False) -> list[int]:
    """A list of whole numbers, each at least ``minimum`` (layer sizes, channel counts)."""
    values = list(values) if isinstance(values, Iterable) and not isinstance(values, str) else [values]
    if (not values and not allow_empty) or any(not is_whole(v) or v < minimum for v in values):
        raise ConfigError(
            f"{key}={values} must be a {'' if allow_empty else 'non-empty '}list of whole numbers >= {minimum}"
        )
    return values


def require_number(key: str, value, minimum: float | None = None, positive: bool = False, example: str = ""):
    """A finite number; ``positive`` excludes 0, ``minimum`` is inclusive."""
    ok = is_number(value) and (not positive or value > 0) and (minimum is None or value >= minimum)
    if not ok:
        what = (
            "a positive finite number"
            if positive
            else "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        )
        raise ConfigError(f"{key}={value!r} must be {what}{', e.g. ' + example if example else ''}")
    return value


def require_fraction(key: str, value, low_open: bool = False, high_open: bool = True):
    """A number in [0, 1) by default; the bounds' openness is configurable."""
    low_ok = is_number(value) and (value > 0 if low_open else value >= 0)
    high_ok = is_number(value) and (value < 1 if high_open else value <= 1)
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ConfigError(f"{key}={value!r} must be in {interval}")
    return value


def require_in(key: str, value, choices: Iterable, what: str = "option"):
    """One of ``choices`` (names of sources, schemes, losses, ...)."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not a known {what}; choose one of {', '.join(map(str, choices))}")
    return value


def instantiate_checked(node, **kwargs):
    """Hydra's ``instantiate``, letting a UserError raised by the target through unwrapped
    (Hydra wraps it in an InstantiationException, whose text is several lines)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from lit_hw.core.errors import UserError

    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, UserError):
            raise err.__cause__ from None
        raise
