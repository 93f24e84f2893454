# make train | make test | make test-slow | make test-cluster | make bench | make reproduce | make wheel
# Each target creates .venv and installs lit_hw (editable, with the test extra) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install train test test-slow test-cluster bench reproduce wheel clean

# setup.py: the build step that packs conf/ into the wheel (an editable install reads conf/ in place)
$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the pair that installs from local wheels on our machines
	$(PY) -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(PY) -m lit_hw.train model=mlp $(ARGS)

# lint and format check, then the unit and CLI tests (tests/unit, tests/cli) that are not marked slow, two
# at a time (most tests wait on a subprocess that imports Lightning, so two workers keep both cores busy)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow and not cluster" $(ARGS)

# the end-to-end tests marked slow (real digits to an accuracy, whole sweeps compared launcher by
# launcher, reproduce fast=true); .ci/run runs them after `make test`. The longest files go first, in
# tests/conftest.py's order (LONG_FILES), not xdist's most-tests-first
test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "slow and not cluster" $(ARGS)

# a one-node SLURM cluster and a Ray head on this machine (cluster/start.sh installs slurm-wlm and
# munge with apt-get if missing), the tests in tests/cluster, then every daemon stopped again
CLUSTER_STAMP := $(VENV)/.cluster-extras
$(CLUSTER_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,slurm,ray]"
	touch $(CLUSTER_STAMP)

test-cluster: $(CLUSTER_STAMP)
	bash cluster/run_tests.sh $(ARGS)

bench: $(STAMP)
	$(PY) -m bench.epoch_overhead $(ARGS)

reproduce: $(STAMP)
	$(PY) -m lit_hw.reproduce $(ARGS)

# dist/lit_hw-<version>-py3-none-any.whl with the configs and the launchers' Hydra plugins
# (docs/own_project.md); built by the venv's setuptools, so nothing is downloaded
wheel: $(STAMP)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) .pytest_cache build dist
