"""Nets, init schemes and the classification task, trained for a few steps in-process."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from lit_hw.core.errors import ConfigError
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import TensorSplit
from lit_hw.nets.cnn import ConvNet
from lit_hw.nets.init_schemes import apply_init
from lit_hw.nets.linear import LinearNet
from lit_hw.nets.mlp import MLP
from lit_hw.tasks.classifier import Classifier

NETS = {
    "linear": {"_target_": "lit_hw.nets.linear.LinearNet"},
    "mlp": {"_target_": "lit_hw.nets.mlp.MLP", "hidden_sizes": [32]},
    "mlp_sigmoid": {"_target_": "lit_hw.nets.mlp.MLP", "hidden_sizes": [32, 16], "activation": "sigmoid"},
    "cnn": {"_target_": "lit_hw.nets.cnn.ConvNet", "channels": [4, 8], "fc_size": 16},
}


class TinyData(TensorDataModule):
    def __init__(self, n=192):
        super().__init__(batch_size=32, eval_batch_size=64, on_device=False, seed=0)
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 1, 28, 28, generator=g)
        self.y = torch.randint(0, 10, (n,), generator=g)

    def setup(self, stage=None):
        self.splits = {name: TensorSplit(self.x, self.y) for name in ("train", "val", "test")}


def fit_few_steps(net_cfg, init="default", optim=None, steps=4):
    L.seed_everything(0, verbose=False)
    task = Classifier(net=net_cfg, optim=optim or {"name": "adam", "lr": 1e-3}, init=init)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=steps,
        limit_val_batches=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=TinyData())
    return task, trainer


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("init", ["default", "zero", "he", "xavier"])
def test_every_model_and_init_trains_a_few_steps(name, init):
    task, trainer = fit_few_steps(NETS[name], init=init)
    assert trainer.global_step == 4
    for key in ("train/loss", "train/acc", "val/loss", "val/acc"):
        assert torch.isfinite(trainer.callback_metrics[key]), key
    logits = task(torch.randn(5, 1, 28, 28))
    assert logits.shape == (5, 10)


def test_sgd_with_momentum_and_weight_decay():
    task, trainer = fit_few_steps(NETS["mlp"], optim={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4})
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.9 and optimizer.param_groups[0]["weight_decay"] == 5e-4
    assert optimizer.state, "SGD with momentum keeps a momentum buffer after stepping"


def test_zero_init_zeroes_every_weight_and_bias():
    for net in (LinearNet(), MLP(hidden_sizes=[16, 8]), ConvNet(channels=[4], fc_size=8)):
        apply_init(net, "zero")
        layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        assert layers
        for layer in layers:
            assert torch.count_nonzero(layer.weight) == 0 and torch.count_nonzero(layer.bias) == 0


def test_he_and_xavier_scale_like_their_formulas():
    torch.manual_seed(0)
    layer = nn.Linear(1000, 500)
    apply_init(layer, "he")
    assert abs(layer.weight.std().item() - (2 / 1000) ** 0.5) < 0.002
    apply_init(layer, "xavier")
    assert abs(layer.weight.std().item() - (2 / 1500) ** 0.5) < 0.002
    assert torch.count_nonzero(layer.bias) == 0


def test_default_cnn_pools_early_and_uses_dropout():
    net = ConvNet()
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds.count("MaxPool2d") == 2 and kinds.count("Dropout") == 2
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64]
    assert net.classifier[2].in_features == 64 * 7 * 7


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MLP(hidden_sizes=[]), "hidden_sizes=\\[\\]"),
        (lambda: MLP(activation="swish"), "relu, sigmoid"),
        (lambda: ConvNet(channels=[8, 8, 8, 8, 8, 8]), "at most 4 conv"),
        (lambda: apply_init(MLP(), "orthogonal"), "default, zero, he, xavier"),
    ],
)
def test_nonsense_model_configs_are_one_line_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()
