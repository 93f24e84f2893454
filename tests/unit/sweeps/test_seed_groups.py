"""Seeds and folds aggregated per configuration (summary_grouped.csv), and k-fold cross-validation."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest
import torch
from scipy import stats

from lit_hw.data.mnist import MNISTDataModule
from lit_hw.report import main as report
from lit_hw.sweeps.summary.seed_groups import aggregate
from tests.helpers.cli import run_cli
from tests.helpers.sweeps import QUICK, data_args, summary_rows


def grouped_rows(sweep: Path) -> list[dict]:
    with open(sweep / "summary_grouped.csv", newline="") as f:
        return list(csv.DictReader(f))


def job(overrides, status, acc, history=()):
    return {"overrides": overrides, "status": status, "test/acc": acc, "history": list(history)}


def test_aggregate_counts_bad_jobs_apart_and_averages_only_ok_ones():
    jobs = [
        job(["optim.lr=0.1", "seed=0"], "ok", 0.90),
        job(["optim.lr=0.1", "seed=1"], "ok", 0.80),
        job(["optim.lr=0.1", "seed=2"], "ok", 0.85),
        job(["optim.lr=0.1", "seed=3"], "diverged", math.nan),
        job(["optim.lr=10", "seed=0"], "failed", math.nan),
        job(["optim.lr=10", "seed=1"], "ok", 0.10),
        job(["optim.lr=10", "seed=2"], "running", math.nan),
    ]
    first, second = aggregate(jobs, ["test/acc"])
    assert first["overrides"] == ["optim.lr=0.1"] and second["overrides"] == ["optim.lr=10"]
    assert (first["n"], first["n_ok"], first["n_diverged"], first["n_failed"], first["n_unfinished"]) == (4, 3, 1, 0, 0)
    assert (second["n"], second["n_ok"], second["n_failed"], second["n_unfinished"]) == (3, 1, 1, 1)
    values = [0.90, 0.80, 0.85]
    assert first["test/acc_mean"] == pytest.approx(statistics.mean(values))
    assert first["test/acc_std"] == pytest.approx(statistics.stdev(values))
    sem = stats.sem(values)
    assert first["test/acc_ci95"] == pytest.approx(stats.t.interval(0.95, 2, loc=0, scale=sem)[1])
    # one ok job: a mean, but no spread
    assert (
        second["test/acc_mean"] == 0.10 and math.isnan(second["test/acc_std"]) and math.isnan(second["test/acc_ci95"])
    )


@pytest.mark.slow
def test_seed_sweep_writes_grouped_summary_that_report_rebuilds(tmp_path, random_mnist_dir, capsys):
    sweep = tmp_path / "sweep"
    args = ["-m", "optim.lr=0.01,0.1", "seed=0,1,2", "trainer.max_epochs=2", "trainer.limit_train_batches=2"]
    run_cli("lit_hw.train", *args, *QUICK, *data_args(random_mnist_dir), f"hydra.sweep.dir={sweep}")
    # job dirs (TensorBoard's run names) lead with the swept values, not the overrides all jobs share
    assert sorted(p.name for p in sweep.glob("[0-9]_*")) == [
        f"{i}_optim.lr={lr},seed={seed}"
        for i, (lr, seed) in enumerate((lr, s) for lr in ("0.01", "0.1") for s in range(3))
    ]
    jobs, groups = summary_rows(sweep), grouped_rows(sweep)
    assert [g["config"] for g in groups] == ["optim.lr=0.01", "optim.lr=0.1"]
    for group in groups:
        assert (group["n"], group["n_ok"], group["n_diverged"], group["n_failed"]) == ("3", "3", "0", "0")
        lr = group["config"].split("=")[1]
        accs = [float(j["test/acc"]) for j in jobs if f"optim.lr={lr}" in j["overrides"].split()]
        assert len(accs) == 3
        assert float(group["test/acc_mean"]) == pytest.approx(statistics.mean(accs), abs=1e-12)
        assert float(group["test/acc_std"]) == pytest.approx(statistics.stdev(accs), abs=1e-12)
        assert float(group["test/acc_ci95"]) == pytest.approx(stats.t.ppf(0.975, 2) * statistics.stdev(accs) / 3**0.5)
    markdown = (sweep / "summary.md").read_text()
    assert "## Per configuration, over seeds and folds" in markdown and "| optim.lr=0.1 | 3 / 3 |" in markdown
    plots = {p.name for p in (sweep / "plots").glob("*.png")}
    assert {"grouped_curves_val_acc.png", "grouped_test_acc_vs_optim.lr.png"} <= plots
    assert "test_acc_vs_seed.png" not in plots  # accuracy against the seed is noise, not a finding

    for path in [sweep / "summary_grouped.csv", sweep / "summary.md", *(sweep / "plots").glob("grouped_*")]:
        path.unlink()
    assert report([str(sweep), "--no-tensorboard"]) == 0
    assert grouped_rows(sweep) == groups
    assert "## Per configuration" in capsys.readouterr().out
    assert {p.name for p in (sweep / "plots").glob("*.png")} == plots


@pytest.mark.slow
def test_init_preset_takes_a_seed_list_in_one_override(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "experiment=init_sweep", "seed=0,1", "trainer.max_epochs=1", "trainer.limit_train_batches=1"]
    run_cli("lit_hw.train", *args, *QUICK, *data_args(random_mnist_dir), f"hydra.sweep.dir={sweep}")
    groups = grouped_rows(sweep)
    assert [(g["config"], g["n"]) for g in groups] == [("init=zero", "2"), ("init=he", "2"), ("init=xavier", "2")]


def folds_of(data_dir: Path, folds: int, seed: int = 0) -> list[MNISTDataModule]:
    modules = []
    for fold in range(folds):
        dm = MNISTDataModule(data_dir=str(data_dir), source="local", seed=seed, folds=folds, fold=fold)
        dm.setup()
        modules.append(dm)
    return modules


def test_kfold_validation_sets_are_disjoint_stratified_and_cover_the_training_split(random_mnist_dir):
    modules = folds_of(random_mnist_dir, 5)
    vals = [set(dm.val_indices.tolist()) for dm in modules]
    assert sum(len(v) for v in vals) == 600 and set().union(*vals) == set(range(600))  # disjoint, covering
    labels = torch.cat([dm.splits["train"].tensors[1] for dm in modules[:1]] + [modules[0].splits["val"].tensors[1]])
    for dm in modules:
        assert len(dm.splits["train"]) + len(dm.splits["val"]) == 600
        # each class in each fold: within one image of its share
        share = torch.bincount(labels, minlength=10) / 5
        counts = torch.bincount(dm.splits["val"].tensors[1], minlength=10)
        assert ((counts - share).abs() <= 1).all(), (counts, share)
    assert len(modules[0].splits["test"]) == 200  # the official test split, whole, in every fold
    # the folds follow the seed, and only the seed
    assert [set(dm.val_indices.tolist()) for dm in folds_of(random_mnist_dir, 5)] == vals
    assert set(folds_of(random_mnist_dir, 5, seed=1)[0].val_indices.tolist()) != vals[0]


@pytest.mark.slow
def test_kfold_preset_aggregates_its_five_folds(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "experiment=kfold", "trainer.max_epochs=1", "trainer.limit_train_batches=2"]
    run_cli("lit_hw.train", *args, *QUICK, *data_args(random_mnist_dir), f"hydra.sweep.dir={sweep}")
    assert sorted(p.name for p in sweep.glob("[0-9]_*")) == [f"{i}_data.fold={i}" for i in range(5)]
    (group,) = grouped_rows(sweep)
    assert group["n"] == "5" and group["n_ok"] == "5"
    accs = [float(j["val/acc"]) for j in summary_rows(sweep)]
    assert float(group["val/acc_mean"]) == pytest.approx(statistics.mean(accs), abs=1e-12)
    assert math.isfinite(float(group["val/acc_ci95"]))
