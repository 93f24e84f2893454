"""Check a composed train config before anything is built, trained or written.

Hydra already rejects unknown group options (``model=mlpp``) and mistyped keys
(``optim.lrr=0.1``). What it cannot know is what a value means: ``optim.lr=abc``
arrives as a string, ``trainer.max_epochs=0`` would "succeed" without training,
``data.val_size=4000`` fits only once the files are read. ``check_config`` raises
a ConfigError/DataError naming the bad value and what is accepted, so a bad
config fails in a second and leaves no metrics.json or checkpoints behind.

The checks reuse the code that would fail later (the optimizer's, the nets' and
the datamodules' own validation) instead of restating their rules.
"""

from __future__ import annotations

import inspect
import math

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from lit_hw.errors import ConfigError, UserError


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def build_checked(node: DictConfig, **kwargs):
    """``instantiate`` that lets a UserError raised by the target through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, UserError):
            raise err.__cause__ from None
        raise


def check_trainer(trainer: DictConfig) -> None:
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


def check_optim(optim: DictConfig) -> None:
    from lit_hw.tasks.optim import OPTIMIZERS, check_optimizer_config

    settings = OmegaConf.to_container(optim, resolve=True)
    name = settings.pop("name", None)
    if name not in OPTIMIZERS:
        raise ConfigError(f"optim.name={name!r} is not known; choose one of {', '.join(OPTIMIZERS)}")
    check_optimizer_config(name=name, **settings)
    # build_optimizer drops the other family's keys (momentum for adam, betas for sgd), so a
    # config may carry both; anything else must be an argument of the optimizer itself.
    accepted = set(inspect.signature(OPTIMIZERS[name]).parameters) - {"params"}
    tolerated = accepted | {"momentum", "nesterov", "betas", "fused"}
    unknown = sorted(set(settings) - tolerated)
    if unknown:
        raise ConfigError(
            f"optim.{unknown[0]} is not a setting of optim.name={name}; accepted: {', '.join(sorted(accepted))}"
        )


def check_init(cfg: DictConfig) -> None:
    from lit_hw.init import SCHEMES

    scheme = cfg.get("init", {}).get("scheme", "default")
    if scheme not in SCHEMES:
        raise ConfigError(f"init.scheme={scheme!r} is not a scheme; choose one of {', '.join(SCHEMES)}")


def check_model(cfg: DictConfig) -> None:
    """Build the plain net once on the CPU: each net validates its own arguments (MLP, ConvNet)."""
    if "_target_" in cfg.model:
        build_checked(cfg.model, _convert_="all")


def check_data(cfg: DictConfig) -> None:
    """Construct the datamodule (constructors validate without reading data), then, for
    MNIST files on disk, read the IDX headers so a missing, corrupt or too-small data set
    and a ``val_size`` that does not fit are reported now rather than mid-fit."""
    datamodule = build_checked(cfg.data)  # the constructors check sizes and names
    if hasattr(datamodule, "check_before_setup"):
        datamodule.check_before_setup()


def check_resume(cfg: DictConfig) -> None:
    """A resume checkpoint must be a lit_hw checkpoint of the same kind of net."""
    from lit_hw.checkpoints import load_checkpoint
    from lit_hw.train import resume_checkpoint

    path = resume_checkpoint(cfg)  # raises for a missing file or both resume= and ckpt_path=
    if path is None:
        return
    checkpoint = load_checkpoint(path)
    held = checkpoint.get("hyper_parameters", {}).get("net", {}).get("_target_")
    wanted = cfg.model.get("_target_")
    if held and wanted and held != wanted:
        raise ConfigError(
            f"{path} holds a {held} net but this run builds {wanted}; resume with the same model= as the original run"
        )


def check_config(cfg: DictConfig) -> None:
    """Raise a UserError for the first value in ``cfg`` that cannot work."""
    seed = cfg.get("seed")
    if not is_whole(seed):
        raise ConfigError(f"seed={seed!r} must be a whole number")
    check_trainer(cfg.trainer)
    check_optim(cfg.optim)
    check_init(cfg)
    if "task" in cfg and "_target_" in cfg.task:
        try:
            get_class(cfg.task._target_)
        except Exception:
            raise ConfigError(f"task._target_={cfg.task._target_!r} cannot be imported") from None
    check_model(cfg)
    check_data(cfg)
    check_resume(cfg)
