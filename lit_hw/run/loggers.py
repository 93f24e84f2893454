"""Lightning loggers (conf/logger/): the extras they need and the servers they log to, checked before a
run starts, how they are built, and the hyper-parameters and final metrics every logger gets at the end
of a run."""

from __future__ import annotations

import fcntl
import http.client
import importlib
import os
import socket
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

from omegaconf import DictConfig

from lit_hw.core.errors import ConfigError
from lit_hw.core.run_files import BEST_SUFFIX

# logger class -> (the package it imports, the lit_hw extra that installs it)
EXTRAS = {"MLFlowLogger": ("mlflow", "mlflow"), "WandbLogger": ("wandb", "wandb")}

# How long the check before a run waits for a tracking server, all in: name lookup, connect and reply.
# Without it an unreachable MLflow server hung the run for minutes in urllib3's retries (killed after
# 180 s, nothing printed but retry warnings).
PROBE_SECONDS = 5.0

# MLflow's HTTP client tries a request 8 times, waiting ~4 minutes between tries in all, each try
# waiting up to 120 s for a reply: minutes per logging call once a server stops answering mid-run.
# These bound it to about a minute (measured: a refused connection fails after 13 s, a server that
# never answers after 53 s); a variable the user set is left as it is.
MLFLOW_HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}

# HTTP statuses with which a proxy or gateway says the server behind it is down or unreachable (and
# which MLflow's client retries, for minutes)
GATEWAY_FAULTS = (502, 503, 504)

# wandb's modes (wandb.Settings.mode), and those that send nothing (dryrun is the old name of offline)
WANDB_MODES = ("online", "offline", "disabled", "shared", "dryrun", "run")
WANDB_LOCAL_MODES = ("offline", "dryrun", "disabled")


def check_logger_extras(loggers: DictConfig | None, choice: str | None = None) -> None:
    """A logger whose package is missing fails here, in one line, instead of after the run dir is made
    (Lightning only raises when the logger is built, with a message that names no extra)."""
    for key, node in (loggers or {}).items():
        package, extra = EXTRAS.get(_class_name(node), (None, None))
        if package is None:
            continue
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise ConfigError(
                f"logger={choice or key} needs the {package} package ({err}): pip install -e '.[{extra}]'"
            ) from None
    # here, as check_config (lit_hw.run.build) calls only this: a server is probed once its client is known to import
    check_logger_servers(loggers, choice)


def check_logger_servers(loggers: DictConfig | None, choice: str | None = None) -> None:
    """An MLflow tracking server or a W&B host (online mode) that does not answer fails here, in one line,
    within PROBE_SECONDS, instead of the run hanging in the client's retries once the logger is built."""
    for key, node in (loggers or {}).items():
        kind = _class_name(node)
        if kind == "MLFlowLogger":
            check_mlflow_server(node, key, choice or key)
        elif kind == "WandbLogger":
            check_wandb_server(node, key, choice or key)


def check_mlflow_server(node: DictConfig, key: str, choice: str) -> None:
    """Probe an http(s) tracking URI's /health; a database or file store has no server to probe."""
    uri = str(node.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", ""))
    if not uri.lower().startswith(("http://", "https://")):
        return
    fault = unreachable(uri.rstrip("/") + "/health")
    if fault is None:
        return
    if uri == os.environ.get("MLFLOW_TRACKING_URI"):  # conf/logger/mlflow.yaml takes it from there
        source, way_out = "MLFLOW_TRACKING_URI", "unset it to log to the local sqlite store (outputs/mlflow/)"
    else:
        source, way_out = f"logger.{key}.tracking_uri", "give a sqlite:///<file>.db store"
    raise ConfigError(
        f"logger={choice} cannot reach the MLflow tracking server {source}={uri} ({fault}); "
        f"start the server, fix {source}, or {way_out}"
    )


def check_wandb_server(node: DictConfig, key: str, choice: str) -> None:
    """In online mode, probe the W&B host the run would upload to; offline runs send nothing."""
    mode = _wandb_mode(node, key, choice)
    if mode in WANDB_LOCAL_MODES:
        return  # without reading wandb's settings: the default (offline) costs nothing
    settings = wandb_settings()
    mode = mode or str(settings.mode)
    if mode in WANDB_LOCAL_MODES:
        return
    fault = unreachable(settings.base_url)
    if fault is None:
        return
    raise ConfigError(
        f"logger={choice} runs online (mode={mode}) but cannot reach the W&B host {settings.base_url} ({fault}); "
        "use WANDB_MODE=offline to log into the run dir (`wandb sync` uploads it later), or set WANDB_BASE_URL "
        "to a host that answers"
    )


def wandb_settings():
    """wandb's settings from its settings file and WANDB_* variables, as ``wandb.init`` reads them, without
    starting wandb's service process (``wandb.setup()`` would). ``quiet``: wandb prints where it loaded
    its settings from itself, once the run starts."""
    import wandb

    config_dir = Path(os.environ.get("WANDB_CONFIG_DIR", "~/.config/wandb")).expanduser()
    settings = wandb.Settings(quiet=True, settings_system=str(config_dir / "settings"))
    settings.update_from_system_settings()
    settings.update_from_env_vars(dict(os.environ))
    return settings


def _wandb_mode(node: DictConfig, key: str, choice: str) -> str | None:
    """The mode the logger gives wandb.init, which overrides the rest; ``offline: true`` makes Lightning set
    WANDB_MODE=dryrun. None: left to WANDB_MODE or wandb's settings file."""
    mode = node.get("mode")
    if mode is None:
        return "offline" if node.get("offline") else None
    if mode not in WANDB_MODES:
        # conf/logger/wandb.yaml takes it from WANDB_MODE; an override sets it on the logger
        source = "WANDB_MODE" if mode == os.environ.get("WANDB_MODE") else f"logger.{key}.mode"
        raise ConfigError(
            f"logger={choice}: {source}={mode!r} is not a wandb mode; accepted: " + ", ".join(WANDB_MODES)
        )
    return str(mode)


def unreachable(url: str, seconds: float = PROBE_SECONDS) -> str | None:
    """Why the server of ``url`` gives no answer within ``seconds``, or None when it answers.

    One GET, no retries. It runs in a thread so that the bound holds for the name lookup too, which
    no socket timeout covers; a daemon thread, so one stuck there does not keep the process alive.
    """
    outcome: list[str | None] = []
    probe = threading.Thread(target=lambda: outcome.append(_get_once(url, seconds)), daemon=True)
    probe.start()
    probe.join(seconds)
    return outcome[0] if outcome else f"no answer within {seconds:g} s"


def _get_once(url: str, seconds: float) -> str | None:
    """One GET of ``url``: None if its server answered, else why not."""
    try:
        urllib.request.urlopen(url, timeout=seconds).close()
    except urllib.error.HTTPError as err:
        if err.code in GATEWAY_FAULTS:  # a proxy in front of the server answered for it
            return f"HTTP {err.code} {err.reason}"
        return None  # any other status is the server's answer: it is up (a wrong path, a login wanted)
    except urllib.error.URLError as err:
        return _fault(err.reason, seconds)
    except (OSError, http.client.HTTPException) as err:  # a timeout or a reset while reading the reply
        return _fault(err, seconds)
    return None


def _fault(reason, seconds: float) -> str | None:
    """A short reason for the error message; None for a TLS failure: the server answered, and whether
    its certificate is trusted is the client's setting (MLFLOW_TRACKING_INSECURE_TLS, a CA bundle)."""
    if isinstance(reason, ssl.SSLError):
        return None
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"host not found: {reason.strerror}"
    if isinstance(reason, TimeoutError):
        return f"no answer within {seconds:g} s"
    if isinstance(reason, http.client.HTTPException):
        return f"the answer is not HTTP: {type(reason).__name__}"
    return str(reason)


def build_loggers(configs: DictConfig | None) -> list:
    """The loggers of conf/logger/. An MLflow logger is built and its run created one process of this
    machine at a time: the jobs of a parallel sweep (hydra/launcher=gpu_pool) start together, and on a
    fresh sqlite store they race to create its tables (the client does, when it is built) and the
    sweep's experiment (checked: of 2 jobs started together on a fresh store, one failed, 3 tries of 3)."""
    from hydra.utils import instantiate

    loggers = []
    # a logger switched off inside a group (logger=many logger.mlflow=null) is a null node: no logger
    for node in (n for n in (configs or {}).values() if n is not None):
        if _class_name(node) == "WandbLogger":
            import wandb

            if wandb.run is not None:  # left open by an earlier job of this process that crashed
                wandb.finish(exit_code=1)
        if _class_name(node) != "MLFlowLogger":
            loggers.append(instantiate(node))
            continue
        limit_mlflow_retries()
        # one lock file per user: another user's would not be writable
        with open(Path(tempfile.gettempdir()) / f"lit_hw-mlflow-{os.getuid()}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            logger = instantiate(node)
            _ = logger.experiment  # rank 0 creates the run now; other ranks get Lightning's dummy
        loggers.append(logger)
    return loggers


def limit_mlflow_retries() -> None:
    """MLFLOW_HTTP_LIMITS for each of its variables the user did not set (MLflow reads them per request)."""
    for name, value in MLFLOW_HTTP_LIMITS.items():
        os.environ.setdefault(name, value)


def log_final(loggers, hparams: dict, final: dict, step: int) -> None:
    """The knobs and the final metrics, in every logger, under the metric names Lightning logged.

    Every logger already holds each epoch and test metric; the best monitored value (``val/acc_best``,
    from the checkpoint callback) is logged nowhere else, so it is logged here at the last optimizer
    step. TensorBoard's HPARAMS tab wants the final metrics together with the hparams, as ``hp/<name>``.
    """
    numbers = {k: v for k, v in final.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    best = {k: v for k, v in numbers.items() if k.endswith(BEST_SUFFIX)}
    for logger in loggers:
        kind = type(logger).__name__
        if best:
            logger.log_metrics(best, step=step)
        if kind == "TensorBoardLogger":
            logger.log_hyperparams(hparams, metrics={f"hp/{k}": v for k, v in numbers.items()})
        else:
            logger.log_hyperparams(hparams)
        logger.finalize("success")
        if kind == "WandbLogger":
            # Lightning leaves the wandb run open, and the next WandbLogger in this process (the next
            # job of a basic-launcher sweep) would log into it
            logger.experiment.finish()


def _class_name(node) -> str:
    return str((node or {}).get("_target_", "")).rsplit(".", 1)[-1]
