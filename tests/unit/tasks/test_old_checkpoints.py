"""A checkpoint written before lit_hw 0.2 names its optimizer ``optim.name`` (with the settings of
both optimizer families); it still loads, through lit_hw.tasks.optim.legacy_to_target alone, while
the configs no longer know the key."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from lit_hw.core.errors import ConfigError
from lit_hw.tasks.classifier import Classifier
from lit_hw.tasks.loading import load_task
from tests.helpers.cli import ROOT

NET = {"_target_": "lit_hw.nets.linear.LinearNet", "in_features": 784, "num_classes": 10}
# what lit_hw 0.1 saved for optim=sgd: the Adam family's betas too
OLD_SGD = {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "betas": [0.9, 0.999]}


def old_checkpoint(path, optim: dict) -> torch.Tensor:
    """A lit_hw checkpoint whose hyper_parameters.optim is ``optim``; returns the net's weight."""
    torch.manual_seed(0)
    task = Classifier(net=NET, optim={"_target_": "torch.optim.SGD", "lr": 0.05})
    hparams = {**dict(task.hparams), "optim": optim}
    torch.save(
        {
            "pytorch-lightning_version": L.__version__,
            "state_dict": task.state_dict(),
            "hparams_name": "kwargs",
            "hyper_parameters": hparams,
            "lit_hw": task.checkpoint_info(None),
        },
        path,
    )
    return task.net.fc.weight.detach().clone()


def test_checkpoint_with_optim_name_loads_with_its_optimizer(tmp_path):
    path = tmp_path / "old.ckpt"
    weight = old_checkpoint(path, OLD_SGD)
    task, datamodule_cls, checkpoint = load_task(path)
    assert checkpoint["hyper_parameters"]["optim"]["name"] == "sgd" and datamodule_cls is None
    torch.testing.assert_close(task.net.fc.weight, weight)
    optimizer = task.configure_optimizers()
    assert type(optimizer) is torch.optim.SGD
    assert optimizer.defaults["lr"] == 0.05 and optimizer.defaults["momentum"] == 0.9
    assert "betas" not in optimizer.defaults  # the other family's setting is dropped, not refused
    again = Classifier.load_from_checkpoint(path, weights_only=True)  # Lightning's own loader, the same way
    assert type(again.configure_optimizers()) is torch.optim.SGD


def test_unknown_old_optimizer_name_is_one_line(tmp_path):
    path = tmp_path / "odd.ckpt"
    old_checkpoint(path, {**OLD_SGD, "name": "rmsprop"})
    with pytest.raises(ConfigError, match=r"optim\.name='rmsprop' is not known; choose one of adam, adamw, sgd"):
        Classifier.load_from_checkpoint(path, weights_only=True)


def test_configs_no_longer_have_optim_name():
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for optim in ("adam", "adamw", "sgd"):
            assert "name" not in compose("train", overrides=[f"optim={optim}"]).optim
        with pytest.raises(ConfigCompositionException, match="optim.name"):
            compose("train", overrides=["optim.name=sgd"])
