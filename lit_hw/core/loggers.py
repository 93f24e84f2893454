"""Lightning loggers (conf/logger/): the extras they need, checked before a run starts, how they are
built, and the hyper-parameters and final metrics every logger gets at the end of a run."""

from __future__ import annotations

import fcntl
import importlib
import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig

from lit_hw.core.errors import ConfigError

# logger class -> (the package it imports, the lit_hw extra that installs it)
EXTRAS = {"MLFlowLogger": ("mlflow", "mlflow"), "WandbLogger": ("wandb", "wandb")}


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


def build_loggers(configs: DictConfig | None) -> list:
    """The loggers of conf/logger/. An MLflow logger is built and its run created one process of this
    machine at a time: the jobs of a parallel sweep (hydra/launcher=gpu_pool) start together, and on a
    fresh sqlite store they race to create its tables (the client does, when it is built) and the
    sweep's experiment (checked: of 2 jobs started together on a fresh store, one failed, 3 tries of 3)."""
    from hydra.utils import instantiate

    loggers = []
    for node in (configs or {}).values():
        if _class_name(node) == "WandbLogger":
            import wandb

            if wandb.run is not None:  # left open by an earlier job of this process that crashed
                wandb.finish(exit_code=1)
        if _class_name(node) != "MLFlowLogger":
            loggers.append(instantiate(node))
            continue
        # one lock file per user: another user's would not be writable
        with open(Path(tempfile.gettempdir()) / f"lit_hw-mlflow-{os.getuid()}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            logger = instantiate(node)
            _ = logger.experiment  # rank 0 creates the run now; other ranks get Lightning's dummy
        loggers.append(logger)
    return loggers


def log_final(loggers, hparams: dict, final: dict, step: int) -> None:
    """The knobs and the final metrics, in every logger, under the metric names Lightning logged.

    Every logger already holds each epoch and test metric; the best monitored value (``val/acc_best``,
    from the checkpoint callback) is logged nowhere else, so it is logged here at the last optimizer
    step. TensorBoard's HPARAMS tab wants the final metrics together with the hparams, as ``hp/<name>``.
    """
    numbers = {k: v for k, v in final.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    best = {k: v for k, v in numbers.items() if k.endswith("_best")}
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
