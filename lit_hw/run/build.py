"""Check a composed train config by building what it describes, once, before anything is trained or written.

Hydra already rejects unknown group options (``model=mlpp``) and mistyped keys (``optim.lrr=0.1``).
What it cannot know is what a value means: ``optim.lr=abc`` arrives as a string,
``trainer.max_epochs=0`` would "succeed" without training, ``data.val_size=4000`` fits only once
the files are read. Each object checks its own arguments (lit_hw.config.checks); ``check_config``
builds the datamodule and the task (with its net and optimizer settings), reads the data files'
headers, and checks the resume checkpoint. The first bad value raises a one-line UserError, so a
bad config fails in a second and leaves no metrics.json or checkpoints behind. The built objects
go to ``train()``: nothing is built twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from lit_hw.config.checks import instantiate_checked, is_number, is_whole, require_whole
from lit_hw.config.resolvers import device_count
from lit_hw.core.allowed_names import trusted_roots
from lit_hw.core.errors import ConfigError
from lit_hw.core.run_files import is_rank_zero
from lit_hw.run.loggers import check_logger_extras
from lit_hw.tasks.checkpoints import load_checkpoint

log = logging.getLogger(__name__)


@dataclass
class RunParts:
    """What ``train()`` fits: built from the config and checked."""

    datamodule: L.LightningDataModule
    task: L.LightningModule
    ckpt_path: str | None


def check_trainer(trainer: DictConfig) -> None:
    if str(trainer.get("accelerator")) in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={trainer.accelerator} but no GPU is visible here (torch.cuda.is_available() "
                "is False); use trainer=cpu, or trainer.accelerator=auto to take a GPU when there is one"
            )
    max_epochs = trainer.get("max_epochs")
    max_steps = trainer.get("max_steps", -1)
    if max_epochs == -1 and is_whole(max_steps) and max_steps > 0:
        return  # Lightning's "run until max_steps"
    if max_epochs is not None and (not is_whole(max_epochs) or max_epochs < 1):
        raise ConfigError(
            f"trainer.max_epochs={max_epochs!r} must be a whole number >= 1 (or -1 together with trainer.max_steps > 0)"
        )
    for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        value = trainer.get(key)
        if value is None:
            continue
        if not is_number(value) or value < 0 or (isinstance(value, float) and value > 1):
            raise ConfigError(f"trainer.{key}={value!r} must be a fraction in [0, 1] or a whole number of batches")
    if trainer.get("limit_train_batches") == 0:
        raise ConfigError("trainer.limit_train_batches=0 trains on nothing; use a fraction in (0, 1] or a count >= 1")


def note_cpu_processes(trainer: DictConfig) -> None:
    """Say in one line, before anything starts, that ``trainer.devices=3`` on the CPU means 3 processes:
    Lightning quietly turns several CPU devices into a DDP run (strategy auto -> ddp), each process a
    copy of the model training on its share of the data, which on one machine's cores is rarely faster."""
    accelerator = str(trainer.get("accelerator"))
    if accelerator == "auto":
        import torch

        if torch.cuda.is_available():
            return  # auto takes the GPUs: several of them is what several devices are for
    elif accelerator != "cpu":
        return
    processes = device_count(trainer.get("devices", 1))  # "auto" on the CPU is one process
    if processes > 1 and is_rank_zero():  # the ranks that Lightning starts run this check again
        log.warning(
            "trainer.devices=%s with trainer.accelerator=%s starts %d training processes (DDP on the CPU "
            "cores); for one process use trainer.devices=1",
            trainer.get("devices"),
            accelerator,
            processes,
        )


def optim_settings(cfg: DictConfig) -> dict:
    """The optimizer config as plain data (the task checks it: lit_hw.tasks.optim)."""
    return OmegaConf.to_container(cfg.optim, resolve=True)


def build_task(cfg: DictConfig) -> L.LightningModule:
    """The task module around the net; its arguments are plain containers (weights_only checkpoints).
    The task builds the net and checks the optimizer settings itself."""
    task_cfg = OmegaConf.to_container(cfg.task, resolve=True)
    target = task_cfg.pop("_target_")
    try:
        task_cls = get_class(target)
    except Exception:
        raise ConfigError(f"task._target_={target!r} cannot be imported") from None
    return task_cls(
        net=OmegaConf.to_container(cfg.model, resolve=True),
        optim=optim_settings(cfg),
        init=cfg.init.scheme,
        **task_cfg,
    )


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """The checkpoint a run continues from: ``ckpt_path=<file>`` or ``resume=<run_dir>`` (its last.ckpt)."""
    if cfg.get("resume") and cfg.get("ckpt_path"):
        raise ConfigError("give either resume=<run_dir> or ckpt_path=<file>, not both")
    path = Path(cfg.resume) / "checkpoints" / "last.ckpt" if cfg.get("resume") else cfg.get("ckpt_path")
    if path is None:
        return None
    if not Path(path).is_file():
        raise ConfigError(f"checkpoint to resume from not found: {path} (expected <run_dir>/checkpoints/last.ckpt)")
    return str(path)


def check_resume(cfg: DictConfig) -> str | None:
    """A resume checkpoint must be a lit_hw checkpoint of the same kind of net."""
    path = resume_checkpoint(cfg)
    if path is None:
        return None
    checkpoint = load_checkpoint(path, trust=run_trust(cfg))
    held = checkpoint.get("hyper_parameters", {}).get("net", {}).get("_target_")
    wanted = cfg.model.get("_target_")
    if held and wanted and held != wanted:
        raise ConfigError(
            f"{path} holds a {held} net but this run builds {wanted}; resume with the same model= as the original run"
        )
    return path


def run_trust(cfg: DictConfig) -> tuple[str, ...]:
    """The modules whose classes a checkpoint read by this run may name: ``trust=[...]`` and the modules
    of the classes this run's own config names (the user chose them: a resumed run of their own net)."""
    own = [OmegaConf.select(cfg, key) for key in ("model._target_", "data._target_", "task._target_")]
    return trusted_roots(cfg.get("trust")) + tuple(
        name.rsplit(".", 1)[0] for name in own if isinstance(name, str) and "." in name
    )


def run_tags(cfg: DictConfig) -> list[str]:
    """``tags`` as a list of labels (numbers taken as labels too: tags=[v2,2024])."""
    tags = cfg.get("tags")
    if tags is None:
        return []
    labels = OmegaConf.to_container(tags) if OmegaConf.is_list(tags) else None
    if labels is None or any(isinstance(t, bool) or not isinstance(t, (str, int, float)) for t in labels):
        raise ConfigError(
            f"tags={OmegaConf.to_container(tags) if OmegaConf.is_config(tags) else tags!r} must be a list of labels, e.g. tags=[a,b]"
        )
    return [str(t) for t in labels]


def check_switches(cfg: DictConfig) -> None:
    """On/off keys: ``compile=yes`` arrives as a string, which would count as true."""
    for key in ("compile", "print_config"):
        if not isinstance(cfg.get(key, False), bool):
            raise ConfigError(f"{key}={cfg.get(key)!r} must be true or false")


def logger_choice() -> str | None:
    """The logger= option the command chose (``many``), for error messages; None outside Hydra's run."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get("logger") if HydraConfig.initialized() else None


def check_config(cfg: DictConfig) -> RunParts:
    """Build and check the run that ``cfg`` describes; raise a UserError for the first value that cannot work.

    Seeds the global RNGs first, so the net built here starts from the run's seeded init.
    """
    require_whole("seed", cfg.get("seed"), minimum=0)
    if cfg.seed > 2**32 - 1:
        raise ConfigError(f"seed={cfg.seed} must be at most {2**32 - 1}")
    check_trainer(cfg.trainer)
    note_cpu_processes(cfg.trainer)
    run_tags(cfg)
    check_switches(cfg)
    check_logger_extras(cfg.get("logger"), logger_choice())
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    # plain lists and dicts (data.mirrors, data.md5): the checkpoint keeps the data settings, and must
    # load with torch.load(weights_only=True)
    datamodule = instantiate_checked(cfg.data, _convert_="all")  # the constructor checks sizes and names
    if hasattr(datamodule, "check_before_setup"):
        datamodule.check_before_setup()  # reads the data files' headers: missing, corrupt, too small
    task = build_task(cfg)
    return RunParts(datamodule=datamodule, task=task, ckpt_path=check_resume(cfg))
