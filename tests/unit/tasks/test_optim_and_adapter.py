"""The optimizer built from its config (``_target_`` + arguments) and the Lightning internals lit_hw relies on."""

from __future__ import annotations

import pytest
import torch

from lit_hw.core.errors import ConfigError
from lit_hw.tasks.lightning_adapter import PLAIN_STEPS_SUPPORTED, missing_internals
from lit_hw.tasks.optim import build_optimizer, resolve_optimizer


def test_lightning_internals_that_the_speed_tricks_use_are_still_there():
    missing = missing_internals()
    assert not missing, (
        f"Lightning changed: {', '.join(missing)} no longer exist(s). lit_hw/tasks/lightning_adapter.py relies "
        "on them (plain steps inside a step chunk, cheap hook names, logger steps counted in optimizer steps); "
        "update it for this Lightning version"
    )
    assert PLAIN_STEPS_SUPPORTED


@pytest.mark.parametrize(
    "config, cls",
    [
        ({"_target_": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}, torch.optim.SGD),
        ({"_target_": "torch.optim.Adam", "lr": 1e-3, "betas": [0.8, 0.9]}, torch.optim.Adam),
        ({"_target_": "torch.optim.RMSprop", "lr": 1e-2}, torch.optim.RMSprop),  # any torch.optim class
    ],
)
def test_built_optimizer_steps_exactly_like_torch_optim(config, cls):
    torch.manual_seed(0)
    ours, reference = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    reference.load_state_dict(ours.state_dict())
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "_target_"}
    optimizers = [build_optimizer(ours.parameters(), config), cls(reference.parameters(), **settings)]
    assert isinstance(optimizers[0], cls)
    x = torch.randn(16, 5)
    for _ in range(5):
        for net, opt in zip((ours, reference), optimizers):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoints_from_before_0_2_still_describe_their_optimizer():
    # lit_hw 0.1 saved {"name": ..., the settings of both families}; the other family's keys were dropped
    cls, settings = resolve_optimizer({"name": "adam", "lr": 0.002, "betas": [0.9, 0.99], "momentum": 0.9})
    assert cls is torch.optim.Adam and settings == {"lr": 0.002, "betas": (0.9, 0.99)}
    cls, settings = resolve_optimizer({"name": "sgd", "lr": 0.1, "momentum": 0.5, "betas": [0.9, 0.99]})
    assert cls is torch.optim.SGD and settings == {"lr": 0.1, "momentum": 0.5}


@pytest.mark.parametrize(
    "config, phrase",
    [
        ({"_target_": "torch.optim.SGD", "lr": 0}, "optim.lr=0 must be a positive finite number"),
        ({"_target_": "torch.optim.SGD", "lr": 0.1, "momentum": -1}, "optim.momentum=-1"),
        ({"_target_": "torch.optim.SGD", "lr": 0.1, "nesterov": True}, "needs optim.momentum > 0"),
        (
            {"_target_": "torch.optim.Adam", "lr": 0.1, "momentum": 0.9},
            "optim.momentum is not a setting of torch.optim.Adam",
        ),
        ({"_target_": "torch.nn.Linear", "lr": 0.1}, "not a torch.optim optimizer class"),
    ],
)
def test_bad_optimizer_settings_name_the_value(config, phrase):
    with pytest.raises(ConfigError, match=phrase.replace(".", r"\.").replace("(", r"\(")) as err:
        resolve_optimizer(config)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)]
)
def test_every_optim_config_builds_its_optimizer(name, cls):
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    from lit_hw.run.build import optim_settings

    conf = Path(__file__).resolve().parents[3] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("train", overrides=[f"optim={name}"])
    optimizer = build_optimizer(torch.nn.Linear(3, 2).parameters(), optim_settings(cfg))
    assert type(optimizer) is cls and optimizer.defaults["lr"] == cfg.optim.lr
