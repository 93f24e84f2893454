"""Multi-target regression: per-target MSE and R², the targets' MSEs averaged (or summed) into the loss.

Serves both toy problems: 1-D signals (N, 1, L) -> (N, T, L) (lit_hw.data.toy) and the assignment's
points in R^4, (N, 1, 4) -> (N, T, 1) (lit_hw.data.toy4).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, R2Score

from lit_hw.config.checks import require_in
from lit_hw.core.errors import ConfigError
from lit_hw.tasks.base import Task


def flat_targets(t: torch.Tensor) -> torch.Tensor:
    """(N, T, L) -> (N*L, T): every position is one sample of T outputs, as torchmetrics expects."""
    return t.transpose(1, 2).reshape(-1, t.shape[1])


TARGET_LOSSES = ("mean", "sum")


class Regressor(Task):
    """Wraps a net mapping (N, 1, L) signals to (N, T, L), one output channel per target.

    The task fills the net's ``out_channels`` from ``target_names`` (the data config's
    ``targets``), so the model config never repeats how many targets there are.

    ``target_loss``: 'mean' averages the targets' MSEs (one net shared by all targets); 'sum' adds
    them, so a net made of one independent model per target (lit_hw.nets.toy4) gives each model
    exactly the gradient of its own target's MSE, as if it were trained alone.
    """

    def __init__(
        self,
        net: dict,
        optim: dict,
        init: str = "default",
        target_names: list[str] | None = None,
        grad_clip: float | None = None,
        figure_signal: int = 0,
        target_loss: str = "mean",
    ):
        super().__init__(optim=optim, grad_clip=grad_clip)
        require_in("task.target_loss", target_loss, TARGET_LOSSES, what="reduction")
        if not target_names:
            raise ConfigError(
                "task.target_names is empty; it names the data's targets (task=regressor sets it to ${data.targets})"
            )
        self.save_hyperparameters()
        self.target_names = list(target_names)
        self.figure_signal = figure_signal
        self.target_loss = target_loss
        self.net = self.build_net(net, init, out_channels=len(self.target_names))
        n = len(self.target_names)
        self.val_r2 = R2Score(multioutput="uniform_average")
        self.test_mse = MeanSquaredError(num_outputs=n)
        self.test_r2 = R2Score(multioutput="raw_values")

    def forward(self, x):
        return self.net(x)

    def setup(self, stage: str) -> None:
        datamodule = self.trainer.datamodule if self._trainer else None
        data_targets = getattr(datamodule, "target_names", None)
        if data_targets is not None and list(data_targets) != self.target_names:
            raise ConfigError(
                f"task.target_names={self.target_names} differ from data.targets={list(data_targets)}; set them alike"
            )

    def loss(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.target_loss == "mean":
            return F.mse_loss(pred, y)
        return F.mse_loss(pred, y, reduction="none").mean(dim=(0, 2)).sum()

    def training_loss(self, batch):
        x, y = batch
        return self.loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        pred = self.net(x)
        self.val_r2.update(flat_targets(pred), flat_targets(y))
        self.log("val/loss", self.loss(pred, y), prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("val/r2", self.val_r2, prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        pred = self.net(x)
        self.test_mse.update(flat_targets(pred), flat_targets(y))
        self.test_r2.update(flat_targets(pred), flat_targets(y))
        self.log("test/loss", self.loss(pred, y), batch_size=len(y), sync_dist=True)

    def on_test_epoch_end(self):
        mse, r2 = self.test_mse.compute(), self.test_r2.compute()
        for i, name in enumerate(self.target_names):
            self.log(f"test/mse_{name}", mse[i])
            self.log(f"test/r2_{name}", r2[i])
        self.log("test/r2", r2.mean())
        self.test_mse.reset()
        self.test_r2.reset()

    def on_test_end(self):
        if self.trainer.is_global_zero and self.trainer.datamodule is not None:
            if self.trainer.datamodule.splits["test"].tensors[1].shape[-1] == 1:
                self._plot_test_fits()  # points, not signals: every test point as (truth, prediction)
            else:
                self._plot_test_signal()

    @torch.no_grad()
    def _plot_test_fits(self):
        from lit_hw.figures.files import save_figure
        from lit_hw.figures.toy_fits import plot_fits

        x, y = self.trainer.datamodule.splits["test"].tensors
        pred = torch.cat([self.net(chunk.to(self.device)).cpu() for chunk in x.split(1000)])
        fig = plot_fits(y[..., 0].cpu().numpy(), {type(self.net).__name__: pred[..., 0].numpy()}, self.target_names)
        save_figure(
            fig, Path(self.trainer.default_root_dir) / "figures" / "toy_fits.png", self.logger, tag="test/toy_fits"
        )

    @torch.no_grad()
    def _plot_test_signal(self):
        from lit_hw.figures.files import save_figure
        from lit_hw.figures.plots import plot_toy_predictions

        x, y = self.trainer.datamodule.splits["test"][self.figure_signal]
        pred = self.net(x.unsqueeze(0).to(self.device))[0].cpu()
        model = type(self.net).__name__
        fig = plot_toy_predictions(x[0].cpu(), y.cpu(), {model: pred}, self.target_names)
        save_figure(
            fig,
            Path(self.trainer.default_root_dir) / "figures" / "toy_predictions.png",
            self.logger,
            tag="test/toy_predictions",
        )
