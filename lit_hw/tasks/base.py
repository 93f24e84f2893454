"""What every lit_hw task shares: the optimization step, optimizer wiring, cheap hooks.

Subclasses implement ``training_loss(batch)`` and their validation/test steps.
"""

from __future__ import annotations

import lightning as L
import torch

from lit_hw.data.tensor_split import StepChunk
from lit_hw.tasks.optim import build_optimizer


class Task(L.LightningModule):
    """A LightningModule with an explicit optimization step.

    ``training_step`` reads as the loop a user would write: loss, zero_grad,
    backward, step. Manual optimization is also measurably cheaper per step than
    Lightning's closure-based automatic optimization, which matters for the
    small MNIST nets (bench/epoch_overhead.py).
    """

    def __init__(self, optim: dict, grad_clip: float | None = None):
        super().__init__()
        self.automatic_optimization = False
        self.optim_config = dict(optim)
        self.grad_clip = grad_clip

    def training_loss(self, batch):
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        # A StepChunk (data.steps_per_execution > 1) holds several minibatches: one optimizer
        # step each, exactly as if they had come one per batch.
        optimizer = self.optimizers()
        losses = []
        for minibatch in batch if isinstance(batch, StepChunk) else (batch,):
            loss = self.training_loss(minibatch)
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            if self.grad_clip:
                self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
            optimizer.step()
            losses.append(loss.detach())
        # worst_loss: a divergence inside a chunk must not hide behind a calmer last minibatch
        return {"loss": loss, "worst_loss": torch.stack(losses).max() if len(losses) > 1 else losses[0]}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # What lit_hw.evaluate needs to rebuild the run without the config: plain strings and
        # dicts only, so the file still loads with torch.load(weights_only=True).
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        checkpoint["lit_hw"] = {
            "task": f"{type(self).__module__}.{type(self).__qualname__}",
            "datamodule": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}" if datamodule else None,
            "data": dict(datamodule.hparams) if datamodule is not None else {},
        }

    def configure_optimizers(self):
        return build_optimizer(self.parameters(), **self.optim_config)

    def __setattr__(self, name, value):
        # Lightning sets ``_current_fx_name`` twice around every hook call, ~40 times per step;
        # nn.Module.__setattr__'s parameter/buffer checks are pointless for a string.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)
