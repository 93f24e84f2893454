"""The train and evaluate commands end to end, as a user runs them."""

from __future__ import annotations

import json

import pytest
import torch

from lit_hw.tasks.classifier import Classifier


def train_args(run_dir, data_dir, *extra):
    return (
        "data.source=local",
        f"data.data_dir={data_dir}",
        "data.val_size=100",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        f"hydra.run.dir={run_dir}",
        *extra,
    )


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory, random_mnist_dir):
    from tests.helpers.cli import run_cli

    run_dir = tmp_path_factory.mktemp("mlp_run")
    proc = run_cli(
        "lit_hw.train",
        *train_args(
            run_dir, random_mnist_dir, "model=mlp", "optim=sgd", "optim.lr=0.05", "data.batch_size=50", "seed=3"
        ),
        env={"PYTHONWARNINGS": "default"},  # as a user sees it
    )
    return run_dir, proc


def test_run_dir_has_metrics_checkpoints_tensorboard_and_config(mlp_run):
    run_dir, _ = mlp_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["error"] is None
    for key in ("train/loss", "train/acc", "val/loss", "val/acc", "val/acc_best", "test/loss", "test/acc"):
        assert isinstance(metrics["final"][key], float), key
    assert metrics["epochs_run"] == 2 and [row["epoch"] for row in metrics["history"]] == [0, 1]
    assert all(t > 0 for t in metrics["epoch_train_time_s"]) and len(metrics["epoch_train_time_s"]) == 2
    assert "optim.lr=0.05" in metrics["overrides"]
    assert metrics["data"]["source"] == "local" and metrics["data"]["sizes"] == {"train": 500, "val": 100, "test": 200}
    assert metrics["versions"]["torch"] == torch.__version__
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("best-epoch*.ckpt"))
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert "lr: 0.05" in (run_dir / "config_resolved.yaml").read_text()


def test_cli_overrides_reach_the_optimizer_and_data(mlp_run):
    run_dir, _ = mlp_run
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["optim"]["_target_"] == "torch.optim.SGD"
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == 0.05
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["momentum"] == 0.9
    assert checkpoint["global_step"] == 2 * 10  # 500 training images / batch 50, 2 epochs
    assert checkpoint["lit_hw"]["data"]["batch_size"] == 50


def test_checkpoint_round_trip_with_weights_only(mlp_run):
    run_dir, _ = mlp_run
    path = run_dir / "checkpoints" / "last.ckpt"
    raw = torch.load(path, weights_only=True)
    model = Classifier.load_from_checkpoint(path, weights_only=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, raw["state_dict"][name]), name
    x = torch.randn(3, 1, 28, 28)
    again = Classifier.load_from_checkpoint(path, weights_only=True)
    assert torch.equal(model.eval()(x), again.eval()(x))


def test_evaluate_prints_and_writes_test_metrics(mlp_run, tmp_path, cli):
    run_dir, _ = mlp_run
    best = sorted((run_dir / "checkpoints").glob("best-epoch*.ckpt"))[-1]
    proc = cli("lit_hw.evaluate", f"ckpt_path={best}", f"hydra.run.dir={tmp_path}", "expect_model=mlp")
    written = json.loads((tmp_path / "test_metrics.json").read_text())
    train_metrics = json.loads((run_dir / "metrics.json").read_text())["final"]
    # train.py tests the best checkpoint too, so evaluate must reproduce its numbers exactly
    assert written["test"]["test/acc"] == pytest.approx(train_metrics["test/acc"], abs=1e-6)
    assert written["test"]["test/loss"] == pytest.approx(train_metrics["test/loss"], rel=1e-5)
    assert f'"test/acc": {written["test"]["test/acc"]}' in proc.stdout
    # the same output dir again: refused, the first evaluation kept
    again = cli("lit_hw.evaluate", f"ckpt_path={best}", f"hydra.run.dir={tmp_path}", check=False)
    assert again.returncode == 2 and "already holds another run (test_metrics.json)" in again.stderr
    assert json.loads((tmp_path / "test_metrics.json").read_text()) == written


def test_same_seed_gives_identical_metrics(tmp_path, random_mnist_dir, cli):
    finals = []
    for name in ("a", "b"):
        cli("lit_hw.train", *train_args(tmp_path / name, random_mnist_dir, "model=linear", "seed=7"))
        finals.append(json.loads((tmp_path / name / "metrics.json").read_text())["final"])
    assert finals[0] == finals[1]
    cli("lit_hw.train", *train_args(tmp_path / "c", random_mnist_dir, "model=linear", "seed=8"))
    assert json.loads((tmp_path / "c" / "metrics.json").read_text())["final"] != finals[0]


def test_help_lists_the_config_groups(cli):
    out = cli("lit_hw.train", "--help").stdout
    for group in ("data", "model", "optim", "init", "trainer", "logger", "callbacks", "paths"):
        assert f"{group}:" in out, group
    listed = out.split("== Configuration groups ==")[1].split("== Config ==")[0]
    options = {
        group: set(names.split(", "))
        for group, names in (line.split(": ", 1) for line in listed.splitlines() if ": " in line)
    }
    assert {"linear", "mlp", "cnn"} <= options["model"]
    assert {"adam", "sgd"} <= options["optim"]
    assert {"default", "zero", "he", "xavier"} <= options["init"]


def test_tensorboard_serves_the_runs_scalars_over_http(mlp_run):
    """Start the real `tensorboard` on 127.0.0.1 and read the run's curves back from its HTTP API."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.parse
    import urllib.request
    from pathlib import Path

    run_dir, _ = mlp_run
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tensorboard = Path(sys.executable).with_name("tensorboard")
    server = subprocess.Popen(
        [
            str(tensorboard),
            "--logdir",
            str(run_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load_fast",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        tags = None
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                tags = json.loads(urllib.request.urlopen(f"{base}/data/plugin/scalars/tags", timeout=5).read())
                if any("val/acc" in run_tags for run_tags in tags.values()):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert tags, "tensorboard did not answer"
        run = next(name for name, run_tags in tags.items() if "val/acc" in run_tags)
        for tag in ("train/loss", "train/acc", "val/loss", "val/acc", "test/acc"):
            assert tag in tags[run], tag
        query = urllib.parse.urlencode({"run": run, "tag": "val/acc"})
        points = json.loads(urllib.request.urlopen(f"{base}/data/plugin/scalars/scalars?{query}", timeout=5).read())
        history = json.loads((run_dir / "metrics.json").read_text())["history"]
        assert [round(p[2], 5) for p in points] == [round(row["val/acc"], 5) for row in history]
        plugins = json.loads(urllib.request.urlopen(f"{base}/data/plugins_listing", timeout=5).read())
        assert plugins.get("hparams", {}).get("enabled"), "the HPARAMS tab has data"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_runs_started_in_the_same_second_keep_their_own_dirs(tmp_path, random_mnist_dir):
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers.cli import run_cli

    common = ["data.source=local", f"data.data_dir={random_mnist_dir}", "trainer.max_epochs=1", "logger=none"]
    runs = {"linear": [*common, "model=linear"], "mlp": [*common, "model=mlp", "seed=1"]}
    with ThreadPoolExecutor(max_workers=2) as pool:  # the default run dir: outputs/runs/<date>/<time>_<id>
        list(pool.map(lambda args: run_cli("lit_hw.train", *args, cwd=tmp_path), runs.values()))
    run_dirs = sorted((tmp_path / "outputs" / "runs").glob("*/*"))
    assert len(run_dirs) == 2
    for run_dir in run_dirs:
        config = (run_dir / "config_resolved.yaml").read_text()
        record = json.loads((run_dir / "metrics.json").read_text())
        assert record["status"] == "ok"
        model = "linear" if "model=linear" in record["overrides"] else "mlp"
        assert f"lit_hw.nets.{model}." in config  # the config and the results are of the same run
    assert {"model=linear" in json.loads((d / "metrics.json").read_text())["overrides"] for d in run_dirs} == {
        True,
        False,
    }


def test_a_run_dir_holding_another_run_is_refused(mlp_run, random_mnist_dir, cli):
    run_dir, _ = mlp_run
    before = (run_dir / "metrics.json").read_bytes()
    proc = cli("lit_hw.train", *train_args(run_dir, random_mnist_dir, "model=linear"), check=False)
    assert proc.returncode == 2 and "already holds another run" in proc.stderr and "resume=" in proc.stderr
    assert (run_dir / "metrics.json").read_bytes() == before


def test_the_console_ends_with_the_test_metrics_then_the_run_dir_and_no_noise(mlp_run):
    run_dir, proc = mlp_run
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines[-1].endswith(f"run dir: {run_dir.resolve()}")
    table = lines[-3:-1]
    assert [line.split()[0] for line in table] == ["test/acc", "test/loss"] and all(
        len(line.split()) == 2 for line in table
    )
    everything = proc.stdout + proc.stderr
    for noise in ("litlogger", "LeafSpec", "smaller than the logging interval"):
        assert noise not in everything, noise
    assert everything.count("GPU available") == 1  # Lightning's lines once, not also through its own handler
    # 500 training images at batch 50: 10 optimizer steps per epoch (a step chunk holds 8 of them)
    assert "10/10" in everything and "2/2 [" not in everything
