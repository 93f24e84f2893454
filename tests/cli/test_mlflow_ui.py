"""`mlflow ui` serves the runs that `logger=mlflow` wrote, in an environment that holds every extra.

The MLflow extra once shared an environment with optuna 2.10's pin SQLAlchemy < 2, and `mlflow ui`
then crashed at start (``module 'sqlalchemy' has no attribute 'Engine'``) although runs still logged.
Here a run is logged to the default store (sqlite:///outputs/mlflow/mlflow.db under the folder the
command starts in), `mlflow ui` is started on it on 127.0.0.1, and the run is read back over HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.local_ports import free_port
from tests.helpers.sweeps import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="the mlflow extra is not installed"),
]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def wait_until_serving(url: str, server: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    def answers() -> bool:
        if server.poll() is not None:
            pytest.fail(f"mlflow ui exited {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                return answer.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    try:
        wait_for(answers, timeout, f"mlflow ui to answer on {url}", poll=0.5)
    except AssertionError as err:
        raise AssertionError(f"{err}:\n{log.read_text()[-3000:]}") from None


def test_mlflow_ui_serves_a_logged_run_over_http(tmp_path, random_mnist_dir, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the default store, as the docs' command reads it
    run_dir = tmp_path / "outputs" / "one_run"
    run_cli("lit_hw.train", "model=linear", "logger=mlflow", "trainer.max_epochs=1", "data.source=local",
            f"data.data_dir={random_mnist_dir}", f"hydra.run.dir={run_dir}", "callbacks.progress_bar.refresh_rate=0",
            "print_config=false", cwd=tmp_path)  # fmt: skip
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    assert (tmp_path / "outputs" / "mlflow" / "mlflow.db").is_file()

    port, log = free_port(), tmp_path / "mlflow_ui.log"
    mlflow = Path(sys.executable).with_name("mlflow")
    with log.open("w") as out:
        # its own session: the server's workers are stopped with it, whatever happens to the test
        server = subprocess.Popen(
            [str(mlflow), "ui", "--backend-store-uri", "sqlite:///outputs/mlflow/mlflow.db",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, server, log)
        experiments = post(f"{url}/api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
        ids = [e["experiment_id"] for e in experiments]
        runs = post(f"{url}/api/2.0/mlflow/runs/search", {"experiment_ids": ids, "max_results": 100})["runs"]
        assert len(runs) == 1, runs
        served = {metric["key"]: metric["value"] for metric in runs[0]["data"]["metrics"]}
        assert served["test/acc"] == pytest.approx(final["test/acc"], rel=1e-6)
        assert served["val/acc_best"] == pytest.approx(final["val/acc_best"], rel=1e-6)
        assert runs[0]["info"]["status"] == "FINISHED"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
