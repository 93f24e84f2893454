"""conf/logger/: csv, mlflow, wandb and many train and write what they say, under the same metric
names; a sweep is one MLflow experiment; a logger whose extra is missing fails in one line, first."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lit_hw.core.errors import ConfigError
from lit_hw.train import train
from tests.helpers.cli import ROOT
from tests.helpers.sweeps import data_args, records, run, wait_for

CONF = Path(__file__).resolve().parents[3] / "conf"


def compose_run(run_dir: Path, data_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=["data.source=local", f"data.data_dir={data_dir}", "model=linear",
                                           "trainer.max_epochs=2", "trainer.accelerator=cpu",
                                           "callbacks.progress_bar.refresh_rate=0", f"paths.output_dir={run_dir}",
                                           *overrides])  # fmt: skip


def train_run(run_dir: Path, data_dir: Path, *overrides: str) -> dict:
    run_dir.mkdir(exist_ok=True)  # Hydra makes the run dir; compose() does not
    train(compose_run(run_dir, data_dir, *overrides))
    return json.loads((run_dir / "metrics.json").read_text())


def csv_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def mlflow_runs(uri: str, experiment: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment], order_by=["attributes.run_name"])


def test_logger_options_compose_with_their_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert list(compose_run(tmp_path, tmp_path, "logger=many").logger) == ["tensorboard", "csv", "mlflow"]
    cfg = compose_run(tmp_path / "run", tmp_path, "logger=many", "tags=[baseline]")
    assert cfg.logger.mlflow.tracking_uri == "sqlite:///outputs/mlflow/mlflow.db"
    assert cfg.logger.mlflow.tags == {"baseline": "true"}
    assert cfg.logger.mlflow.run_name == "run" and cfg.logger.mlflow.experiment_name == str(tmp_path)
    assert compose_run(tmp_path, tmp_path, "logger=wandb").logger.wandb.mode == "offline"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    monkeypatch.setenv("WANDB_MODE", "online")
    assert compose_run(tmp_path, tmp_path, "logger=mlflow").logger.mlflow.tracking_uri == "http://mlflow.example:5000"
    assert compose_run(tmp_path, tmp_path, "logger=wandb").logger.wandb.mode == "online"


def test_a_logger_switched_off_inside_a_group_builds_the_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose_run(tmp_path, tmp_path, "logger=many", "logger.mlflow=null")
    assert cfg.logger.mlflow is None
    from lit_hw.run.loggers import build_loggers, check_logger_extras

    check_logger_extras(cfg.logger, "many")
    assert [type(logger).__name__ for logger in build_loggers(cfg.logger)] == ["TensorBoardLogger", "CSVLogger"]


def test_csv_logger_writes_the_per_epoch_metrics_into_the_run_dir(tmp_path, random_mnist_dir):
    record = train_run(tmp_path, random_mnist_dir, "logger=csv")
    val_acc = [float(row["val/acc"]) for row in csv_rows(tmp_path) if row["val/acc"]]
    assert val_acc == pytest.approx([epoch["val/acc"] for epoch in record["history"]], rel=1e-6)
    assert len(val_acc) == 2


def test_many_loggers_get_the_same_metric_names_and_mlflow_the_final_metrics(tmp_path, random_mnist_dir, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run_dir = tmp_path / "run"
    record = train_run(run_dir, random_mnist_dir, "logger=many", "tags=[baseline,v2]")

    (mlflow_run,) = mlflow_runs(uri, str(tmp_path)).to_dict("records")
    in_mlflow = {k.removeprefix("metrics.") for k, v in mlflow_run.items() if k.startswith("metrics.") and v == v}
    in_csv = set(csv_rows(run_dir)[0]) - {"step"}
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    in_tensorboard = {tag for tag in events.Tags()["scalars"] if not tag.startswith("hp/")}
    assert in_mlflow == in_csv == in_tensorboard, (in_mlflow, in_csv, in_tensorboard)
    assert {"train/loss", "val/acc", "val/acc_best", "test/acc"} <= in_mlflow  # '/' kept, nothing renamed

    assert mlflow_run["metrics.test/acc"] == record["final"]["test/acc"]
    assert mlflow_run["metrics.val/acc_best"] == record["final"]["val/acc_best"]
    assert mlflow_run["status"] == "FINISHED" and mlflow_run["tags.mlflow.runName"] == "run"
    assert mlflow_run["tags.baseline"] == mlflow_run["tags.v2"] == "true"
    assert mlflow_run["params.optim/lr"] == "0.001" and mlflow_run["params.tags"] == "baseline,v2"


@pytest.mark.slow
def test_a_sweep_is_one_mlflow_experiment_with_a_run_per_job(tmp_path, random_mnist_dir, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the sweep's process inherits it
    sweep = tmp_path / "sweep"
    args = ["-m", "optim.lr=0.01,0.1", "model=linear", "trainer.max_epochs=1", "trainer=cpu", "logger=mlflow",
            "callbacks.progress_bar.refresh_rate=0", *data_args(random_mnist_dir), f"hydra.sweep.dir={sweep}"]  # fmt: skip
    code, out = run(args, tmp_path / "sweep.log")
    assert code == 0, out[-3000:]

    jobs = records(sweep)
    runs = mlflow_runs(uri, str(sweep))
    assert sorted(runs["tags.mlflow.runName"]) == sorted(jobs) and len(jobs) == 2
    for _, mlflow_run in runs.iterrows():
        final = jobs[mlflow_run["tags.mlflow.runName"]]["final"]
        assert mlflow_run["metrics.test/acc"] == final["test/acc"]
    assert sorted(runs["params.optim/lr"]) == ["0.01", "0.1"]


BUILD_ON_GO = """
import sys, time
from pathlib import Path
from omegaconf import OmegaConf
from lit_hw.run.loggers import build_loggers
import lightning.pytorch.loggers  # the slow import before the start line
logger = {"_target_": "lightning.pytorch.loggers.MLFlowLogger", "experiment_name": "sweep", "run_name": sys.argv[2],
          "tracking_uri": sys.argv[3]}
print("ready", flush=True)
while not Path(sys.argv[1]).exists():
    time.sleep(0.005)
build_loggers(OmegaConf.create({"mlflow": logger}))
"""


@pytest.mark.slow
def test_jobs_that_start_together_on_a_fresh_mlflow_store_each_get_their_run(tmp_path):
    # without build_loggers' lock both processes race to create the store's tables: one fails (3 of 3 tries)
    uri, go = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", BUILD_ON_GO, str(go), str(job), uri], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for job in range(2)]  # fmt: skip
    assert [proc.stdout.readline().strip() for proc in procs] == ["ready", "ready"]
    go.touch()  # both build their logger at once, as a parallel sweep's jobs start
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], "\n".join(e[-1500:] for e in errors)
    assert sorted(mlflow_runs(uri, "sweep")["tags.mlflow.runName"]) == ["0", "1"]


def test_wandb_runs_offline_into_the_run_dir(tmp_path, random_mnist_dir, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    # wandb's own cache and settings go to the test's dir too; an unreachable server: nothing may be sent
    for name in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    record = train_run(run_dir, random_mnist_dir, "logger=wandb", "tags=[baseline]")

    import wandb

    assert record["status"] == "ok" and wandb.run is None  # finished, so the next run gets its own
    (offline,) = (run_dir / "wandb").glob("offline-run-*")
    (records_file,) = offline.glob("run-*.wandb")  # what `wandb sync` would upload: protobuf records
    # wandb's service process writes the file; finish() can return before it is flushed (seen 2 in ~10)
    wanted = (b"baseline", b'"lr":0.001', b"train/loss", b"test/acc", b"val/acc_best")
    wait_for(lambda: all(text in records_file.read_bytes() for text in wanted), 15, f"{wanted} in {records_file}")


@pytest.mark.parametrize("package", ["mlflow", "wandb"])
def test_a_logger_without_its_extra_fails_in_one_line_before_anything_is_written(tmp_path, monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # hidden: `import mlflow` raises ImportError
    cfg = compose_run(tmp_path / "run", tmp_path, f"logger={package}")
    with pytest.raises(ConfigError) as err:
        train(cfg)
    assert str(err.value).startswith(f"logger={package} needs the {package} package (")
    assert str(err.value).endswith(f"pip install -e '.[{package}]'") and "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()


def test_the_command_names_the_chosen_logger_and_the_extra(tmp_path, random_mnist_dir):
    # the real command with mlflow hidden in its process: the user's one line and exit code 2
    hide = "import sys, runpy; sys.modules['mlflow'] = None; runpy.run_module('lit_hw.train', run_name='__main__')"
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", hide, "logger=many", *data_args(random_mnist_dir),
                           f"hydra.run.dir={run_dir}"], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: logger=many needs the mlflow package (")
    assert proc.stderr.strip().endswith("pip install -e '.[mlflow]'")
    # only the failure on record (a sweep summary lists failed jobs): nothing trained, no logger started
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "failed"
    assert not any((run_dir / name).exists() for name in ("checkpoints", "tensorboard", "csv", "config_resolved.yaml"))
