"""Sweeps: the summary (table, plots, TensorBoard images), lit_hw.report, the lr/init presets,
divergence and failures inside a multirun."""

from __future__ import annotations

import csv

import matplotlib.pyplot as plt
import pytest

from lit_hw.sweeps.summary.tables import collect_jobs, swept_values, write_summary
from tests.helpers.cli import run_cli
from tests.helpers.sweeps import fake_job

FAST = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "logger=none",
)


def test_summary_of_a_sweep_with_a_diverged_and_a_failed_job(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5, 0.8, 0.9])
    fake_job(tmp_path, "1_optim.lr=0.1", "0.1", "ok", [0.7, 0.95])
    fake_job(tmp_path, "2_optim.lr=10", "10", "diverged", [0.1, None])
    fake_job(tmp_path, "3_optim.lr=100", "100", "failed", [0.1], error="RuntimeError: boom")
    (tmp_path / "10_optim.lr=1000" / ".hydra").mkdir(parents=True)  # started, no metrics yet
    (tmp_path / "10_optim.lr=1000" / ".hydra" / "overrides.yaml").write_text("- optim.lr=1000\n- seed=0\n")

    jobs = write_summary(tmp_path)

    assert [j["job"].split("_")[0] for j in jobs] == ["0", "1", "2", "3", "10"]  # numeric order
    assert swept_values(jobs) == {"optim.lr": ["0.01", "0.1", "10", "100", "1000"]}
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [r["status"] for r in rows] == ["ok", "ok", "diverged", "failed", "pending"]
    assert rows[1]["val/acc_best"] == "0.95" and rows[0]["epochs_run"] == "3" and rows[0]["train_time_s"] == "1.5"
    assert rows[3]["error"] == "RuntimeError: boom"
    md = (tmp_path / "summary.md").read_text()
    assert "Best val/acc: 0.9500 (optim.lr=0.1 seed=0)" in md and "3_optim.lr=100: RuntimeError: boom" in md
    plots = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"curves_train_acc.png", "curves_val_acc.png", "curves_train_loss.png", "test_acc_vs_optim.lr.png"} <= plots
    events = list((tmp_path / "summary_tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 10_000  # the images are in it

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events[0])).Reload()
    tags = accumulator.Tags()["images"]
    assert "sweep/test_acc_vs_optim.lr" in tags and "sweep/curves_val_acc" in tags
    (image,) = accumulator.Images("sweep/curves_val_acc")  # the PNG itself, sized from its header
    png = tmp_path / "plots" / "curves_val_acc.png"
    assert image.step == 0 and image.encoded_image_string == png.read_bytes()
    assert (image.height, image.width) == plt.imread(png).shape[:2]
    write_summary(tmp_path)  # rebuilding replaces the images instead of adding a second set
    assert len(list((tmp_path / "summary_tensorboard").glob("events.out.tfevents.*"))) == 1


def test_report_cli_rebuilds_the_summary_and_rejects_a_missing_dir(tmp_path):
    fake_job(tmp_path, "0_optim.lr=0.01", "0.01", "ok", [0.5])
    proc = run_cli("lit_hw.report", str(tmp_path), "--no-tensorboard")
    assert "| 0_optim.lr=0.01 |" in proc.stdout and (tmp_path / "summary.csv").is_file()
    proc = run_cli("lit_hw.report", str(tmp_path / "nope"), check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"error: sweep dir not found: {tmp_path / 'nope'} (expected a multirun dir with one subdir per job)"
    ]


@pytest.mark.parametrize(
    "preset, key, values", [("lr_sweep", "optim.lr", "0.001,0.01,0.1,1,10"), ("init_sweep", "init", "zero,he,xavier")]
)
def test_presets_set_the_sweep(preset, key, values):
    proc = run_cli("lit_hw.train", f"experiment={preset}", "--cfg", "hydra")
    assert f"{key}: {values}" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "gpu_pool"])
def test_a_crashing_job_is_recorded_and_the_multirun_exits_nonzero(tmp_path, random_mnist_dir, launcher):
    # an unknown profiler name makes Lightning raise while building the Trainer (outside fit)
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "lit_hw.train",
        "-m",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={sweep}",
        "data.source=local",
        f"data.data_dir={random_mnist_dir}",
        *FAST,
        "+trainer.profiler=null,not_a_profiler",
        check=False,
    )
    assert proc.returncode != 0
    jobs = collect_jobs(sweep)
    assert [j["status"] for j in jobs] == ["ok", "failed"], proc.stderr[-2000:]
    assert "profiler" in jobs[1]["error"] and "MisconfigurationException" in jobs[1]["error"]
    assert "failed" in (sweep / "summary.md").read_text()


@pytest.mark.slow
def test_lr_sweep_finishes_every_job_and_lr_10_diverges(tmp_path, real_mnist_dir):
    sweep = tmp_path / "sweep"
    run_cli(
        "lit_hw.train",
        "-m",
        "experiment=lr_sweep",
        f"hydra.sweep.dir={sweep}",
        "data.source=local",
        f"data.data_dir={real_mnist_dir}",
        "trainer.max_epochs=2",
        "logger=none",
    )
    jobs = {j["overrides"][0]: j for j in collect_jobs(sweep)}
    assert sorted(jobs) == [f"optim.lr={lr}" for lr in ("0.001", "0.01", "0.1", "1", "10")]
    lr10 = jobs["optim.lr=10"]
    assert lr10["status"] == "diverged" or lr10["test/acc"] <= 0.2, lr10
    assert jobs["optim.lr=0.1"]["status"] == "ok" and jobs["optim.lr=0.1"]["test/acc"] > 0.8
    assert (sweep / "summary.md").is_file() and (sweep / "plots" / "test_acc_vs_optim.lr.png").is_file()
    assert (sweep / "plots" / "curves_train_loss.png").is_file()


@pytest.mark.slow
def test_init_sweep_zero_init_learns_nothing_and_he_xavier_learn(tmp_path, real_mnist_dir):
    sweep = tmp_path / "sweep"
    run_cli(
        "lit_hw.train",
        "-m",
        "experiment=init_sweep",  # the basic launcher: the three jobs in one process (gpu_pool has tests of its own)
        f"hydra.sweep.dir={sweep}",
        "data.source=local",
        f"data.data_dir={real_mnist_dir}",
        "logger=none",
    )
    acc = {j["overrides"][0]: j["test/acc"] for j in collect_jobs(sweep)}
    assert acc["init=zero"] <= 0.2 and acc["init=he"] >= 0.93 and acc["init=xavier"] >= 0.93, acc
