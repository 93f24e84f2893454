"""Multi-target regression on 1-D signals: MSE loss summed over targets, per-target MSE and R²."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, R2Score

from lit_hw.core.errors import ConfigError
from lit_hw.tasks.base import Task


def flat_targets(t: torch.Tensor) -> torch.Tensor:
    """(N, T, L) -> (N*L, T): every position is one sample of T outputs, as torchmetrics expects."""
    return t.transpose(1, 2).reshape(-1, t.shape[1])


class Regressor(Task):
    """Wraps a net mapping (N, 1, L) signals to (N, T, L), one output channel per target.

    The task fills the net's ``out_channels`` from ``target_names`` (the data config's
    ``targets``), so the model config never repeats how many targets there are.
    """

    def __init__(
        self,
        net: dict,
        optim: dict,
        init: str = "default",
        target_names: list[str] | None = None,
        grad_clip: float | None = None,
        figure_signal: int = 0,
    ):
        super().__init__(optim=optim, grad_clip=grad_clip)
        if not target_names:
            raise ConfigError(
                "task.target_names is empty; it names the data's targets (task=regressor sets it to ${data.targets})"
            )
        self.save_hyperparameters()
        self.target_names = list(target_names)
        self.figure_signal = figure_signal
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

    def training_loss(self, batch):
        x, y = batch
        return F.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        pred = self.net(x)
        self.val_r2.update(flat_targets(pred), flat_targets(y))
        self.log("val/loss", F.mse_loss(pred, y), prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("val/r2", self.val_r2, prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        pred = self.net(x)
        self.test_mse.update(flat_targets(pred), flat_targets(y))
        self.test_r2.update(flat_targets(pred), flat_targets(y))
        self.log("test/loss", F.mse_loss(pred, y), batch_size=len(y), sync_dist=True)

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
            self._plot_test_signal()

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
