"""Turn a UserError into one readable line and a non-zero exit, instead of a stack trace."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from lit_hw.config.override_keys import HYDRA_DIR_KEYS, PATH_KEYS
from lit_hw.core.errors import SweepConfigError, UserError, print_error


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
            if in_multirun() and not isinstance(err, SweepConfigError):
                # Hydra records an exception as this job's failure and runs the other jobs (SystemExit
                # would end the whole sweep here); the sweep's callback prints the line, naming the job
                # (lit_hw.sweeps.summary.hydra_callback.SweepSummary.on_job_end).
                raise
            print_error(err)  # once: not also as a log line on stdout
            raise SystemExit(2) from None

    return wrapper


def override_key(override: str) -> str:
    """The key an override sets: ``optim.lr`` of ``+optim.lr=0.1``, ``init`` of ``init=he``."""
    return override.split("=", 1)[0].lstrip("+~")


def quote_override_value(value: str) -> str:
    """An override value that Hydra's parser reads back verbatim (dirs contain '=' and ',')."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


OVERRIDE_GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def override_problem(override: str) -> str | None:
    """Why Hydra's override parser cannot read ``override`` (its reason, shortened to one line), or None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        OverridesParser.create().parse_overrides([override])
    except OverrideParseException as err:
        return parser_reason(err.message, override)
    except Exception:  # anything else needs the app's config loader (e.g. glob): Hydra judges it itself
        return None
    return None


def parser_reason(message: str, override: str) -> str:
    """Hydra's parser message in a few words: its lexer error is the override again with a caret
    under the character it stopped at, its parser error lists every token it expected."""
    lines = [line for line in message.splitlines() if line.strip() and not line.startswith("See https://")]
    lexer = "LexerNoViableAltException: "
    if lines and lines[0].startswith(lexer) and len(lines) > 1:
        column = lines[1].find("^") - len(lexer)
        if 0 <= column < len(override):
            return f"it cannot read {override[column]!r} outside quotes"
    lines = [line for line in lines if not line.startswith(("Error parsing override", lexer))]
    return lines[0].split(" expecting ")[0] if lines else "a syntax error"


def quote_path_overrides(argv: list[str]) -> list[str]:
    """Quote the value of ``resume=``, ``ckpt_path=``, ``hydra.run.dir=``, ... when Hydra's grammar would
    not read it as the path written: a second '=', non-ASCII letters (``ü``), ``~``, ``#``, brackets,
    quotes and control characters are syntax errors there, and a ',' makes a sweep. The dir of a new run
    does not exist yet, so what is quoted follows from the parser, not from the disk; only a ',' is
    ambiguous: it is part of the path where it cannot be a sweep (Hydra's own dirs, which Hydra refuses
    to sweep) or where the whole value is an existing path (``resume=<a sweep job dir>``).
    Values already quoted, and anything else, pass unchanged."""
    quoted = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+~") in PATH_KEYS and value[:1] not in ("'", '"') and needs_quotes(key, value):
            arg = f"{key}={quote_override_value(value)}"
        quoted.append(arg)
    return quoted


def needs_quotes(key: str, value: str) -> bool:
    if "," in value:
        return key.lstrip("+~") in HYDRA_DIR_KEYS or Path(value).exists()
    return override_problem(f"{key}={value}") is not None


def shell_word(text: str) -> str:
    """``text`` as a POSIX shell needs it typed: in double quotes, which keep the single quotes that
    Hydra needs, with the characters that are special there escaped."""
    return '"' + re.sub(r'(["$`\\])', r"\\\1", text) + '"'


def refuse_unreadable_overrides(argv: list[str]) -> None:
    """End the command with one line when Hydra's parser cannot read an override, instead of its
    several-line lexer report: the line names the override and shows it with its value quoted."""
    from lit_hw.config.hydra_adapter import args_parser

    parser = args_parser()
    parser.exit_on_error = False  # a bad flag is Hydra's to report, as it would without this check
    try:
        overrides = parser.parse_known_args(argv[1:])[0].overrides
    except Exception:
        return
    for override in overrides:
        problem = override_problem(override)
        if problem is None:
            continue
        key, sep, value = override.partition("=")
        fixed = f"{key}={quote_override_value(value)}"
        if sep and value[:1] not in ("'", '"') and override_problem(fixed) is None:
            hint = f"; to pass the value as written, quote it: {shell_word(fixed)}"
        else:
            hint = f"; see {OVERRIDE_GRAMMAR}"
        print_error(f"Hydra cannot read the override {override} ({problem}){hint}")
        raise SystemExit(2)
