"""What every lit_hw task shares: the optimization step, optimizer wiring, cheap hooks.

Subclasses implement ``training_loss(batch)`` and their validation/test steps.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.strategies import SingleDeviceStrategy

from lit_hw.config.checks import instantiate_checked
from lit_hw.data.tensor_split import StepChunk
from lit_hw.nets.init_schemes import apply_init
from lit_hw.tasks.lightning_adapter import PLAIN_STEPS_SUPPORTED, FastHookNames, plain_step
from lit_hw.tasks.optim import build_optimizer, resolve_optimizer
from lit_hw.tasks.schedules import build_scheduler, resolve_schedule


class Task(FastHookNames, L.LightningModule):
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

    def training_step(self, batch, batch_idx):
        # A StepChunk (data.steps_per_execution > 1) holds several minibatches: one optimizer
        # step each, exactly as if they had come one per batch.
        optimizer = self.optimizers()
        minibatches = batch if isinstance(batch, StepChunk) else (batch,)
        losses = []
        for i, minibatch in enumerate(minibatches):
            loss = self.training_loss(minibatch)
            n = len(minibatch[0])
            self._train_loss_sum += loss.detach() * n
            self._train_count += n
            if i == 0 or not self._plain_steps_allowed():
                self._lightning_step(optimizer, loss)
            else:
                self._plain_step(optimizer, loss)
            if self._scheduler_interval == "step":  # once per optimizer step, not per loader batch
                self._last_step_lr = self._scheduler.get_last_lr()[0]
                self._scheduler.step()
            losses.append(loss.detach())
        # worst_loss: a divergence inside a chunk must not hide behind a calmer last minibatch
        return {"loss": loss, "worst_loss": torch.stack(losses).max() if len(losses) > 1 else losses[0]}

    def _lightning_step(self, optimizer, loss) -> None:
        """Through Lightning: precision plugin, strategy, and the backward/optimizer hooks."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()

    def _plain_step(self, optimizer, loss) -> None:
        """The rest of a chunk, as a plain PyTorch step.

        Lightning's wrappers dispatch three hooks to every callback per step (~0.4 ms on
        a 2-core CPU, as long as a small net's whole step); within a chunk they fire once,
        for its first minibatch, like Keras callbacks under steps_per_execution. Only
        used where Lightning adds nothing else: one device, 32-bit precision. The step is
        still counted in ``trainer.global_step`` (lit_hw.tasks.lightning_adapter).
        """
        plain_step(optimizer, loss, self.parameters(), self.grad_clip)

    def _plain_steps_allowed(self) -> bool:
        trainer = self.trainer
        return (
            PLAIN_STEPS_SUPPORTED
            and isinstance(trainer.strategy, SingleDeviceStrategy)
            and str(trainer.precision) in ("32-true", "32")
        )

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
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        checkpoint["lit_hw"] = self.checkpoint_info(datamodule)

    def configure_optimizers(self):
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
