"""Build a lit_hw task from a checkpoint someone hands you: ``python -m lit_hw.evaluate``, the toy comparison.

Every class name in the file passes the allow rule first (lit_hw.tasks.checkpoints.load_checkpoint);
the task class must moreover be one of lit_hw's tasks (a ``Task``), the datamodule a ``LightningDataModule``.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L

from lit_hw.core.allowed_names import allowed_class
from lit_hw.core.errors import UserError, describe
from lit_hw.tasks.base import Task
from lit_hw.tasks.checkpoints import load_checkpoint


def load_task(path: str | Path, trust=()):
    """(task, datamodule class or None, checkpoint) of a lit_hw checkpoint, every name checked first."""
    checkpoint = load_checkpoint(path, trust)
    info = checkpoint["lit_hw"]
    task_cls = allowed_class(
        info["task"], Task, source=path, key="lit_hw.task", trust=trust, what="lit_hw task (Task) class"
    )
    try:
        task = task_cls.load_from_checkpoint(path, map_location="cpu", trust=trust)
    except UserError:
        raise
    except Exception as err:  # hyper-parameters that do not fit the task or its net
        raise UserError(
            f"{path}: its hyper_parameters do not build a {task_cls.__name__} ({describe(err)[:300]})"
        ) from None
    datamodule_cls = None
    if info.get("datamodule") is not None:
        datamodule_cls = allowed_class(
            info["datamodule"], L.LightningDataModule, source=path, key="lit_hw.datamodule", trust=trust
        )
    return task, datamodule_cls, checkpoint
