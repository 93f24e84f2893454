"""Autoencoding images in [0, 1], compared on the test split with a 2-component PCA.

Both methods are fitted on the same training images. On test, for each:
reconstruction MSE per pixel (test/mse, test/pca_mse), k-nearest-neighbour digit accuracy
in the 2-D code (test/knn_acc, test/pca_knn_acc: fit on training codes, scored on test
codes) and the silhouette of the codes by digit (test/silhouette, test/pca_silhouette).
Figures: both 2-D codes side by side, and originals / AE / PCA reconstructions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lit_hw.config.checks import require_in, require_whole
from lit_hw.core.errors import ConfigError
from lit_hw.tasks.base import Task

LOSSES = ("bce", "mse")


def code_metrics(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    k: int,
    silhouette_sample: int,
    seed: int,
) -> dict[str, float]:
    """kNN digit accuracy (fit on train codes, scored on test codes) and silhouette of the test codes."""
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k).fit(train_codes, train_labels)
    sample = silhouette_sample if 0 < silhouette_sample < len(test_codes) else None
    return {
        "knn_acc": float(knn.score(test_codes, test_labels)),
        "silhouette": float(silhouette_score(test_codes, test_labels, sample_size=sample, random_state=seed)),
    }


class AutoEncoderTask(Task):
    """Wraps a net with ``encode``/``decode``/``forward`` (lit_hw.nets.autoencoder.AutoEncoder).

    ``loss``: 'bce' (binary cross-entropy per pixel, the usual choice for pixels in [0, 1])
    or 'mse'. Either way the reported reconstruction error is MSE per pixel.
    """

    def __init__(
        self,
        net: dict,
        optim: dict,
        init: str = "default",
        loss: str = "bce",
        knn_k: int = 5,
        silhouette_sample: int = 10_000,
        figure_images: int = 10,
        grad_clip: float | None = None,
    ):
        super().__init__(optim=optim, grad_clip=grad_clip)
        require_in("task.loss", loss, LOSSES, what="loss")
        require_whole("task.knn_k", knn_k, minimum=1)
        self.save_hyperparameters()
        self.loss_name = loss
        self.net = self.build_net(net, init)

    def forward(self, x):
        return self.net(x)

    def reconstruction_loss(self, recon, x):
        return F.binary_cross_entropy(recon, x) if self.loss_name == "bce" else F.mse_loss(recon, x)

    def on_fit_start(self):
        images = self.trainer.datamodule.splits["train"].tensors[0]
        lo, hi = float(images.min()), float(images.max())
        if lo < 0 or hi > 1:
            raise ConfigError(
                f"model=autoencoder needs pixels in [0, 1] but the training images span [{lo:.2f}, {hi:.2f}]: "
                "set data.normalize=false (task=autoencoder does; an override turned it back on)"
            )

    def training_loss(self, batch):
        x = batch[0]
        return self.reconstruction_loss(self.net(x), x)

    def validation_step(self, batch, batch_idx):
        x = batch[0]
        recon = self.net(x)
        self.log("val/loss", self.reconstruction_loss(recon, x), prog_bar=True, batch_size=len(x), sync_dist=True)
        self.log("val/mse", F.mse_loss(recon, x), prog_bar=True, batch_size=len(x), sync_dist=True)

    # -- test: AE and PCA side by side ---------------------------------------------------------
    def on_test_epoch_start(self):
        self._test_codes, self._test_labels, self._test_images = [], [], []

    def test_step(self, batch, batch_idx):
        x, y = batch
        codes = self.net.encode(x)
        recon = self.net.decode(codes)
        self.log("test/loss", self.reconstruction_loss(recon, x), batch_size=len(x))
        self.log("test/mse", F.mse_loss(recon, x), batch_size=len(x))
        # float32: under trainer.precision=bf16-mixed the codes are bfloat16, which numpy (sklearn) cannot take
        self._test_codes.append(codes.float().cpu())
        self._test_labels.append(y.cpu())
        self._test_images.append(x.cpu())

    @torch.no_grad()
    def _encode_all(self, images: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        return torch.cat(
            [self.net.encode(images[i : i + chunk].to(self.device)).float().cpu() for i in range(0, len(images), chunk)]
        )

    def on_test_epoch_end(self):
        from sklearn.decomposition import PCA

        train_images, train_labels = self.trainer.datamodule.splits["train"].tensors
        test_images = torch.cat(self._test_images)
        test_labels = torch.cat(self._test_labels).numpy()
        test_codes = torch.cat(self._test_codes).numpy()
        train_codes = self._encode_all(train_images).numpy()
        train_labels = train_labels.cpu().numpy()

        pca = PCA(n_components=test_codes.shape[1], random_state=0).fit(train_images.cpu().flatten(1).numpy())
        test_flat = test_images.flatten(1).numpy()
        pca_test_codes = pca.transform(test_flat)
        pca_recon = pca.inverse_transform(pca_test_codes)
        pca_train_codes = pca.transform(train_images.cpu().flatten(1).numpy())

        args = dict(k=self.hparams.knn_k, silhouette_sample=self.hparams.silhouette_sample, seed=0)
        for prefix, (train_z, test_z) in {
            "": (train_codes, test_codes),
            "pca_": (pca_train_codes, pca_test_codes),
        }.items():
            for name, value in code_metrics(train_z, train_labels, test_z, test_labels, **args).items():
                self.log(f"test/{prefix}{name}", value)
        self.log("test/pca_mse", float(np.mean((pca_recon - test_flat) ** 2)))

        if self.trainer.is_global_zero:
            self._figures(
                test_images, test_labels, test_codes, pca_test_codes, torch.as_tensor(pca_recon, dtype=torch.float32)
            )

    @torch.no_grad()
    def _figures(self, images, labels, codes, pca_codes, pca_recon):
        from torchvision.utils import make_grid

        from lit_hw.figures.files import save_figure, save_image_grid
        from lit_hw.figures.plots import plot_codes_side_by_side

        figures = Path(self.trainer.default_root_dir) / "figures"
        # the datamodule's class names, where it has them (data=fashion_mnist: clothes, not digits)
        class_names = getattr(self.trainer.datamodule, "class_names", None)
        fig = plot_codes_side_by_side(
            {"autoencoder code": codes, "PCA (2 components)": pca_codes}, labels, class_names=class_names
        )
        save_figure(fig, figures / "codes_scatter.png", self.logger, tag="test/codes_scatter")

        n = min(self.hparams.figure_images, len(images))
        originals = images[:n]
        ae_recon = self.net(originals.to(self.device)).float().cpu()
        rows = torch.cat([originals, ae_recon, pca_recon[:n].clamp(0, 1).view_as(originals)])
        grid = make_grid(rows, nrow=n, padding=2, pad_value=1.0)
        save_image_grid(
            grid, figures / "reconstructions.png", self.logger, tag="test/reconstructions (rows: original, AE, PCA)"
        )
