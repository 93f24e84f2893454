"""The stack's Trainer as one member sees it: what the member's task, callbacks and loggers are given.

Everything is the stack's Trainer (its epoch, loops, strategy, precision, flags) except what is the
member's own: its logged metrics (``callback_metrics``: the stack's under the member's prefix), its
callbacks and checkpoint callbacks, loggers, datamodule, run dir, optimizer, its step once it stopped,
and ``should_stop`` (a member callback that stops the run stops this member only). ``save_checkpoint``
writes the member's own Lightning checkpoint, built as Lightning's ``dump_checkpoint`` builds one from a
Trainer: its weights, the stack's loops (the members step together), its callbacks' states, its own
optimizer and lr scheduler state, hyper-parameters, then the callbacks' and the task's
``on_save_checkpoint``. ``python -m lit_hw.evaluate ckpt_path=...`` and ``resume=`` read it as any other.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Checkpoint

from lit_hw.stacked.module import StackedTask
from lit_hw.stacked.replay import member_prefix

LOOPS = ("fit_loop", "validate_loop", "test_loop", "predict_loop")


class MemberTrainer:
    def __init__(
        self, trainer: L.Trainer, stack: StackedTask, member: int, callbacks: list, loggers: list, datamodule, root_dir
    ):
        own = {
            "_trainer": trainer,
            "_stack": stack,
            "member": member,
            # ordered as Lightning orders a Trainer's callbacks: checkpoint callbacks last
            "callbacks": [c for c in callbacks if not isinstance(c, Checkpoint)]
            + [c for c in callbacks if isinstance(c, Checkpoint)],
            "loggers": list(loggers),
            "datamodule": datamodule,
            "default_root_dir": str(root_dir),
            "_should_stop": False,
        }
        self.__dict__.update(own)

    def __getattr__(self, name):  # everything not the member's own is the stack's Trainer's
        return getattr(self._trainer, name)

    @property
    def lightning_module(self):
        return self._stack.tasks[self.member]

    @property
    def task(self):
        return self._stack.tasks[self.member]

    @property
    def logger(self):
        return self.loggers[0] if self.loggers else None

    @property
    def log_dir(self) -> str:
        return self.default_root_dir

    @property
    def checkpoint_callbacks(self) -> list:
        return [c for c in self.callbacks if isinstance(c, Checkpoint)]

    @property
    def checkpoint_callback(self):
        return next(iter(self.checkpoint_callbacks), None)

    @property
    def optimizers(self) -> list:
        return [self._stack.member_optimizers[self.member]]

    @property
    def global_step(self) -> int:
        """The stack's optimizer steps, or those this member took before it stopped."""
        return self._stack.stopped_at.get(self.member, self._trainer.global_step)

    def _own(self, metrics: dict) -> dict:
        prefix = member_prefix(self.member)
        return {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}

    @property
    def callback_metrics(self) -> dict:
        return self._own(self._trainer.callback_metrics)

    @property
    def logged_metrics(self) -> dict:
        return self._own(self._trainer.logged_metrics)

    @property
    def progress_bar_metrics(self) -> dict:
        return {}

    @property
    def should_stop(self) -> bool:
        return self._should_stop

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        self.__dict__["_should_stop"] = bool(value)

    # -- checkpoints ---------------------------------------------------------------------------
    def dump_checkpoint(self, weights_only: bool = False) -> dict:
        trainer, task, datamodule = self._trainer, self.task, self.datamodule
        checkpoint = {
            "epoch": trainer.current_epoch,
            "global_step": self.global_step,
            "pytorch-lightning_version": L.__version__,
            "state_dict": self._stack.member_weights(self.member),
            "loops": {name: getattr(trainer, name).state_dict() for name in LOOPS},
        }
        if not weights_only:
            checkpoint["callbacks"] = {c.state_key: s for c in self.callbacks if (s := c.state_dict())}
            checkpoint["optimizer_states"] = [self._stack.member_optimizer_state(self.member)]
            scheduler = task._scheduler
            checkpoint["lr_schedulers"] = [scheduler.state_dict()] if scheduler is not None else []
            precision = trainer.precision_plugin
            if precision_state := precision.state_dict():
                checkpoint[type(precision).__qualname__] = precision_state
            precision.on_save_checkpoint(checkpoint)
        for obj in (task, datamodule):
            if obj is not None and obj.hparams:
                if hasattr(obj, "_hparams_name"):
                    checkpoint[obj.CHECKPOINT_HYPER_PARAMS_NAME] = obj._hparams_name
                checkpoint[obj.CHECKPOINT_HYPER_PARAMS_KEY] = dict(obj.hparams)
        if datamodule is not None and (datamodule_state := datamodule.state_dict()):
            checkpoint[type(datamodule).__qualname__] = datamodule_state
        if not weights_only:
            for callback in self.callbacks:
                callback.on_save_checkpoint(self, task, checkpoint)
        task.on_save_checkpoint(checkpoint)
        return checkpoint

    def save_checkpoint(self, filepath, weights_only: bool = False, storage_options=None) -> None:
        checkpoint = self.dump_checkpoint(weights_only)
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        self._trainer.strategy.save_checkpoint(checkpoint, filepath, storage_options=storage_options)
