#!/usr/bin/env bash
# make test-cluster: start the one-node SLURM cluster and the Ray head, run tests/cluster, and stop
# every daemon this started, also when a test fails or the run is interrupted.
#   PY (default .venv/bin/python) must have the slurm and ray extras (the Makefile installs them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PY=${PY:-$(dirname "$here")/.venv/bin/python}
# the `ray` CLI and the venv's tools first on PATH (the tests check for a Ray head with `ray status`)
export PATH="$(dirname "$PY"):$PATH"
trap 'bash "$here/stop.sh"' EXIT
bash "$here/start.sh"
cd "$(dirname "$here")"
"$PY" -m pytest -q -m cluster tests/cluster "$@"
