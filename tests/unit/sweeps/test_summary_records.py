"""The sweep summary reads what the jobs left, as it is: an unreadable metrics.json is ``unreadable``
(never ``pending``, never a crash), wall times come from the records (a resume rewrites .hydra/),
``resume_sweep`` is no swept value, and the jobs of multirun.yaml that never started are ``pending``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys

import pytest
from omegaconf import OmegaConf

from lit_hw.report import main as report
from lit_hw.sweeps.summary.plan import BASIC_SWEEPER
from lit_hw.sweeps.summary.tables import UNFINISHED, collect_jobs, swept_values, write_summary
from tests.helpers.cli import run_cli
from tests.helpers.sweeps import QUICK, data_args, fake_job

SUBDIR = "${hydra.job.num}_${lit_hw.job_dir_name:${hydra.job.override_dirname},80}"


def rows(sweep) -> list[dict]:
    with open(sweep / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def patch_record(job_dir, **fields) -> None:
    """Set ``fields`` in a job's metrics.json, keeping the rest."""
    path = job_dir / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


def save_multirun_yaml(sweep, task: list[str], params=None, sweeper=BASIC_SWEEPER, subdir=SUBDIR) -> None:
    """The parts of Hydra's multirun.yaml that say which jobs a sweep has."""
    hydra = {
        "sweeper": {"_target_": sweeper, "max_batch_size": None, "params": params},
        "sweep": {"dir": str(sweep), "subdir": subdir},
        "overrides": {"hydra": [], "task": task},
    }
    OmegaConf.save(OmegaConf.create({"hydra": hydra, "seed": 0}), sweep / "multirun.yaml")


def test_a_truncated_metrics_json_is_unreadable_and_report_says_so(tmp_path, capsys):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5, 0.8])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7, 0.95])  # the best job, cut short below
    record = tmp_path / "1_optim.lr=0.1" / "metrics.json"
    record.write_text(record.read_text()[:60])

    status = report([str(tmp_path), "--no-tensorboard"])

    assert status == 1
    assert [r["status"] for r in rows(tmp_path)] == ["ok", "unreadable"]
    assert rows(tmp_path)[1]["overrides"] == "optim.lr=0.1 seed=0"  # from .hydra/overrides.yaml
    assert rows(tmp_path)[1]["error"].startswith("metrics.json unreadable: not JSON")
    md = (tmp_path / "summary.md").read_text()
    assert "2 jobs: 1 ok, 1 unreadable" in md
    assert "Best val/acc: 0.8000 (optim.lr=0.01 seed=0), its test/acc 0.8; not compared, their metrics.json " in md
    assert "unreadable: 1_optim.lr=0.1." in md
    (warning,) = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith(f"warning: cannot read {record}: not JSON") and "1_optim.lr=0.1" in warning


CRAFTED = {
    "a list": [1, 2],
    "a string": "ok",
    "null": None,
    "final a string": {"status": "ok", "final": "x"},
    "history a number": {"status": "ok", "final": {}, "history": 5},
    "history row without epoch": {"status": "ok", "history": [{"val/acc": 0.5}]},
    "status a number": {"status": 7, "final": {}},
    "status unknown": {"status": "pending", "final": {}},
    "no status": {"final": {"test/acc": 0.9}},
    "final metric a word": {"status": "ok", "final": {"val/acc_best": "x"}},
    "history metric a list": {"status": "ok", "history": [{"epoch": 0, "val/acc": [1]}]},
    "metric past float range": {"status": "ok", "final": {"test/acc": 10**400}},
    "train times past float range": {"status": "ok", "epoch_train_time_s": [0.5, 10**400]},
    "epochs_run a string": {"status": "ok", "epochs_run": "3"},
    "overrides a number": {"status": "ok", "overrides": 5},
    "error a dict": {"status": "failed", "error": {"_target_": "os.system"}},
    "wall time a string": {"status": "ok", "wall_time_s": "soon"},
    "monitor a string": {"status": "ok", "monitor": "val/acc"},
    "monitor mode unknown": {"status": "ok", "monitor": {"metric": "val/acc", "mode": "up"}},
    "monitor metric a number": {"status": "ok", "monitor": {"metric": 3, "mode": "max"}},
}


@pytest.mark.parametrize("content", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_record_is_unreadable_and_the_summary_still_written(tmp_path, content):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5, 0.8])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7, 0.95])
    (tmp_path / "1_optim.lr=0.1" / "metrics.json").write_text(json.dumps(content))

    jobs = write_summary(tmp_path, tensorboard=False)

    assert [j["status"] for j in jobs] == ["ok", "unreadable"]
    assert jobs[1]["error"].startswith("metrics.json unreadable: ") and jobs[1]["history"] == []
    assert "not compared, their metrics.json unreadable: 1_optim.lr=0.1" in (tmp_path / "summary.md").read_text()


def test_json_nested_too_deep_for_the_parser_is_unreadable(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    (tmp_path / "0_optim.lr=0.01" / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    (job,) = collect_jobs(tmp_path)
    assert job["status"] == "unreadable" and "not JSON" in job["error"]


def test_names_in_a_record_are_never_imported(tmp_path, monkeypatch):
    # a module that leaves a mark when imported, named wherever a record holds text
    (tmp_path / "lit_hw_summary_bait.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sweep = tmp_path / "sweep"
    fake_job(sweep, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    patch_record(
        sweep / "0_optim.lr=0.01",
        final={"_target_": "lit_hw_summary_bait.run", "test/acc": 0.5},
        tags={"_target_": "lit_hw_summary_bait.run"},
    )

    (job,) = write_summary(sweep, tensorboard=False)

    assert job["status"] == "unreadable" and "final['_target_'] is not a number" in job["error"]
    assert "lit_hw_summary_bait" not in sys.modules and not (tmp_path / "imported").exists()


def test_an_unreadable_record_counts_as_a_job_that_did_not_finish(tmp_path):
    # the sweep's end (lit_hw.sweeps.summary.hydra_callback) fails the multirun over any job in UNFINISHED
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7])
    patch_record(tmp_path / "1_optim.lr=0.1", status=7)
    unfinished = [(j["job"], j["num"]) for j in collect_jobs(tmp_path) if j["status"] in UNFINISHED]
    assert unfinished == [("1_optim.lr=0.1", 1)]


def test_the_wall_time_is_the_records_although_a_resume_rewrote_hydra_files(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7])
    patch_record(tmp_path / "0_optim.lr=0.01", started_at="2024-05-01T10:00:00+00:00", wall_time_s=12.5)
    for job in ("0_optim.lr=0.01", "1_optim.lr=0.1"):  # kept by a resumed sweep: .hydra/ rewritten later
        written = (tmp_path / job / "metrics.json").stat().st_mtime
        os.utime(tmp_path / job / ".hydra" / "overrides.yaml", (written + 30, written + 30))

    recorded, older = collect_jobs(tmp_path)

    assert recorded["wall_time_s"] == 12.5
    assert older["wall_time_s"] != older["wall_time_s"]  # a record without wall_time_s: unknown (NaN), not -30


def test_a_record_from_before_wall_time_falls_back_to_the_file_times(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    started = (tmp_path / "0_optim.lr=0.01" / "metrics.json").stat().st_mtime - 7
    os.utime(tmp_path / "0_optim.lr=0.01" / ".hydra" / "overrides.yaml", (started, started))
    (job,) = collect_jobs(tmp_path)
    assert job["wall_time_s"] == 7.0


def test_run_record_writes_its_start_and_wall_time(tmp_path):
    from lit_hw.callbacks.run_record import RunRecord

    record = RunRecord(tmp_path / "metrics.json")
    record.finish("ok", {"test/acc": 0.5})
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["started_at"] == record.started_at and "T" in written["started_at"]
    assert 0 <= written["wall_time_s"] < 60


def test_a_continued_run_counts_the_wall_time_before_its_checkpoint(tmp_path):
    from lit_hw.callbacks.run_record import RunRecord

    continued = RunRecord(tmp_path / "metrics.json")
    continued.load_state_dict({"history": [{"epoch": 0, "train_time_s": 1.0}], "wall_time_s": 100.0})
    continued.on_fit_start(None, None)
    assert 100.0 <= continued.wall_time_s() < 160
    assert RunRecord(tmp_path / "other.json").state_dict()["wall_time_s"] < 60


def test_resume_sweep_is_neither_shown_nor_swept(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])  # kept by the resumed sweep: its record as it was
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7])  # ran again by it: resume_sweep in its overrides
    patch_record(tmp_path / "1_optim.lr=0.1", overrides=["optim.lr=0.1", "seed=0", "resume_sweep=True"])

    jobs = write_summary(tmp_path, tensorboard=False)

    assert swept_values(jobs) == {"optim.lr": ["0.01", "0.1"]}
    assert [r["overrides"] for r in rows(tmp_path)] == ["optim.lr=0.01 seed=0", "optim.lr=0.1 seed=0"]
    assert not list((tmp_path / "plots").glob("*resume_sweep*"))


def test_jobs_of_multirun_yaml_that_never_started_are_pending(tmp_path):
    # the sweeper's params first, then the command line, as BasicSweeper expands them: lr x seed
    save_multirun_yaml(tmp_path, ["seed=0,1", "resume_sweep=true"], {"optim.lr": "0.01,0.1"})
    fake_job(tmp_path, "0_optim.lr=0.01,seed=0", "0.01", "ok", [0.5])
    fake_job(tmp_path, "2_optim.lr=0.1,seed=0", "0.1", "failed", [0.1])

    jobs = write_summary(tmp_path, tensorboard=False)

    assert [(j["job"], j["status"]) for j in jobs] == [
        ("0_optim.lr=0.01,seed=0", "ok"),
        ("1", "pending"),
        ("2_optim.lr=0.1,seed=0", "failed"),
        ("3", "pending"),
    ]
    assert jobs[1]["overrides"] == ["optim.lr=0.01", "seed=1"]  # resume_sweep=true is no setting of a job
    assert jobs[3]["overrides"] == ["optim.lr=0.1", "seed=1"]
    assert "4 jobs: 1 failed, 1 ok, 2 pending" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    "sweeper, subdir",
    [
        ("hydra_plugins.lit_hw_optuna.optuna_sweeper.OptunaSweeper", SUBDIR),  # picks jobs as it goes
        (BASIC_SWEEPER, "${hydra.job.override_dirname}"),  # dirs that do not say their job number
    ],
)
def test_no_pending_rows_where_the_job_list_is_not_known(tmp_path, sweeper, subdir):
    save_multirun_yaml(tmp_path, ["optim.lr=0.01,0.1,1"], sweeper=sweeper, subdir=subdir)
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    assert [j["status"] for j in collect_jobs(tmp_path)] == ["ok"]


@pytest.mark.parametrize(
    "text",
    [
        "hydra: 5\n",
        "- a\n- list\n",
        "hydra: {sweeper: {_target_: x\n",  # cut short
        f"hydra: {{sweeper: {{_target_: {BASIC_SWEEPER}}}, sweep: {{subdir: '${{hydra.job.num}}'}}, "
        "overrides: {task: ['model=glob(*)']}}\n",  # a glob: Hydra needs the app's config groups for it
        f"hydra: {{sweeper: {{_target_: {BASIC_SWEEPER}, params: 3}}, sweep: {{subdir: '${{hydra.job.num}}'}}, "
        "overrides: {task: 'optim.lr=0.1,1'}}\n",
    ],
)
def test_a_multirun_yaml_that_says_no_job_list_adds_no_rows(tmp_path, text):
    (tmp_path / "multirun.yaml").write_text(text)
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    assert [j["status"] for j in write_summary(tmp_path, figures=False)] == ["ok"]


@pytest.mark.slow
def test_a_resumed_sweep_keeps_wall_times_and_lists_the_job_it_had_not_started(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "model=linear", *QUICK, *data_args(random_mnist_dir), "trainer.max_epochs=1",
            "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
            "optim.lr=0.01,0.1", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    run_cli("lit_hw.train", *args)
    first, second = sorted(sweep.glob("[01]_*"))
    kept_wall_time = json.loads((first / "metrics.json").read_text())["wall_time_s"]
    shutil.rmtree(second)  # the second job as if the sweep had stopped before it
    assert [(j["job"], j["status"], j["overrides"][-1]) for j in collect_jobs(sweep)][1] == (
        "1",
        "pending",
        "optim.lr=0.1",
    )

    run_cli("lit_hw.train", *args, "resume_sweep=true")

    summary = rows(sweep)
    assert [r["status"] for r in summary] == ["ok", "ok"]
    assert float(summary[0]["wall_time_s"]) == kept_wall_time >= 0  # kept: the first run's, not its .hydra/'s age
    assert float(summary[1]["wall_time_s"]) >= 0
    assert not any("resume_sweep" in r["overrides"] for r in summary)
    assert (sweep / "plots" / "test_acc_vs_optim.lr.png").is_file()
    assert not list((sweep / "plots").glob("*resume_sweep*"))
