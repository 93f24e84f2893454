"""The Optuna sweeper's search loop (lit_hw.sweeps.optuna.search) with a launcher that computes a tiny
objective in-process: batches and job numbers, failed jobs, the sqlite study, resume_sweep=true."""

from __future__ import annotations

import math
import os
import signal
from types import SimpleNamespace

import optuna
import pytest
import yaml
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from optuna.trial import TrialState

from lit_hw.core.errors import ConfigError
from lit_hw.sweeps.optuna.search import OptunaSearch, consecutive_runs
from lit_hw.sweeps.resume import SweepDirHasResults

PARAMS = {"optim.lr": "tag(log, interval(0.0001, 1.0))", "model.width": "choice(8, 16, 32)"}
SEEDED_TPE = {"_target_": "optuna.samplers.TPESampler", "seed": 0, "n_startup_trials": 3}


class ToyLauncher:
    """Returns -(log10(lr) + 2)^2 - width/100 for each job (best near lr=0.01, width 8); ``fail`` maps a job
    number to the exception it ends with or the value it returns; ``stop_at`` raises KeyboardInterrupt
    when that job starts, as Ctrl-C would."""

    def __init__(self, fail=None, stop_at=None):
        self.calls: list[tuple[int, list[list[str]]]] = []
        self.fail, self.stop_at = fail or {}, stop_at

    def launch(self, job_overrides, initial_job_idx):
        self.calls.append((initial_job_idx, [list(o) for o in job_overrides]))
        returns = []
        for num, overrides in enumerate(job_overrides, start=initial_job_idx):
            if num == self.stop_at:
                raise KeyboardInterrupt
            values = dict(o.split("=", 1) for o in overrides)
            ret = JobReturn(overrides=list(overrides))
            outcome = self.fail.get(
                num, -((math.log10(float(values["optim.lr"])) + 2) ** 2) - int(values["model.width"]) / 100
            )
            ret.status = JobStatus.FAILED if isinstance(outcome, BaseException) else JobStatus.COMPLETED
            ret.return_value = outcome
            returns.append(ret)
        return returns


def composes_everything(master_config, sweep_overrides):
    return master_config


def search(tmp_path, launcher, *, n_trials=5, n_jobs=2, resume=False, storage=None, sampler=SEEDED_TPE,
           params=PARAMS, sweep="sweep", load_sweep_config=composes_everything):  # fmt: skip
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / sweep)}}, "resume_sweep": resume})
    context = SimpleNamespace(config_loader=SimpleNamespace(load_sweep_config=load_sweep_config))
    return OptunaSearch(launcher=launcher, config=config, hydra_context=context, direction="maximize",
                        storage=storage, study_name="toy", n_trials=n_trials, n_jobs=n_jobs,
                        sampler=OmegaConf.create(sampler) if sampler else None, params=params)  # fmt: skip


def stored_trials(sweep_dir, storage=None):
    study = optuna.load_study(study_name="toy", storage=storage or f"sqlite:///{sweep_dir / 'optuna.db'}")
    return study.get_trials()


def test_trials_run_n_jobs_at_a_time_through_the_launcher_and_the_best_is_written(tmp_path):
    launcher = ToyLauncher()
    search(tmp_path, launcher, n_trials=3).sweep(["trainer.max_epochs=1"])
    assert [(idx, len(batch)) for idx, batch in launcher.calls] == [(0, 2), (2, 1)]
    jobs = [overrides for _, batch in launcher.calls for overrides in batch]
    assert all(o[-1] == "trainer.max_epochs=1" and o[0].startswith("optim.lr=") for o in jobs)
    trials = stored_trials(tmp_path / "sweep")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert [t.user_attrs["lit_hw.job_num"] for t in trials] == [0, 1, 2]
    best = max(trials, key=lambda t: t.value)
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert results["best_value"] == best.value and results["best_params"] == best.params
    assert results["best_trial"] == best.number and results["trials"] == {"complete": 3}
    assert (tmp_path / "sweep" / "multirun.yaml").is_file()  # the summary reads the sweep's config there


def test_a_failed_or_valueless_job_is_told_failed_and_the_search_goes_on(tmp_path):
    launcher = ToyLauncher(fail={1: RuntimeError("CUDA out of memory"), 2: None, 3: math.nan})
    search(tmp_path, launcher, n_trials=4).sweep([])
    states = [t.state for t in stored_trials(tmp_path / "sweep")]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL, TrialState.FAIL]
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert results["trials"] == {"complete": 1, "fail": 3}


def test_an_interrupted_search_continues_with_resume_sweep(tmp_path, capsys):
    first = ToyLauncher(stop_at=3)
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path, first, n_trials=5).sweep(["seed=0"])
    said = capsys.readouterr().err
    assert (
        "stopped while trial(s) [2, 3] ran" in said
        and f"hydra.sweep.dir={tmp_path / 'sweep'} resume_sweep=true" in said
    )
    before = stored_trials(tmp_path / "sweep")
    assert [t.state for t in before] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING] * 2
    with pytest.raises(SweepDirHasResults, match="holds 4 trial.*add resume_sweep=true"):
        search(tmp_path, ToyLauncher(), n_trials=5).sweep(["seed=0"])

    again = ToyLauncher()
    search(tmp_path, again, n_trials=5, resume=True).sweep(["seed=0", "resume_sweep=true"])
    # the two trials left running run again first, under their own job numbers and values; then the rest
    assert again.calls[0] == (2, [o + ["resume_sweep=true"] for o in first.calls[1][1]])
    assert [(idx, len(batch)) for idx, batch in again.calls] == [(2, 2), (4, 1)]
    after = stored_trials(tmp_path / "sweep")
    assert [t.state for t in after] == [TrialState.COMPLETE] * 5
    assert [t.params for t in after[:4]] == [t.params for t in before]
    # the seeded sampler does not draw the first trials' values again
    assert len({t.params["optim.lr"] for t in after}) == 5


def test_a_signal_to_the_search_stops_it_as_a_process_stopped_by_that_signal(tmp_path, capsys):
    class CtrlC(ToyLauncher):
        def launch(self, job_overrides, initial_job_idx):
            if initial_job_idx == 2:
                os.kill(os.getpid(), signal.SIGINT)  # handled by the search while this batch runs
            return super().launch(job_overrides, initial_job_idx)

    # as from a terminal: a test runner started in the background ignores SIGINT, and so would the search
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(SystemExit) as stopped:
            search(tmp_path, CtrlC(), n_trials=5).sweep([])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the search's handler is gone
    finally:
        signal.signal(signal.SIGINT, before)
    assert stopped.value.code == 128 + signal.SIGINT
    assert "stopped while trial(s) [2, 3] ran" in capsys.readouterr().err
    assert [t.state for t in stored_trials(tmp_path / "sweep")] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING] * 2


def test_a_trial_asked_but_never_launched_is_told_failed_on_resume(tmp_path):
    search(tmp_path, ToyLauncher(), n_trials=2).sweep([])
    study = optuna.load_study(study_name="toy", storage=f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}")
    study.ask()  # killed between ask and the job number: it never ran
    search(tmp_path, ToyLauncher(), n_trials=3, resume=True).sweep([])
    trials = stored_trials(tmp_path / "sweep")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[3].user_attrs["lit_hw.job_num"] == 2


def test_sweeps_sharing_one_storage_number_their_own_jobs(tmp_path):
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    for sweep in ("a", "b"):
        launcher = ToyLauncher()
        search(tmp_path, launcher, n_trials=2, storage=shared, sweep=sweep).sweep([])
        assert [idx for idx, _ in launcher.calls] == [0]
    trials = stored_trials(None, shared)
    assert [t.user_attrs["lit_hw.sweep_dir"] for t in trials] == [str(tmp_path / s) for s in "aabb"]
    assert not (tmp_path / "a" / "optuna.db").exists()


def test_the_grid_sampler_caps_n_trials_at_the_grid(tmp_path):
    launcher = ToyLauncher()
    grid = {"_target_": "optuna.samplers.GridSampler", "seed": 0}
    search(tmp_path, launcher, n_trials=10, sampler=grid, params={"optim.lr": "0.01,0.1", "model.width": "8,16"}).sweep(
        []
    )
    trials = stored_trials(tmp_path / "sweep")
    assert sorted((t.params["optim.lr"], t.params["model.width"]) for t in trials) == [
        (0.01, 8), (0.01, 16), (0.1, 8), (0.1, 16)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sampler": {"_target_": "builtins.print"}}, "sampler._target_='builtins.print' is not an Optuna sampler"),
        ({"sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup": 3}}, "sampler .*cannot be built"),
        ({"n_jobs": 0}, "hydra.sweeper.n_jobs=0 must be a whole number >= 1"),
        ({"storage": "outputs/optuna.db"}, "storage='outputs/optuna.db' is not a database URL"),
        ({"params": {"optim.lr": 0.1}}, "nothing to search: give hydra.sweeper.params"),
    ],
)
def test_bad_sweeper_settings_are_one_line(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message) as err:
        search(tmp_path, ToyLauncher(), **change).sweep([])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("mode, direction", [("max", "maximize"), ("min", "minimize")])
def test_the_direction_follows_the_monitor_unless_given(tmp_path, mode, direction):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "monitor": {"mode": mode}})
    options = dict(sampler=None, storage=None, study_name="toy", n_trials=1, n_jobs=1, params=PARAMS)
    assert (
        OptunaSearch(launcher=None, config=config, hydra_context=None, direction=None, **options).direction == direction
    )
    given = OptunaSearch(launcher=None, config=config, hydra_context=None, direction="minimize", **options)
    assert given.direction == "minimize"


def test_another_direction_for_an_existing_study_is_refused(tmp_path):
    optuna.create_study(study_name="toy", storage=f"sqlite:///{tmp_path / 'optuna.db'}", direction="minimize")
    with pytest.raises(ConfigError, match="made to minimize, not to maximize"):
        search(tmp_path, ToyLauncher(), storage=f"sqlite:///{tmp_path / 'optuna.db'}").sweep([])


def test_a_batch_that_does_not_compose_is_one_line_and_its_trials_fail(tmp_path):
    def no_such_key(master_config, sweep_overrides):
        raise ConfigCompositionException("Could not override 'model.width'.\nKey 'width' is not in struct")

    launcher = ToyLauncher()
    with pytest.raises(ConfigError, match=r"trial 0 \(optim.lr=.* model.width=.*\): Could not override") as err:
        search(tmp_path, launcher, load_sweep_config=no_such_key).sweep([])
    assert "\n" not in str(err.value) and launcher.calls == []
    assert [t.state for t in stored_trials(tmp_path / "sweep")] == [TrialState.FAIL] * 2


def test_consecutive_runs_of_job_numbers():
    jobs = [(n, f"trial {n}") for n in (2, 3, 4, 7, 9, 10)]
    assert [[n for n, _ in run] for run in consecutive_runs(jobs, 2)] == [[2, 3], [4], [7], [9, 10]]


def test_a_setting_only_hydra_optuna_sweeper_had_is_one_line(capsys):
    from hydra_plugins.lit_hw_optuna.optuna_sweeper import OptunaSweeper

    sweeper = OptunaSweeper(direction="maximize", max_failure_rate=0.5)
    with pytest.raises(SystemExit) as stopped:
        sweeper.setup(hydra_context=None, task_function=None, config=None)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: hydra.sweeper.max_failure_rate is not a setting of lit_hw's Optuna sweeper")
    assert err.count("\n") == 1
