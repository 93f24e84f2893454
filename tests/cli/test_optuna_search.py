"""``-m hparams_search=mlp_optuna`` on optuna >= 4: a search killed after 2 trials continues to 4 with
``resume_sweep=true``, every trial in <sweep dir>/optuna.db (the search loop itself: tests/unit/sweeps/test_optuna_search.py)."""

from __future__ import annotations

import json
import os
import signal

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from tests.helpers.cli import run_cli
from tests.helpers.sweeps import QUICK, data_args, records, start, summary_rows, wait_for


def finished_jobs(sweep) -> list[str]:
    return [name for name, record in records(sweep).items() if record["status"] == "ok"] if sweep.is_dir() else []


@pytest.mark.slow
def test_a_killed_search_continues_where_it_stopped(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "hparams_search=mlp_optuna", "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=1",
            "trainer.max_epochs=1", "print_config=false", *QUICK, *data_args(random_mnist_dir),
            f"hydra.sweep.dir={sweep}"]  # fmt: skip
    search = start(args, tmp_path / "first.log")
    try:
        first_two = wait_for(lambda: len(finished_jobs(sweep)) >= 2 and finished_jobs(sweep), 240, "2 finished trials")
    finally:
        os.killpg(search.pid, signal.SIGKILL)
        search.wait()
    kept = {name: (sweep / name / "metrics.json").read_bytes() for name in first_two}
    study = optuna.load_study(study_name="mlp_optuna", storage=f"sqlite:///{sweep / 'optuna.db'}")
    # both in the study: told, or still running if the kill came between a job's end and its value's tell
    assert len(study.trials) >= 2 and study.trials[0].state == TrialState.COMPLETE

    run_cli("lit_hw.train", *args, "resume_sweep=true")
    all_trials = optuna.load_study(study_name="mlp_optuna", storage=f"sqlite:///{sweep / 'optuna.db'}").trials
    trials = [t for t in all_trials if t.state == TrialState.COMPLETE]
    assert len(trials) == 4
    # the kill may land after a trial was asked and before its job started: that trial has no job, and the
    # resumed search tells it FAIL and asks another in its place (never more than one such trial here)
    never_launched = [t for t in all_trials if t not in trials]
    assert len(never_launched) <= 1
    assert all(t.state == TrialState.FAIL and "lit_hw.job_num" not in t.user_attrs for t in never_launched)
    assert sorted(t.user_attrs["lit_hw.job_num"] for t in trials) == [0, 1, 2, 3]
    jobs = records(sweep)
    assert sorted(name.split("_")[0] for name in jobs) == ["0", "1", "2", "3"]
    assert all(record["status"] == "ok" for record in jobs.values())
    assert all((sweep / name / "metrics.json").read_bytes() == text for name, text in kept.items())  # kept as they were
    # each trial's value is its job's best val/acc, and the results file names the best of them
    by_job = {name.split("_")[0]: record["final"]["val/acc_best"] for name, record in jobs.items()}
    assert {str(t.user_attrs["lit_hw.job_num"]): t.value for t in trials} == pytest.approx(by_job)
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == max(t.value for t in trials)
    assert len(summary_rows(sweep)) == 4
    assert json.loads((sweep / next(iter(kept)) / "metrics.json").read_text())["status"] == "ok"
