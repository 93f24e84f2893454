"""What every lit_hw task shares: the optimization step, optimizer wiring, cheap hooks.

Subclasses implement ``training_loss(batch)`` and their validation/test steps.
"""

from __future__ import annotations

import lightning as L
import torch

from lit_hw.config.checks import instantiate_checked
from lit_hw.nets.init_schemes import apply_init
from lit_hw.tasks import lightning_adapter as adapter
from lit_hw.tasks.optim import build_optimizer, resolve_optimizer
from lit_hw.tasks.schedules import build_scheduler, resolve_schedule


class Task(adapter.FastHookNames, L.LightningModule):
    """A LightningModule with an explicit optimization step.

    ``training_step`` reads as the loop a user would write: loss, zero_grad,
    backward, step. Manual optimization is also measurably cheaper per step than
    Lightning's closure-based automatic optimization, which matters for the
    small MNIST nets (bench/epoch_overhead.py).
    """

    def __init__(self, optim: dict, grad_clip: float | None = None):
        super().__init__()
        self.automatic_optimization = False
        resolve_optimizer(optim)  # checks the settings now, not at the first step
        resolve_schedule(optim)
        self.optim_config = dict(optim)
        self.grad_clip = grad_clip
        # the lr scheduler and when it steps ("epoch" or "step"), set by configure_optimizers
        self._scheduler, self._scheduler_interval = None, ""
        self._last_step_lr: float | None = None

    @staticmethod
    def build_net(net: dict, init: str, **kwargs) -> torch.nn.Module:
        """The plain net from its config (``_target_`` + arguments; it checks them), then the init scheme."""
        return apply_init(instantiate_checked(net, _convert_="all", **kwargs), init)

    def model_summary(self) -> dict:
        """The net's class and parameter counts, for metrics.json and the console."""
        params = list(self.net.parameters())
        return {
            "name": type(self.net).__name__,
            "params": sum(p.numel() for p in params),
            "trainable_params": sum(p.numel() for p in params if p.requires_grad),
        }

    def training_loss(self, batch):
        raise NotImplementedError

    # The epoch's training loss is summed on the device and logged once per epoch: a ``self.log``
    # call per step costs ~1 ms, more than a small net's whole step.
    def on_train_epoch_start(self):
        self._train_loss_sum = torch.zeros((), device=self.device)
        self._train_count = 0
        if self._scheduler_interval == "epoch":
            # Caught up to the epoch rather than stepped at each epoch's end: last.ckpt is saved before the
            # module's epoch-end hook, so a run resumed from it would otherwise train an epoch at a stale lr.
            while self._scheduler.last_epoch < self.current_epoch:
                self._scheduler.step()

    def on_train_epoch_end(self):
        self.log("train/loss", self._train_loss_sum / max(self._train_count, 1), prog_bar=True, sync_dist=True)
        # the lr of the epoch's last step (a step schedule has already moved on to the next step's);
        # a float, the same on every rank, so no sync
        lr = self._last_step_lr if self._scheduler_interval == "step" else None
        self.log("train/lr", float(lr if lr is not None else self.trainer.optimizers[0].param_groups[0]["lr"]))

    def on_train_end(self):
        # Lightning counts one logger step past the last batch; test metrics after fit() belong at the last step
        adapter.count_logger_steps(self.trainer)

    def training_step(self, batch, batch_idx):
        # A loader batch may hold several minibatches (data.steps_per_execution, a speed trick that
        # lit_hw.tasks.lightning_adapter keeps out of sight): one optimizer step each, exactly as if
        # they had come one per batch; Lightning's wrappers for the first, plain steps for the rest.
        optimizer = self.optimizers()
        trainer = self.trainer
        losses = []
        for i, minibatch in enumerate(adapter.optimizer_minibatches(batch, batch_idx, trainer)):
            loss = self.training_loss(minibatch)
            n = len(minibatch[0])
            self._train_loss_sum += loss.detach() * n
            self._train_count += n
            if i == 0 or not adapter.plain_steps_allowed(trainer):
                self._lightning_step(optimizer, loss)
            else:
                adapter.plain_step(optimizer, loss, self.parameters(), self.grad_clip)
            if self._scheduler_interval == "step":  # once per optimizer step, not per loader batch
                self._last_step_lr = self._scheduler.get_last_lr()[0]
                self._scheduler.step()
            losses.append(loss.detach())
        adapter.count_logger_steps(trainer)
        # worst_loss: a divergence in an early step must not hide behind a calmer last one
        return {"loss": loss, "worst_loss": torch.stack(losses).max() if len(losses) > 1 else losses[0]}

    def _lightning_step(self, optimizer, loss) -> None:
        """Through Lightning: precision plugin, strategy, and the backward/optimizer hooks."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()

    @property
    def optimizer_steps_per_epoch(self) -> int | None:
        """Optimizer steps of a training epoch of the current fit (the progress bar's length); None
        before the train loader is set up."""
        trainer = adapter.attached_trainer(self)
        if trainer is None or not isinstance(trainer.num_training_batches, int):
            return None
        return adapter.optimizer_steps_per_epoch(trainer)

    @classmethod
    def load_from_checkpoint(
        cls, checkpoint_path, map_location=None, hparams_file=None, strict=None, trust=(), **kwargs
    ):
        """Lightning's loader behind lit_hw's allow rule (lit_hw.core.allowed_names): every class the file
        names is checked before anything is built from it, and it loads with weights_only=True whatever the
        caller says. ``trust``: modules besides lit_hw whose classes the file may name (your own nets)."""
        from lit_hw.tasks.checkpoints import load_checkpoint

        load_checkpoint(checkpoint_path, trust)
        kwargs["weights_only"] = True
        return super().load_from_checkpoint(
            checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict, **kwargs
        )

    def checkpoint_info(self, datamodule) -> dict:
        """What lit_hw.evaluate needs to rebuild the run without the config: plain strings and
        dicts only, so the file still loads with torch.load(weights_only=True)."""
        return {
            "task": f"{type(self).__module__}.{type(self).__qualname__}",
            "datamodule": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}" if datamodule else None,
            "data": dict(datamodule.hparams) if datamodule is not None else {},
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        trainer = adapter.attached_trainer(self)
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        checkpoint["lit_hw"] = self.checkpoint_info(datamodule)

    def configure_optimizers(self):
        trainer = adapter.attached_trainer(self)
        if trainer is not None:  # a fit: before Lightning reads its train limits, and before a schedule's length
            adapter.plan_step_chunks(trainer)
        optimizer = build_optimizer(self.parameters(), self.optim_config)
        if resolve_schedule(self.optim_config)[0] == "none":
            return optimizer  # also outside a Trainer (a schedule's length comes from the Trainer)
        self._scheduler, self._scheduler_interval = build_scheduler(optimizer, self.optim_config, self.trainer)
        # Lightning keeps the scheduler in checkpoints; "interval" is for LearningRateMonitor, as under
        # manual optimization Lightning does not step it (training_step and on_train_epoch_start do)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self._scheduler, "interval": self._scheduler_interval},
        }
