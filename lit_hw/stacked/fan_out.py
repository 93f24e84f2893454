"""The members' own callbacks, driven by the stack's Trainer: one Lightning callback that calls each
member's callbacks (the same classes an ordinary run has: checkpoints, divergence, run record, the
interrupt checkpoint, early stopping, a user's own) with that member's view of the Trainer
(lit_hw.stacked.member_trainer), its task and, after a training batch, its own rows of the outputs.

A Checkpoint subclass, so Lightning calls it where it calls ModelCheckpoint: last among the callbacks,
and at a train epoch's end after the task's own hook (where the members log their training metrics).
After each hook that can stop a run it looks at the member's ``should_stop``: set after a training
batch (a divergence), the member leaves the stack at once; at the epoch's end, the members that stopped
are done, and the stack stops when all are. Each member's loggers get its epoch's metrics at the
epoch's end, at its own step. Not passed on: the per-batch validation hooks and the backward and
optimizer hooks (one backward and one step serve every member).
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Checkpoint

from lit_hw.stacked.member_trainer import MemberTrainer
from lit_hw.stacked.module import StackedTask


def numbers(metrics: dict) -> dict:
    return {k: float(v) for k, v in metrics.items() if not isinstance(v, torch.Tensor) or v.numel() == 1}


def each_member(name: str, everyone: bool = False):
    """A Callback hook that calls the same hook of each member's callbacks (of every member, also those
    that are done, with ``everyone``)."""

    def hook(self, trainer, pl_module, *args, **kwargs) -> None:
        self.each(name, *args, members=range(len(self.views)) if everyone else None, **kwargs)

    hook.__name__ = name
    return hook


class MemberCallbacks(Checkpoint):
    def __init__(self, stack: StackedTask, views: list[MemberTrainer]):
        super().__init__()
        self.stack, self.views = stack, views

    def each(self, hook: str, *args, members=None, **kwargs) -> None:
        for member in self.stack.running() if members is None else members:
            view = self.views[member]
            for callback in view.callbacks:
                getattr(callback, hook)(view, view.task, *args, **kwargs)

    # -- the hooks passed on as they are: to the running members, or (ends) to every member ------------
    setup = each_member("setup")
    on_fit_start = each_member("on_fit_start")
    on_train_start = each_member("on_train_start")
    on_sanity_check_start = each_member("on_sanity_check_start")
    on_sanity_check_end = each_member("on_sanity_check_end")
    on_validation_start = each_member("on_validation_start")
    on_validation_epoch_start = each_member("on_validation_epoch_start")
    on_validation_epoch_end = each_member("on_validation_epoch_end")
    on_validation_end = each_member("on_validation_end")
    on_train_epoch_start = each_member("on_train_epoch_start")
    on_train_end = each_member("on_train_end", everyone=True)
    on_fit_end = each_member("on_fit_end", everyone=True)
    on_exception = each_member("on_exception", everyone=True)
    teardown = each_member("teardown", everyone=True)

    # -- training -------------------------------------------------------------------------------
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.each("on_train_batch_start", batch, batch_idx, members=list(self.stack.rows))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        rows = outputs["rows"]
        if outputs["loss"] is None:
            return
        # one copy to the host per batch, as the ordinary run's divergence check syncs once per batch
        losses, worst = outputs["loss"].cpu(), outputs["worst_loss"].cpu()
        for row, member in enumerate(rows):
            view = self.views[member]
            own = {"loss": losses[row], "worst_loss": worst[row]}
            for callback in view.callbacks:
                callback.on_train_batch_end(view, view.task, own, batch, batch_idx)
        for member in rows:
            if self.views[member].should_stop:
                self.stack.stop_member(member, trainer.global_step)
        if not self.stack.rows:  # every member stopped: the epoch ends here, validated, as an ordinary run's
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer, pl_module):
        running = self.stack.running()
        self.each("on_train_epoch_end", members=running)
        for member in running:
            view = self.views[member]
            metrics = numbers(view.callback_metrics)
            for logger in view.loggers:
                logger.log_metrics({**metrics, "epoch": trainer.current_epoch}, step=view.global_step)
            if view.should_stop or member not in self.stack.rows:
                self.stack.finish_member(member)
        if not self.stack.rows:
            trainer.should_stop = True

    # the members' own checkpoints hold the state; the stack has none of its own to save
    def state_dict(self) -> dict:
        return {}
