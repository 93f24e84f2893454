"""How spread out the digits are in a 2-D code: the autoencoder's against PCA's (claim 12).

spread = tr(S_B) / tr(S_W) of the test codes, labelled by digit: the variance of the 10 digit means
around the overall mean (between digits), over the mean variance of the codes around their own
digit's mean (within digits). It is scale-free, so codes on different scales (the autoencoder's,
PCA's) compare; it grows as the digits' clouds move apart relative to their width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def class_spread(codes: np.ndarray, labels: np.ndarray) -> float:
    mean = codes.mean(axis=0)
    between = within = 0.0
    for label in np.unique(labels):
        group = codes[labels == label]
        centre = group.mean(axis=0)
        between += len(group) * float(((centre - mean) ** 2).sum())
        within += float(((group - centre) ** 2).sum())
    return between / within if within > 0 else float("nan")


@torch.no_grad()
def autoencoder_vs_pca_spread(run_dir: Path) -> dict[str, float]:
    """The spread of the run's autoencoder codes and of a 2-component PCA fitted on the same training images."""
    from sklearn.decomposition import PCA

    from lit_hw.tasks.loading import load_task

    checkpoints = sorted((run_dir / "checkpoints").glob("best-*.ckpt")) or [run_dir / "checkpoints" / "last.ckpt"]
    task, datamodule_cls, checkpoint = load_task(checkpoints[-1])
    datamodule = datamodule_cls(**{**checkpoint["lit_hw"]["data"], "on_device": False})
    datamodule.setup("test")
    train_images = datamodule.splits["train"].tensors[0].flatten(1).numpy()
    test_images, test_labels = datamodule.splits["test"].tensors
    codes = torch.cat([task.eval().net.encode(chunk) for chunk in test_images.split(2048)]).float().numpy()
    pca = PCA(n_components=codes.shape[1], random_state=0).fit(train_images)
    labels = test_labels.numpy()
    return {
        "autoencoder": class_spread(codes, labels),
        "pca": class_spread(pca.transform(test_images.flatten(1).numpy()), labels),
    }
