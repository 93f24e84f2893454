"""A tracking server the run cannot reach (MLflow over http, W&B online) fails the command in one line,
within a bound of seconds, before anything is trained; local stores and offline runs are not probed."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from lit_hw.core.errors import ConfigError
from lit_hw.run import loggers
from lit_hw.run.loggers import PROBE_SECONDS, check_logger_servers, limit_mlflow_retries
from tests.helpers.cli import run_cli
from tests.helpers.sweeps import data_args
from tests.unit.run.test_loggers import compose_run

# The command fails in ~12 s on an idle 2-core machine (most of it importing torch and Lightning), up to
# 48 s next to other tests at a load of 5; the clients, left to themselves, took 138 s (wandb) or hung.
COMMAND_TIMEOUT = 120
FAILS_WITHIN = 90


@pytest.fixture
def refusing_url() -> str:
    """A local port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url():
    """A server that takes connections and never answers: the kernel completes them once it listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def answering_url():
    """An HTTP server that answers each GET with the status its path names: /200, /404, /502."""

    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(int(self.path.split("/")[1]))
            self.end_headers()

        def log_message(self, *args):
            pass  # not onto the test's output

    server = http.server.HTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def wandb_online(tmp_path, monkeypatch):
    """WANDB_MODE=online as a logged-in user, with wandb's settings file taken from the test's dir."""
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    # a key of the right form: without one, wandb.init stops at its login before it asks the host
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef" * 2 + "01234567")
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)


def server_env(logger: str, url: str, monkeypatch) -> None:
    if logger == "mlflow":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    else:
        monkeypatch.setenv("WANDB_BASE_URL", url)


@pytest.mark.parametrize(
    ("logger", "server"),
    # a silent server: test_the_probe_gives_up_within_its_bound, in-process (each command costs ~10 s of CPU)
    [("mlflow", "refusing_url"), ("wandb", "refusing_url")],
)
def test_an_unreachable_server_fails_the_command_in_one_line(
    tmp_path, random_mnist_dir, monkeypatch, request, logger, server
):
    # before: MLflow hung in urllib3's retries (killed after 75 s here, both servers); wandb, logged in,
    # failed after 138 s (refused) with a 46-line traceback and exit status 1
    if logger == "wandb":
        request.getfixturevalue("wandb_online")
    url = request.getfixturevalue(server)
    server_env(logger, url, monkeypatch)
    run_dir = tmp_path / "run"
    started = time.monotonic()
    proc = run_cli("lit_hw.train", f"logger={logger}", "model=linear", "trainer=cpu", "trainer.max_epochs=1",
                   *data_args(random_mnist_dir), f"hydra.run.dir={run_dir}", timeout=COMMAND_TIMEOUT,
                   check=False)  # fmt: skip
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert errors[0].startswith(f"error: logger={logger} ") and url in errors[0], errors[0]
    assert proc.stderr.strip().splitlines()[-1] == errors[0]
    assert took < FAILS_WITHIN, f"took {took:.1f} s"
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "config_resolved.yaml").exists()


@pytest.mark.parametrize("logger", ["mlflow", "wandb"])
@pytest.mark.parametrize("server", ["silent_url", "unknown_host"])
def test_the_probe_gives_up_within_its_bound(tmp_path, monkeypatch, request, wandb_online, logger, server):
    # a server that never answers, and a name no resolver knows (.invalid is reserved: RFC 2606)
    url = "http://tracking.invalid:5000" if server == "unknown_host" else request.getfixturevalue(server)
    server_env(logger, url, monkeypatch)
    cfg = compose_run(tmp_path / "run", tmp_path, f"logger={logger}")
    import wandb  # noqa: F401  imported before the clock starts: a cold import takes seconds here

    started = time.monotonic()
    with pytest.raises(ConfigError, match="no answer within|host not found") as err:
        check_logger_servers(cfg.logger, logger)
    assert time.monotonic() - started < PROBE_SECONDS + 2
    assert url in str(err.value) and "\n" not in str(err.value)


def test_the_messages_name_the_setting_to_fix(tmp_path, monkeypatch, refusing_url, wandb_online):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", refusing_url)
    with pytest.raises(ConfigError) as err:
        check_logger_servers(compose_run(tmp_path, tmp_path, "logger=many").logger, "many")
    assert str(err.value) == (
        f"logger=many cannot reach the MLflow tracking server MLFLOW_TRACKING_URI={refusing_url} (connection "
        "refused); start the server, fix MLFLOW_TRACKING_URI, or unset it to log to the local sqlite store "
        "(outputs/mlflow/)"
    )
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    cfg = compose_run(tmp_path, tmp_path, "logger=mlflow", f"logger.mlflow.tracking_uri={refusing_url}/")
    with pytest.raises(ConfigError, match=r"server logger\.mlflow\.tracking_uri=http.*give a sqlite:///<file>\.db"):
        check_logger_servers(cfg.logger, "mlflow")
    monkeypatch.setenv("WANDB_BASE_URL", refusing_url)
    with pytest.raises(ConfigError) as err:
        check_logger_servers(compose_run(tmp_path, tmp_path, "logger=wandb").logger, "wandb")
    assert str(err.value).startswith(
        f"logger=wandb runs online (mode=online) but cannot reach the W&B host {refusing_url} (connection refused); "
        "use WANDB_MODE=offline"
    )


@pytest.mark.parametrize("host_from", ["default", "settings_file"])
def test_online_wandb_probes_the_host_wandb_would_upload_to(tmp_path, monkeypatch, wandb_online, host_from):
    # no host is really asked: the test must not depend on this machine's network
    import wandb

    host = wandb.Settings().base_url  # wandb's own default (https://api.forge.coreweave.com in wandb 0.31)
    if host_from == "settings_file":  # what `wandb login --host` writes
        host = "http://wandb.internal:8080"
        (tmp_path / "wandb_config").mkdir()
        (tmp_path / "wandb_config" / "settings").write_text(f"[default]\nbase_url = {host}\n")
    probed = []
    monkeypatch.setattr(loggers, "unreachable", lambda url: probed.append(url) or "host not found")
    with pytest.raises(ConfigError, match=f"cannot reach the W&B host {host} "):
        check_logger_servers(compose_run(tmp_path, tmp_path, "logger=wandb").logger, "wandb")
    assert probed == [host]


def test_an_unknown_wandb_mode_is_named_before_wandb_reads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "onlin")  # wandb's own settings refuse it with a pydantic traceback
    with pytest.raises(ConfigError) as err:
        check_logger_servers(compose_run(tmp_path, tmp_path, "logger=wandb").logger, "wandb")
    accepted = "accepted: online, offline, disabled, shared, dryrun, run"
    assert str(err.value) == f"logger=wandb: WANDB_MODE='onlin' is not a wandb mode; {accepted}"
    monkeypatch.delenv("WANDB_MODE")
    with pytest.raises(ConfigError) as err:
        check_logger_servers(
            compose_run(tmp_path, tmp_path, "logger=wandb", "logger.wandb.mode=ofline").logger, "wandb"
        )
    assert str(err.value) == f"logger=wandb: logger.wandb.mode='ofline' is not a wandb mode; {accepted}"


@pytest.mark.parametrize(
    ("logger", "env"),
    [
        ("mlflow", {}),  # conf/logger/mlflow.yaml's sqlite store
        ("mlflow", {"MLFLOW_TRACKING_URI": "file:///tmp/mlruns"}),
        ("wandb", {}),  # offline, conf/logger/wandb.yaml's default
        ("wandb", {"WANDB_MODE": "disabled"}),
    ],
)
def test_local_stores_and_offline_runs_are_not_probed(tmp_path, monkeypatch, logger, env):
    for name in ("MLFLOW_TRACKING_URI", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(loggers, "unreachable", lambda url: pytest.fail(f"probed {url}"))
    check_logger_servers(compose_run(tmp_path, tmp_path, f"logger={logger}").logger, logger)


@pytest.mark.parametrize(("status", "up"), [(200, True), (404, True), (401, True), (502, False), (504, False)])
def test_any_answer_but_a_gateways_counts_as_up(tmp_path, monkeypatch, answering_url, wandb_online, status, up):
    # a proxy's 502/504 says the server behind it is down (and MLflow's client retries those for minutes)
    assert (loggers.unreachable(f"{answering_url}/{status}") is None) == up
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{answering_url}/{status}")  # probed at <uri>/health
    monkeypatch.setenv("WANDB_BASE_URL", f"{answering_url}/{status}")
    for logger in ("mlflow", "wandb"):
        cfg = compose_run(tmp_path, tmp_path, f"logger={logger}")
        if up:
            check_logger_servers(cfg.logger, logger)
        else:
            with pytest.raises(ConfigError, match=f"HTTP {status} "):
                check_logger_servers(cfg.logger, logger)


def test_mlflow_retries_are_bounded_unless_the_user_set_them(monkeypatch):
    for name in loggers.MLFLOW_HTTP_LIMITS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    limit_mlflow_retries()
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 3 and MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 2
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 300
