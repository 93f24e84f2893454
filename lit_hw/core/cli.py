"""Turn a UserError into one readable line and a non-zero exit, instead of a stack trace."""

from __future__ import annotations

import functools
import logging
import os
import sys

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from lit_hw.core.errors import SweepConfigError, UserError

log = logging.getLogger("lit_hw")


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
            log.error("%s", err)
            print(f"error: {err}", file=sys.stderr)
            if in_multirun() and not isinstance(err, SweepConfigError):
                # Hydra records an exception as this job's failure and runs the other jobs;
                # SystemExit would end the whole sweep here.
                raise
            raise SystemExit(2) from None

    return wrapper
