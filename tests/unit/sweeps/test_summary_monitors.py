"""The sweep summary follows each job's own metrics and monitor: a regressor's R²/MSE columns and its
'Best' by the lowest val/loss, the autoencoder's MSE/kNN columns, jobs with different monitors never
compared, records without a monitor read by their config."""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from lit_hw.callbacks.run_record import RunRecord
from lit_hw.sweeps.summary.monitors import Monitor
from lit_hw.sweeps.summary.seed_groups import aggregate
from lit_hw.sweeps.summary.tables import collect_jobs, write_summary
from tests.helpers.cli import run_cli
from tests.helpers.sweeps import QUICK, fake_job, summary_rows

TARGETS = ("linear", "max")


def trainer_stub(metric: str, mode: str) -> SimpleNamespace:
    """What RunRecord reads of a Trainer: conf/callbacks' last_checkpoint (no monitor) and model_checkpoint."""
    checkpoints = [SimpleNamespace(monitor=None, mode="min"), SimpleNamespace(monitor=metric, mode=mode)]
    return SimpleNamespace(checkpoint_callbacks=checkpoints, is_global_zero=True, current_epoch=0, global_step=0,
                           callback_metrics={})  # fmt: skip


def recorded_job(sweep: Path, name: str, overrides: list[str], monitor: Monitor, epochs: list[dict], test: dict):
    """A job dir whose metrics.json RunRecord wrote through its hooks, as in a run: one row per epoch, then
    the final metrics with ``<monitor>_best`` the best epoch's value (as ModelCheckpoint keeps it)."""
    job_dir = sweep / name
    (job_dir / ".hydra").mkdir(parents=True)
    record = RunRecord(job_dir / "metrics.json", info={"overrides": overrides})
    trainer = trainer_stub(*monitor)
    record.on_fit_start(trainer, None)
    for epoch, metrics in enumerate(epochs):
        trainer.current_epoch, trainer.global_step = epoch, 10 * (epoch + 1)
        record.on_train_epoch_start(trainer, None)
        record.on_train_epoch_end(trainer, None)
        trainer.callback_metrics = metrics  # the task logs its epoch metrics after the callbacks' hook
    record.on_train_end(trainer, None)
    pick = max if monitor.mode == "max" else min
    best = pick(row[monitor.metric] for row in epochs)
    record.finish("ok", record.final_metrics(monitor.metric, best, [test]))


def regressor_job(sweep: Path, num: int, model: str, seed: int, val_losses: list[float]) -> dict:
    """A toy regressor job (task=regressor: monitor val/loss, min); returns its test metrics."""
    epochs = [{"train/loss": v + 0.1, "train/lr": 0.01, "val/loss": v, "val/r2": 1 - v} for v in val_losses]
    test = {"test/loss": val_losses[-1] + 0.01, "test/r2": 1 - val_losses[-1]}
    for i, target in enumerate(TARGETS):
        test |= {f"test/mse_{target}": val_losses[-1] * (i + 1), f"test/r2_{target}": 1 - val_losses[-1] * (i + 1)}
    overrides = [f"model={model}", f"seed={seed}"]
    recorded_job(sweep, f"{num}_model={model},seed={seed}", overrides, Monitor("val/loss", "min"), epochs, test)
    return test


def test_a_regressor_sweep_over_two_seeds_has_its_r2_mse_columns_and_the_lowest_val_loss_best(tmp_path):
    tests = [
        regressor_job(tmp_path, 0, "toy_linear", 0, [0.9, 0.6]),
        regressor_job(tmp_path, 1, "toy_linear", 1, [0.8, 0.7]),
        regressor_job(tmp_path, 2, "toy_convnet", 0, [0.5, 0.05, 0.08]),  # its best epoch is not its last
        regressor_job(tmp_path, 3, "toy_convnet", 1, [0.4, 0.06]),
    ]

    write_summary(tmp_path, tensorboard=False)

    rows = summary_rows(tmp_path)
    header = list(rows[0])
    for target in TARGETS:
        for job, test in zip(rows, tests):
            assert float(job[f"test/r2_{target}"]) == test[f"test/r2_{target}"]
            assert float(job[f"test/mse_{target}"]) == test[f"test/mse_{target}"]
    assert [float(job["val/loss_best"]) for job in rows] == [0.6, 0.7, 0.05, 0.06]
    assert {job["monitor"] for job in rows} == {"val/loss min"}
    assert not {"test/acc", "val/acc_best", "train/lr"} & set(header)  # no classifier columns, no settings
    assert (
        header.index("train/loss")
        < header.index("val/loss")
        < header.index("test/loss")
        < header.index("val/loss_best")
    )
    md = (tmp_path / "summary.md").read_text()
    # the lowest val/loss_best, although the job's last val/loss (0.08) is not the lowest last one
    assert "Best val/loss: 0.0500 (model=toy_convnet seed=0), its test/loss 0.09. " in md
    assert "Picked by val/loss, mode min, among 4 jobs." in md and "not compared" not in md

    with open(tmp_path / "summary_grouped.csv", newline="") as f:
        groups = list(csv.DictReader(f))
    assert [(g["config"], g["n_ok"], g["monitor"]) for g in groups] == [
        ("model=toy_linear", "2", "val/loss min"),
        ("model=toy_convnet", "2", "val/loss min"),
    ]
    mean = statistics.mean(t["test/r2_max"] for t in tests[2:])
    assert float(groups[1]["test/r2_max_mean"]) == pytest.approx(mean, abs=1e-12)
    assert "test/r2_linear mean ± ci95" in md
    plots = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"curves_val_loss.png", "curves_val_r2.png", "test_loss_vs_model.png"} <= plots
    assert {"grouped_curves_val_r2.png", "grouped_test_loss_vs_model.png"} <= plots
    assert not {p for p in plots if "acc" in p or "_lr" in p}


def test_an_autoencoder_sweep_has_its_mse_and_knn_columns_beside_pca(tmp_path):
    names = ["mse", "knn_acc", "silhouette"]
    for num, (lr, mse) in enumerate([("0.001", 0.04), ("0.01", 0.03), ("0.1", 0.05)]):
        epochs = [{"train/loss": 0.2, "val/loss": 0.2, "val/mse": mse + 0.01}, {"train/loss": 0.1, "val/mse": mse}]
        test = {"test/loss": 0.1, **{f"test/{n}": mse * 10 for n in names}, **{f"test/pca_{n}": 0.5 for n in names}}
        overrides = [f"optim.lr={lr}"]
        recorded_job(tmp_path, f"{num}_optim.lr={lr}", overrides, Monitor("val/mse", "min"), epochs, test)

    jobs = write_summary(tmp_path, tensorboard=False)

    rows = summary_rows(tmp_path)
    for name in names:
        assert [float(r[f"test/{name}"]) for r in rows] == [pytest.approx(m * 10) for m in (0.04, 0.03, 0.05)]
        assert [r[f"test/pca_{name}"] for r in rows] == ["0.5"] * 3
    assert [r["val/mse_best"] for r in rows] == ["0.04", "0.03", "0.05"]
    md = (tmp_path / "summary.md").read_text()
    assert "Best val/mse: 0.0300 (optim.lr=0.01), its test/mse 0.3. Picked by val/mse, mode min" in md
    plots = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"curves_val_mse.png", "curves_train_loss.png", "test_mse_vs_optim.lr.png"} <= plots
    assert [j["monitor"] for j in jobs] == [Monitor("val/mse", "min")] * 3


def write_config(job_dir: Path, monitor: dict) -> None:
    """The part of .hydra/config.yaml (Hydra's composed config, saved unresolved) that names the monitor."""
    OmegaConf.save(OmegaConf.create({"seed": 0, "monitor": monitor}), job_dir / ".hydra" / "config.yaml")


def test_jobs_with_different_monitors_are_not_compared(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5, 0.8])  # a classifier: val/acc, max
    regressor_job(tmp_path, 1, "toy_linear", 0, [0.9, 0.6])
    regressor_job(tmp_path, 2, "toy_linear", 1, [0.9, 0.4])
    regressor_job(tmp_path, 3, "toy_convnet", 0, [0.1])  # its record cut short below; its config says val/loss
    (tmp_path / "3_model=toy_convnet,seed=0" / "metrics.json").write_text('{"status": "o')
    write_config(tmp_path / "3_model=toy_convnet,seed=0", {"metric": "val/loss", "mode": "min"})

    write_summary(tmp_path, figures=False)

    md = (tmp_path / "summary.md").read_text()
    assert (
        "Best val/acc: 0.8000 (optim.lr=0.01 seed=0), its test/acc 0.8. Picked by val/acc, mode max, among 1 job." in md
    )
    assert ("Best val/loss: 0.4000 (model=toy_linear seed=1), its test/loss 0.41; not compared, their metrics.json "
            "unreadable: 3_model=toy_convnet,seed=0. Picked by val/loss, mode min, among 2 jobs.") in md  # fmt: skip
    assert "Jobs with different monitors are not compared with each other." in md
    # the unreadable job's monitor is its config's
    assert [r["monitor"] for r in summary_rows(tmp_path)] == ["val/acc max"] + ["val/loss min"] * 3


def test_seed_groups_never_average_jobs_with_different_monitors():
    jobs = [
        {"overrides": ["seed=0"], "status": "ok", "monitor": Monitor("val/acc", "max"), "test/loss": 0.2},
        {"overrides": ["seed=1"], "status": "ok", "monitor": Monitor("val/loss", "min"), "test/loss": 0.4},
        {"overrides": ["seed=2"], "status": "ok", "monitor": Monitor("val/acc", "max"), "test/loss": 0.3},
    ]
    first, second = aggregate(jobs, ["test/loss"])
    assert (first["monitor"], first["n"], first["test/loss_mean"]) == ("val/acc max", 2, pytest.approx(0.25))
    assert (second["monitor"], second["n"], second["test/loss_mean"]) == ("val/loss min", 1, 0.4)


def test_a_record_without_a_monitor_takes_its_jobs_config(tmp_path):
    for num, val_loss in enumerate([0.3, 0.2]):
        regressor_job(tmp_path, num, "toy_linear", num, [val_loss])
        job_dir = next(tmp_path.glob(f"{num}_*"))
        record = json.loads((job_dir / "metrics.json").read_text())
        del record["monitor"]  # as written before RunRecord recorded it, or by a run outside a Trainer
        (job_dir / "metrics.json").write_text(json.dumps(record))
    write_config(tmp_path / "0_model=toy_linear,seed=0", {"metric": "val/loss", "mode": "min"})
    write_config(tmp_path / "1_model=toy_linear,seed=1", {"metric": "${oc.env:METRIC}", "mode": "min"})

    first, second = collect_jobs(tmp_path)

    assert first["monitor"] == Monitor("val/loss", "min") and second["monitor"] is None
    write_summary(tmp_path, figures=False)
    md = (tmp_path / "summary.md").read_text()
    assert "Best val/loss: 0.3000 (model=toy_linear seed=0)" in md  # the lower one has no known monitor
    assert "Not compared, no monitor recorded: 1_model=toy_linear,seed=1." in md


@pytest.mark.slow
def test_a_toy_signals_multirun_over_two_seeds_summarizes_by_its_monitor(tmp_path):
    sweep = tmp_path / "sweep"
    tiny = ["data.n_train=64", "data.n_val=32", "data.n_test=32", "trainer.max_epochs=2"]
    run_cli("lit_hw.train", "-m", "experiment=toy_signals", "seed=0,1", *QUICK, *tiny, f"hydra.sweep.dir={sweep}")

    rows = summary_rows(sweep)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    record = json.loads(next(sweep.glob("0_*/metrics.json")).read_text())
    assert record["monitor"] == {"metric": "val/loss", "mode": "min"}
    r2_columns = [c for c in rows[0] if c.startswith("test/r2_")]
    mse_columns = [c for c in rows[0] if c.startswith("test/mse_")]
    assert len(r2_columns) == len(mse_columns) == 4  # one per target of conf/data/toy.yaml
    assert all(math.isfinite(float(r[c])) for r in rows for c in r2_columns + mse_columns + ["val/loss_best"])
    best = min(rows, key=lambda r: float(r["val/loss_best"]))
    md = (sweep / "summary.md").read_text()
    assert f"Best val/loss: {float(best['val/loss_best']):.4f} ({best['overrides']})" in md
