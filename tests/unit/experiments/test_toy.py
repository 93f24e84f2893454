"""The 1-D toy signals: the data module, the two nets, the regressor task and experiment=toy_signals."""

from __future__ import annotations

import json

import pytest
import torch

from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data.toy import DEFAULT_TARGETS, TARGETS, ToyFunctionsDataModule, register_target
from lit_hw.nets.toy import ToyConvNet, ToyLinear


def test_defaults_have_one_linear_and_three_nonlinear_targets():
    linear = [t for t in DEFAULT_TARGETS if "linear" in t]
    assert len(linear) == 1 and len(DEFAULT_TARGETS) - 1 >= 3


def test_splits_are_seeded_shaped_and_standardized():
    dm = ToyFunctionsDataModule(length=32, n_train=50, n_val=10, n_test=20, seed=3)
    dm.setup()
    x, y = dm.splits["train"].tensors
    assert x.shape == (50, 1, 32) and y.shape == (50, len(DEFAULT_TARGETS), 32)
    assert torch.allclose(y.mean(dim=(0, 2)), torch.zeros(len(DEFAULT_TARGETS)), atol=1e-5)
    assert torch.allclose(y.std(dim=(0, 2)), torch.ones(len(DEFAULT_TARGETS)), atol=1e-4)
    again = ToyFunctionsDataModule(length=32, n_train=50, n_val=10, n_test=20, seed=3)
    again.setup()
    assert torch.equal(again.splits["test"].tensors[0], dm.splits["test"].tensors[0])
    other = ToyFunctionsDataModule(length=32, n_train=50, n_val=10, n_test=20, seed=4)
    other.setup()
    assert not torch.equal(other.splits["test"].tensors[0], dm.splits["test"].tensors[0])


def test_targets_compute_what_their_names_say():
    x = torch.tensor([[0.0, -3.0, 1.0, 2.0, -1.0, 0.5, 0.0, 0.0]])
    assert torch.equal(TARGETS["abs"](x), x.abs())
    # window of 5, wrapping around: position 0 sees positions 6, 7, 0, 1, 2
    assert TARGETS["local_max"](x)[0, 0] == 1.0 and TARGETS["local_max"](x)[0, 4] == 2.0
    assert (TARGETS["thresholded_edge"](x) >= 0).all()
    # a linear target is linear: f(a x + b z) = a f(x) + b f(z)
    z = torch.randn(1, 8)
    f = TARGETS["linear_smooth"]
    assert torch.allclose(f(2 * x - 3 * z), 2 * f(x) - 3 * f(z), atol=1e-5)


def test_register_target_adds_a_channel_and_rejects_duplicates():
    name = "square_for_test"
    if name not in TARGETS:
        register_target(name, lambda x: x**2)
    dm = ToyFunctionsDataModule(targets=["abs", name], length=16, n_train=8, n_val=2, n_test=2, standardize=False)
    dm.setup()
    x, y = dm.splits["train"].tensors
    assert torch.allclose(y[:, 1], x[:, 0] ** 2)
    with pytest.raises(ConfigError, match="already registered"):
        register_target(name, torch.abs)
    with pytest.raises(ConfigError, match="not callable"):
        register_target("not_a_function_for_test", 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"targets": ["nope"]}, "'nope' not registered"),
        ({"targets": []}, "no target"),
        ({"targets": ["abs", "abs"]}, "twice"),
        ({"length": 4}, "data.length=4"),
        ({"n_train": 0}, "data.n_train=0"),
        ({"batch_size": 2.5}, "data.batch_size=2.5"),
    ],
)
def test_bad_data_configs_raise_one_clear_line(kwargs, match):
    with pytest.raises(ConfigError, match=match) as err:
        ToyFunctionsDataModule(**kwargs)
    assert "\n" not in str(err.value)


def test_a_target_with_the_wrong_shape_is_a_data_error():
    name = "wrong_shape_for_test"
    if name not in TARGETS:
        register_target(name, lambda x: x[:, :3])
    dm = ToyFunctionsDataModule(targets=[name], length=16, n_train=4, n_val=2, n_test=2)
    with pytest.raises(DataError, match="must return a tensor shaped like its input"):
        dm.setup()


def test_toy_linear_is_one_linear_map_and_convnet_is_not():
    torch.manual_seed(0)
    a, b = torch.randn(2, 1, 32), torch.randn(2, 1, 32)
    linear, conv = ToyLinear(out_channels=3, channels=[8, 8]), ToyConvNet(out_channels=3, channels=[8])
    # linear without the bias: the difference of outputs is linear in the difference of inputs
    lin = lambda x: linear(x) - linear(torch.zeros_like(x))  # noqa: E731
    assert torch.allclose(lin(2 * a + b), 2 * lin(a) + lin(b), atol=1e-5)
    assert linear(a).shape == conv(a).shape == (2, 3, 32)
    cv = lambda x: conv(x) - conv(torch.zeros_like(x))  # noqa: E731
    assert not torch.allclose(cv(-a), -cv(a), atol=1e-3)
    with pytest.raises(ConfigError, match="odd"):
        ToyConvNet(kernel_size=4)
    with pytest.raises(ConfigError, match="without a ReLU"):
        ToyConvNet(channels=[])


def test_train_logs_per_target_metrics_and_a_figure(cli, tmp_path):
    run = tmp_path / "run"
    cli(
        "lit_hw.train",
        "data=toy",
        "model=toy_convnet",
        "data.n_train=64",
        "data.n_val=16",
        "data.n_test=16",
        "data.length=32",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run}",
    )
    final = json.loads((run / "metrics.json").read_text())["final"]
    for name in DEFAULT_TARGETS:
        assert -10 < final[f"test/r2_{name}"] <= 1 and final[f"test/mse_{name}"] >= 0
    assert (run / "figures" / "toy_predictions.png").stat().st_size > 1000
    assert list((run / "tensorboard").glob("events.*"))


def test_task_targets_must_match_the_data(cli, tmp_path):
    proc = cli(
        "lit_hw.train",
        "data=toy",
        "model=toy_linear",
        "data.targets=[abs]",
        "task.target_names=[local_max]",
        "trainer.max_epochs=1",
        f"hydra.run.dir={tmp_path}",
        check=False,
    )
    assert proc.returncode == 2
    assert "differ from data.targets" in proc.stderr


@pytest.mark.slow
def test_toy_experiment_must_show(cli, tmp_path):
    """The issue's bar, on the default config (seed 0): linear fits only the linear target, the convnet fits all."""
    cli("lit_hw.train", "experiment=toy_signals", "logger=none", f"hydra.sweep.dir={tmp_path}", timeout=900)
    scores = json.loads((tmp_path / "toy_comparison.json").read_text())
    linear, conv = scores["toy_linear"], scores["toy_convnet"]
    for name in DEFAULT_TARGETS:
        if "linear" in name:
            assert linear[f"r2_{name}"] >= 0.99
        else:
            assert linear[f"r2_{name}"] <= 0.6
        assert conv[f"r2_{name}"] >= 0.95
    assert (tmp_path / "figures" / "toy_comparison.png").stat().st_size > 1000
    assert list((tmp_path / "tensorboard").glob("events.*"))
