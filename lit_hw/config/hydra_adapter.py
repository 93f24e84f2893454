"""The only places where lit_hw relies on Hydra's private API, and a check that they still hold.

1. ``hydra._internal.utils.get_args_parser``: Hydra's own command-line parser, so that lit_hw reads
   the overrides exactly as ``@hydra.main`` will (one-line errors for what Hydra cannot parse).
2. ``hydra.core.utils._save_config``: writes a job's ``.hydra/`` files as Hydra's ``run_job`` does,
   for a job that a launcher runs without ``run_job`` (a stack member).
3. ``JobReturn._return_value``: a job's value or exception as it is; the public ``return_value``
   property prints Hydra's own error line and raises a failed job's exception.
4. ``hydra._internal.core_plugins.basic_sweeper.BasicSweeper``: its class path (the ``_target_`` that
   ``hydra/sweeper=basic`` puts in a sweep's multirun.yaml) and ``split_arguments`` (how it expands
   the sweep overrides into jobs), so the sweep summary lists the jobs that have not started yet.

``missing_internals()`` lists what a Hydra upgrade took away; tests/unit/config/test_hydra_adapter.py fails with
that list. Hydra's private modules are imported only when used: ``--help`` and a one-line config
error stay fast.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from lit_hw.core.allowed_names import import_dotted

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
ARGS_PARSER = "hydra._internal.utils.get_args_parser"
SAVE_CONFIG = "hydra.core.utils._save_config"
RETURN_VALUE = "_return_value"


def _attribute(path: str):
    found = import_dotted(path)
    if found is None:
        raise AttributeError(f"{path} does not exist")
    return found


def args_parser():
    """Hydra's argparse parser of a Hydra app's command line (``overrides`` holds the overrides)."""
    return _attribute(ARGS_PARSER)()


def save_config(config, filename: str, output_dir: Path) -> None:
    """Write ``config`` as ``output_dir/filename``, as Hydra writes a job's .hydra/ files."""
    _attribute(SAVE_CONFIG)(config, filename, Path(output_dir))


def return_value(job_return) -> Any:
    """A JobReturn's value, or its exception for a failed job, without printing or raising it."""
    return getattr(job_return, RETURN_VALUE)


def expand_basic_sweep(overrides: list) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper expands parsed ``overrides`` (one batch)."""
    (jobs,) = _attribute(BASIC_SWEEPER).split_arguments(overrides, None)
    return jobs


def missing_internals() -> list[str]:
    """What of the above this Hydra no longer offers (empty when everything is in place)."""
    from hydra.core.utils import JobReturn, JobStatus

    missing = []
    for path, parameters in (
        (ARGS_PARSER, []),
        (SAVE_CONFIG, ["cfg", "filename", "output_dir"]),
        (f"{BASIC_SWEEPER}.split_arguments", ["overrides", "max_batch_size"]),
    ):
        try:
            found = _attribute(path)
        except AttributeError:
            missing.append(path)
            continue
        if list(inspect.signature(found).parameters) != parameters:
            missing.append(f"{path}({', '.join(parameters)})")
    job_return = JobReturn()
    job_return.status, job_return.return_value = JobStatus.FAILED, ValueError("probe")
    if not isinstance(getattr(job_return, RETURN_VALUE, None), ValueError):
        missing.append(f"JobReturn.{RETURN_VALUE}")
    return missing
