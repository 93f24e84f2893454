"""hydra/launcher=gpu_pool: one fresh process per job, slots, parallelism, failures."""

from __future__ import annotations

import json

import pytest

from lit_hw.config.cli import quote_override_value
from lit_hw.core.errors import ConfigError
from lit_hw.sweeps.launchers.gpu_slots import resolve_slots, threads_per_job
from tests.helpers.cli import run_cli


def probes(sweep_dir):
    return sorted((json.loads(p.read_text()) for p in sweep_dir.glob("*/probe.json")), key=lambda p: p["num"])


def max_concurrent(runs) -> int:
    events = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_slots_default_to_visible_gpus_and_split_cores(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert resolve_slots(None) == (["2", "3"], False)
    assert resolve_slots(["0,1", "2, 3"])[0] == ["0,1", "2,3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    slots, on_cpu = resolve_slots(None, cpu_slots=3)
    assert on_cpu and slots == ["", "", ""]
    assert threads_per_job(2, threads=None) >= 1 and threads_per_job(100) == 1 and threads_per_job(2, 5) == 5
    with pytest.raises(ConfigError, match="empty slot"):
        resolve_slots([""])
    assert quote_override_value("/a/0_x=1,y='b'") == "'/a/0_x=1,y=\\'b\\''"


def test_four_jobs_on_two_slots_run_two_at_a_time(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "tests.gpu_pool_probe",
        "-m",
        "hydra/launcher=gpu_pool",
        "hydra.launcher.slots=[0,1]",
        f"hydra.sweep.dir={sweep}",
        "+probe_sleep_s=2",
        "seed=1,2,3,4",
        timeout=300,
    )
    runs = probes(sweep)
    assert [r["num"] for r in runs] == [0, 1, 2, 3]
    assert len({r["pid"] for r in runs}) == 4  # a fresh process per job
    assert max_concurrent(runs) == 2, runs
    assert {r["cuda_visible_devices"] for r in runs} == {"0", "1"}
    # the two jobs running at the same time hold different slots
    for a in runs:
        for b in runs:
            if a is not b and a["start"] < b["end"] and b["start"] < a["end"]:
                assert a["cuda_visible_devices"] != b["cuda_visible_devices"]
    assert all(r["omp_num_threads"] == runs[0]["omp_num_threads"] for r in runs)
    assert [f"seed={i}" in r["overrides"] for i, r in zip(range(1, 5), runs)] == [True] * 4
    summary = (sweep / "summary.csv").read_text()
    assert summary.count(",ok,") == 4, summary
    assert "gpu_pool: 4 jobs" in proc.stderr + proc.stdout


def test_a_failed_job_does_not_stop_the_others_and_the_sweep_exits_nonzero(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "tests.gpu_pool_probe",
        "-m",
        "hydra/launcher=gpu_pool",
        "hydra.launcher.slots=[0]",
        "hydra.launcher.jobs_per_slot=2",
        f"hydra.sweep.dir={sweep}",
        "+probe_sleep_s=0.2",
        "+fail_jobs=[1]",
        "seed=1,2,3",
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "probe job 1 failed on purpose" in proc.stderr
    assert [r["num"] for r in probes(sweep)] == [0, 1, 2]
    failed = json.loads(next(sweep.glob("1_*/metrics.json")).read_text())
    assert failed["status"] == "failed" and "failed on purpose" in failed["error"]
    assert "probe job 1 failed on purpose" in (sweep / "summary.md").read_text()
