"""One gpu_pool slot training one stack: ``python -m lit_hw.sweeps.stack_worker <spec.pkl>``.

gpu_pool (``hydra.launcher.stacked=true``) composes the jobs of a group in the sweep process,
pickles them with the file to report back to, and starts this module as a fresh process with
``CUDA_VISIBLE_DEVICES`` set to its slot, as it does for an ordinary job. Reported back per job:
(status name, return value or exception), as lit_hw.sweeps.job_return does for an ordinary job.
"""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path

from hydra.core.utils import setup_globals

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.resolvers import register_resolvers


def picklable(value):
    try:
        pickle.dumps(value)
        return value
    except Exception:  # an unpicklable result or exception: keep what it said
        return RuntimeError(repr(value))


def main(spec_path: str) -> int:
    from lit_hw.sweeps.stack_run import run_composed_stack  # torch and Lightning: after the logging setup

    setup_globals()  # Hydra's resolvers (now, hydra:...), for the pickled configs
    register_resolvers()
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] %(message)s")
    spec = pickle.loads(Path(spec_path).read_bytes())
    returns = run_composed_stack(spec["jobs"])
    report = {idx: (ret.status.name, picklable(ret._return_value)) for idx, ret in returns.items()}
    write_atomic(spec["returns"], pickle.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
