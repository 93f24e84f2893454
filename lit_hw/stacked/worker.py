"""One gpu_pool slot training one stack: ``python -m lit_hw.stacked.worker < <pickled spec>``.

hydra/launcher=stacked with slots (lit_hw.stacked.pool) composes the jobs of a group in the sweep process and
starts this module as a fresh process with ``CUDA_VISIBLE_DEVICES`` set to its slot, as it does for
an ordinary job. The composed jobs and the file to report to arrive pickled on standard input,
straight from the sweep process (never from a file: a file in a sweep dir is data, and unpickling
runs code). Reported back per job, as JSON: its status and return value or exception, as
lit_hw.sweeps.launchers.job_return does for an ordinary job.

SIGTERM (or SIGINT, SIGHUP) stops the stack where it is: every member's metrics.json says
``interrupted``, nothing is reported, and the worker exits 128 + the signal's number; the launcher
sees that it passed a signal on and records the jobs as stopped.
"""

from __future__ import annotations

import json
import logging
import pickle
import sys

from hydra.core.utils import setup_globals

from lit_hw.config.hydra_adapter import return_value
from lit_hw.config.resolvers import register_resolvers
from lit_hw.core.atomic_files import write_atomic
from lit_hw.sweeps.launchers.job_return import encode
from lit_hw.sweeps.launchers.sweep_signals import SweepSignals


def main() -> int:
    spec = sys.stdin.buffer.read()  # first: the launcher's write waits until it is read
    from lit_hw.stacked.run_stack import run_composed_stack  # torch and Lightning: after the logging setup

    setup_globals()  # Hydra's resolvers (now, hydra:...), for the pickled configs
    register_resolvers()
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] %(message)s")
    spec = pickle.loads(spec)
    with SweepSignals(stop_here=True) as signals:
        try:
            returns = run_composed_stack(spec["jobs"])
        except BaseException:
            if signals.stopping:  # run_composed_stack recorded the members interrupted
                return 128 + signals.signum
            raise
    report = {str(idx): encode(ret.status, return_value(ret)) for idx, ret in returns.items()}
    write_atomic(spec["returns"], json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
