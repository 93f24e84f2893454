"""Image classification: cross-entropy on logits (softmax output), accuracy from torchmetrics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from lit_hw.tasks.base import Task


class Classifier(Task):
    """Wraps any net mapping a (N, C, H, W) batch to (N, num_classes) logits.

    ``net`` and ``optim`` are plain config dicts (``net`` has a Hydra ``_target_``):
    they are saved as hyper-parameters, so a checkpoint rebuilds the model with
    ``Classifier.load_from_checkpoint`` and loads with ``torch.load(weights_only=True)``.
    """

    def __init__(
        self, net: dict, optim: dict, init: str = "default", num_classes: int = 10, grad_clip: float | None = None
    ):
        super().__init__(optim=optim, grad_clip=grad_clip)
        self.save_hyperparameters()
        self.net = self.build_net(net, init)
        # validate_args=False: the inputs are ours, and the checks cost more than the update.
        metric = dict(num_classes=num_classes, average="micro", validate_args=False)
        self.val_acc = MulticlassAccuracy(**metric)
        self.test_acc = MulticlassAccuracy(**metric)
        # per-epoch test curves (data.test_every_epoch=true): watched, never used to pick a model
        self.epoch_test_acc = MulticlassAccuracy(**metric)

    def forward(self, x):
        return self.net(x)

    # Training accuracy is counted on the device and logged once per epoch, like the loss (Task):
    # a torchmetrics update per step costs ~0.1 ms, a sizeable share of a small net's step.
    def on_train_epoch_start(self):
        super().on_train_epoch_start()
        self._train_correct = torch.zeros((), dtype=torch.long, device=self.device)

    def training_loss(self, batch):
        x, y = batch
        logits = self.net(x)
        with torch.no_grad():
            self._train_correct += (logits.argmax(1) == y).sum()
        return F.cross_entropy(logits, y)

    def stacked_training_losses(self, logits, batch) -> tuple[torch.Tensor, dict]:
        """training_loss for a stack of M classifiers at once (lit_hw.stacked): ``logits`` (M, B, C) on one
        batch (x, y), or on M batches (y of shape (M, B)). Each member's loss (M,), and its correct count."""
        y = batch[1]
        members, size = logits.shape[:2]
        targets = y.expand(members, size) if y.dim() == 1 else y
        losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(members, size)
        with torch.no_grad():
            correct = (logits.argmax(-1) == targets).sum(1)
        return losses.mean(1), {"_train_correct": correct}

    def on_train_epoch_end(self):
        super().on_train_epoch_end()
        self.log("train/acc", self._train_correct.float() / max(self._train_count, 1), prog_bar=True, sync_dist=True)

    def _evaluate(self, batch, stage: str, accuracy: MulticlassAccuracy):
        x, y = batch
        logits = self.net(x)
        accuracy.update(logits, y)
        show = stage != "test_epoch"
        self.log(
            f"{stage}/loss",
            F.cross_entropy(logits, y),
            prog_bar=show,
            batch_size=len(y),
            sync_dist=True,
            add_dataloader_idx=False,
        )
        self.log(f"{stage}/acc", accuracy, prog_bar=show, add_dataloader_idx=False)

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        # A second validation loader is the test split, when the datamodule serves it every epoch.
        if dataloader_idx == 0:
            self._evaluate(batch, "val", self.val_acc)
        else:
            self._evaluate(batch, "test_epoch", self.epoch_test_acc)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_acc)
