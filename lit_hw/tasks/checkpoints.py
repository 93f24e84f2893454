"""Read lit_hw checkpoints safely and explain what is wrong with a bad one.

Safely means twice over: ``torch.load(weights_only=True)`` unpickles no code, and every class name the
checkpoint holds passes lit_hw's one allow rule (lit_hw.core.allowed_names) before anything imports it.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch

from lit_hw.core.allowed_names import RefusedName, allowed_class
from lit_hw.core.errors import UserError

# where a checkpoint may name a class: (key path, the kind it must be, the modules of that kind's home)
NET_KEY = "hyper_parameters.net"
OPTIM_KEY = "hyper_parameters.optim._target_"


def load_checkpoint(path: str | Path, trust=()) -> dict:
    """The checkpoint at ``path`` as plain data, its class names checked against the allow rule
    (``trust``: the modules the user trusts besides lit_hw)."""
    path = Path(path)
    if not path.is_file():
        hint = " (it is a directory; pass the .ckpt file inside checkpoints/)" if path.is_dir() else ""
        raise UserError(f"checkpoint not found: {path}{hint}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a PyTorch checkpoint: torch.save writes a zip archive, this file is not one")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise UserError(f"{path} is not a readable PyTorch checkpoint ({torch_load_reason(err)})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"{path} is a torch file but not a Lightning checkpoint (no 'state_dict')")
    if "lit_hw" not in checkpoint:
        raise UserError(f"{path} is a Lightning checkpoint but was not written by lit_hw (no 'lit_hw' section)")
    check_names(checkpoint, path, trust)
    return checkpoint


def torch_load_reason(err: BaseException) -> str:
    """What failed, on one line. torch's weights_only message opens with advice to load with
    weights_only=False (never do that with a file you were handed) and says what it refused further on."""
    text = " ".join(str(err).split()) or type(err).__name__
    refused = re.search(
        r"(Trying to load unsupported [^.]*|Unsupported global: GLOBAL [^ ]+|Unsupported operand [^ ]+)", text
    )
    if refused:
        return f"torch.load(weights_only=True) refused it, nothing was run: {refused.group(1).rstrip('. ')}"
    return text.split(". This is an internal", 1)[0][:300]


def check_names(checkpoint: dict, path, trust=()) -> None:
    """Every class name in the checkpoint passes the allow rule, or RefusedName: the task and datamodule
    classes, the net (and any module nested in its config), the optimizer; a name anywhere else is refused."""
    import lightning as L

    info = checkpoint.get("lit_hw")
    if not isinstance(info, dict):
        raise UserError(
            f"{path}: the 'lit_hw' section is {type(info).__name__}, not a mapping; the file is not one lit_hw wrote"
        )
    # a LightningModule here (core sits below lit_hw's tasks); lit_hw.tasks.loading also requires a Task
    allowed_class(info.get("task"), L.LightningModule, source=path, key="lit_hw.task", trust=trust)
    if info.get("datamodule") is not None:
        allowed_class(info["datamodule"], L.LightningDataModule, source=path, key="lit_hw.datamodule", trust=trust)
    hparams = checkpoint.get("hyper_parameters", {})
    if not isinstance(hparams, dict):
        raise UserError(f"{path}: hyper_parameters is {type(hparams).__name__}, not a mapping")
    if "_instantiator" in hparams:  # Lightning would import and call it to build the task
        raise RefusedName(
            f"{path}: hyper_parameters._instantiator={hparams['_instantiator']!r} is refused: lit_hw checkpoints build their task directly"
        )
    for key, name in named_targets({"hyper_parameters": hparams, "lit_hw": info}):
        if key == OPTIM_KEY:
            allowed_class(name, torch.optim.Optimizer, source=path, key=key, trust=trust, homes=("torch.optim",))
        elif key.startswith(NET_KEY + "."):
            allowed_class(name, torch.nn.Module, source=path, key=key, trust=trust, what="torch.nn.Module class")
        else:
            raise RefusedName(
                f"{path}: {key}={name!r} is refused: a checkpoint may name classes only at {NET_KEY}._target_ "
                f"and {OPTIM_KEY}"
            )


def named_targets(node, prefix: str = ""):
    """(key path, value) of every ``_target_`` in nested dicts and lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_target_":
                yield path, value
            else:
                yield from named_targets(value, path)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from named_targets(value, f"{prefix}[{i}]")


def model_name(checkpoint: dict) -> str:
    """The short model name of the net in a checkpoint, e.g. 'mlp' for lit_hw.nets.mlp.MLP."""
    net = (checkpoint.get("hyper_parameters") or {}).get("net")
    target = net.get("_target_", "") if isinstance(net, dict) else ""
    target = target if isinstance(target, str) else ""
    return target.split(".")[-2] if target.count(".") >= 2 else target
