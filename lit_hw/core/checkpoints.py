"""Read lit_hw checkpoints safely (weights_only) and explain what is wrong with a bad one."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from lit_hw.core.errors import UserError


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        hint = " (it is a directory; pass the .ckpt file inside checkpoints/)" if path.is_dir() else ""
        raise UserError(f"checkpoint not found: {path}{hint}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a PyTorch checkpoint: torch.save writes a zip archive, this file is not one")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{path} is not a readable PyTorch checkpoint ({first_line[:160]})") from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"{path} is a torch file but not a Lightning checkpoint (no 'state_dict')")
    if "lit_hw" not in checkpoint:
        raise UserError(f"{path} is a Lightning checkpoint but was not written by lit_hw (no 'lit_hw' section)")
    return checkpoint


def model_name(checkpoint: dict) -> str:
    """The short model name of the net in a checkpoint, e.g. 'mlp' for lit_hw.nets.mlp.MLP."""
    target = checkpoint.get("hyper_parameters", {}).get("net", {}).get("_target_", "")
    return target.split(".")[-2] if target.count(".") >= 2 else target
