#!/usr/bin/env bash
# make test-cluster: start the one-node SLURM cluster and the Ray head, run tests/cluster, and stop
# every daemon this started, also when a test fails or the run is interrupted.
#   PY (default .venv/bin/python) must have the slurm and ray extras (the Makefile installs them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PY=${PY:-$(dirname "$here")/.venv/bin/python}
# Recent Ray (2.60 here) turns token authentication on for a new local cluster (writing ~/.ray/auth_token),
# after which `ray start` and the `ray` CLI disagree on it: one mode for every process of this run
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled}
# the `ray` CLI and the venv's tools first on PATH (the tests check for a Ray head with `ray status`)
export PATH="$(dirname "$PY"):$PATH"
# here a cluster that does not come up is a failure, not a skip
export LIT_HW_CLUSTER_REQUIRED=1
trap 'bash "$here/stop.sh"' EXIT
bash "$here/start.sh"
cd "$(dirname "$here")"
# two tests at a time, as make test does: while one waits on SLURM's or Ray's scheduling, or on a job's
# process importing torch on one core, the other uses the second core; and under xdist tests/conftest.py
# gives every process it starts one torch thread (run serially, each training process had two threads that
# spun against the others on the two busy cores). --dist loadfile keeps a file's tests and module fixtures
# on one worker
"$PY" -m pytest -q -n 2 --dist loadfile -m cluster tests/cluster "$@"
