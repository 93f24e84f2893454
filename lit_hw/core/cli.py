"""Turn a UserError into one readable line and a non-zero exit, instead of a stack trace."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from lit_hw.core.errors import SweepConfigError, UserError


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def report_user_errors(main):
    """Decorate a Hydra task function: UserError -> 'error: <message>' on stderr, exit status 2.

    Set LIT_HW_DEBUG=1 to get the full traceback instead.
    """

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            if os.environ.get("LIT_HW_DEBUG") == "1":
                raise
            print(f"error: {err}", file=sys.stderr)  # once: not also as a log line on stdout
            if in_multirun() and not isinstance(err, SweepConfigError):
                # Hydra records an exception as this job's failure and runs the other jobs;
                # SystemExit would end the whole sweep here.
                raise
            raise SystemExit(2) from None

    return wrapper


def override_key(override: str) -> str:
    """The key an override sets: ``optim.lr`` of ``+optim.lr=0.1``, ``init`` of ``init=he``."""
    return override.split("=", 1)[0].lstrip("+~")


def quote_override_value(value: str) -> str:
    """An override value that Hydra's parser reads back verbatim (dirs contain '=' and ',')."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# overrides whose value is a path; a sweep's job dirs are named like 1_optim.lr=0.1,seed=0
PATH_KEYS = ("resume", "ckpt_path", "data.data_dir", "hydra.run.dir", "hydra.sweep.dir")


def quote_path_overrides(argv: list[str]) -> list[str]:
    """Quote the value of ``resume=``, ``ckpt_path=``, ... when it is an existing path holding '=' or ',':
    Hydra's grammar reads ',' as a sweep and a second '=' as a syntax error, so such a path would not
    arrive as written. Values already quoted, and anything else, pass unchanged."""
    quoted = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if (
            sep
            and key.lstrip("+~") in PATH_KEYS
            and value[:1] not in ("'", '"')
            and ("," in value or "=" in value)
            and Path(value).exists()
        ):
            arg = f"{key}={quote_override_value(value)}"
        quoted.append(arg)
    return quoted
