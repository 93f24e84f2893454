"""lit_hw.config: one definition of each kind of special override, of a job's device count and of the
resolvers, each checked against the configs that use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lit_hw.config.override_keys import REPLICATE_KEYS, STACKABLE_KEYS, SWEEP_SWITCHES
from lit_hw.config.resolvers import RESOLVERS, device_count, gpus_per_job

CONF = Path(__file__).resolve().parents[3] / "conf"


def conf_text() -> str:
    return "\n".join(path.read_text() for path in sorted(CONF.rglob("*.yaml")))


def test_every_resolver_is_used_by_a_config():
    unused = [name for name in RESOLVERS if "${" + name + ":" not in conf_text()]
    assert not unused, f"resolvers no config calls: {unused}"


def test_sweep_switches_stay_out_of_job_dir_names():
    # resume_sweep=true finds each job's earlier attempt by its dir name, which must not change with it
    hydra_defaults = yaml.safe_load((CONF / "hydra" / "default.yaml").read_text())
    excluded = hydra_defaults["job"]["config"]["override_dirname"]["exclude_keys"]
    assert set(SWEEP_SWITCHES) <= set(excluded)


def test_replicates_and_stack_members_are_distinct_kinds():
    # a fold changes the data stream: its jobs replicate a configuration but cannot share one stack
    assert "seed" in REPLICATE_KEYS and "seed" in STACKABLE_KEYS
    assert "data.fold" in REPLICATE_KEYS and "data.fold" not in STACKABLE_KEYS
    assert not set(SWEEP_SWITCHES) & (set(REPLICATE_KEYS) | STACKABLE_KEYS)


@pytest.mark.parametrize(
    "devices, expected",
    [(1, 1), (3, 3), ("2", 2), ("0,1", 2), ("0,1,", 2), ([0, 3], 2), (True, 1), (0, 1), ("auto", 1), (-1, 1)],
)
def test_device_count_for_a_scheduler(devices, expected):
    assert device_count(devices) == expected


@pytest.mark.parametrize("devices", ["auto", -1, "-1"])
def test_auto_devices_are_every_device_of_the_node(devices):
    assert device_count(devices, all_devices=4) == 4
    assert device_count(devices, all_devices=0) == 1  # auto on a node without GPUs: one process
    assert device_count(2, all_devices=4) == 2  # a count given is that count


def test_gpus_per_job_asks_for_none_on_the_cpu():
    assert gpus_per_job("cpu", 4) == 0
    assert gpus_per_job("gpu", "0,1") == 2
    assert gpus_per_job("auto", "auto") == 1


def test_rank_zero_reads_every_rank_variable(monkeypatch):
    from lit_hw.core.run_files import DDP_RANK_VARS, SLURM_RANK_VAR, is_rank_zero

    for var in (*DDP_RANK_VARS, SLURM_RANK_VAR):
        monkeypatch.delenv(var, raising=False)
    assert is_rank_zero()
    for var in (*DDP_RANK_VARS, SLURM_RANK_VAR):
        monkeypatch.setenv(var, "1")
        assert not is_rank_zero(), var
        monkeypatch.setenv(var, "0")


def test_reproduce_sweep_sections_are_the_presets_that_sweep():
    from lit_hw.experiments.report_sections import MNIST_SECTIONS
    from lit_hw.experiments.reproduce import SWEEP_PRESETS

    def sweeps(section):
        path = CONF / "experiment" / f"{section}.yaml"
        preset = yaml.safe_load(path.read_text()) if path.is_file() else {}
        return bool(preset.get("hydra", {}).get("sweeper", {}).get("params"))

    assert set(SWEEP_PRESETS) == {section for section in MNIST_SECTIONS if sweeps(section)}
