"""hydra.sweeper.params in hydra-optuna-sweeper's syntax, read into Optuna distributions (lit_hw.sweeps.optuna)."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from lit_hw.config.override_keys import STACKABLE_KEYS
from lit_hw.core.errors import ConfigError
from lit_hw.sweeps.optuna.search_space import search_space


@pytest.mark.parametrize(
    "value, expected",
    [
        ("choice(32, 64, 128)", CategoricalDistribution([32, 64, 128])),
        ("relu,tanh", CategoricalDistribution(["relu", "tanh"])),
        ("choice([128], [256, 128])", CategoricalDistribution(["[128]", "[256,128]"])),  # lists as their overrides
        ("choice(true, false)", CategoricalDistribution([True, False])),
        ("range(1, 10)", IntDistribution(1, 9)),  # Hydra's range: stop excluded
        ("range(2, 11, 3)", IntDistribution(2, 8, step=3)),
        ("range(5, 1, -1)", IntDistribution(2, 5)),
        ("tag(log, range(1, 65))", IntDistribution(1, 64, log=True)),
        ("range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.4, step=0.1)),
        ("interval(0.1, 1)", FloatDistribution(0.1, 1.0)),
        ("tag(log, interval(0.0001, 0.1))", FloatDistribution(0.0001, 0.1, log=True)),
    ],
)
def test_each_sweep_syntax_is_an_optuna_distribution(value, expected):
    space = search_space({"key": value}, [])
    assert space.distributions() == {"key": expected}
    assert space.fixed == []


def test_fixed_values_and_command_line_overrides():
    space = search_space(
        {"optim.lr": "tag(log, interval(0.0001, 0.1))", "data.batch_size": "choice(32, 64)", "trainer.max_epochs": 3},
        ["hparams_search=mlp_optuna", "data.batch_size=16", "+init.gain=1,2", "~callbacks.fail_at"],
    )
    # a command-line value fixes a searched key; a command-line sweep is searched too, its + kept
    assert list(space.params) == ["optim.lr", "init.gain"]
    assert space.params["init.gain"].key == "+init.gain"
    assert space.fixed == [
        "trainer.max_epochs=3",
        "hparams_search=mlp_optuna",
        "data.batch_size=16",
        "~callbacks.fail_at",
    ]


def test_a_trials_overrides_read_back_as_its_values():
    space = search_space(
        {"a": "choice([256, 128], 'two words', x)", "b": "tag(log, interval(0.00001, 0.1))", "c": "range(1, 4)"},
        ["d=7"],
    )
    assert space.distributions()["a"].choices == ("[256,128]", r"two\ words", "x")  # each as its override says it
    overrides = space.overrides({"a": r"two\ words", "b": 1e-05, "c": 3})
    assert overrides == [r"a=two\ words", "b=1e-05", "c=3", "d=7"]
    parsed = {o.key_or_group: o.value() for o in OverridesParser.create().parse_overrides(overrides)}
    assert parsed == {"a": "two words", "b": 1e-05, "c": 3, "d": 7}
    assert space.overrides({"a": "[256,128]", "b": 0.1, "c": 1})[0] == "a=[256,128]"


@pytest.mark.parametrize(
    "values, problem",
    [
        ({"a": "[256, 128]", "b": 0.5, "c": 2}, "a='\\[256, 128\\]' is not in its search space"),  # not as written
        ({"a": "x", "b": 1.5, "c": 2}, "b=1.5 is not in its search space"),
        ({"a": "x", "b": 0.5, "c": 4}, "c=4 is not in its search space"),  # range(1, 4) stops at 3
        ({"a": "x", "b": 0.5, "c": 2.0}, "c=2.0 is not in its search space"),
        ({"a": "x", "b": 0.5}, r"params \['a', 'b'\] does not fit the search over \['a', 'b', 'c'\]"),
    ],
)
def test_values_outside_the_space_are_refused(values, problem):
    """A trial read back from a study (resume_sweep=true) gets overrides only for values of this space."""
    space = search_space({"a": "choice([256, 128], x)", "b": "interval(0, 1)", "c": "range(1, 4)"}, [])
    with pytest.raises(ConfigError, match=problem):
        space.overrides(values)


@pytest.mark.parametrize(
    "value, why",
    [
        ("glob(*)", "Glob cannot be searched"),
        ("tag(log, interval(0, 1))", r"tag\(log, ...\) needs low > 0"),
        ("interval(2, 1)", "needs finite low < high"),
        ("range(1, 2)", "holds one value"),
        ("range(3, 1)", "holds no value"),
        ("tag(log, range(1, 9, 2))", "needs step 1"),
        ("tag(log, choice(1, 2))", "not to a choice"),
        ("tag(loog, interval(1, 2))", r"unknown tag \['loog'\]"),
        ("choice(1, 1)", "distinct values"),
        ("interval(1,", "cannot be read"),
    ],
)
def test_bad_params_are_one_line_naming_the_param_and_what_is_accepted(value, why):
    with pytest.raises(ConfigError, match=why) as err:
        search_space({"optim.lr": value}, [])
    message = str(err.value)
    assert message.startswith(f"hydra.sweeper.params.optim.lr={value}")
    assert "accepted: choice(a, b, ...)" in message and "interval(low, high)" in message
    assert "\n" not in message


def test_the_grid_of_discrete_params_and_a_continuous_one_refused():
    space = search_space({"a": "choice(x, y)", "b": "range(1, 7, 2)", "c": "range(0.5, 1.5, 0.5)"}, [])
    assert space.grid() == {"a": ["x", "y"], "b": [1, 3, 5], "c": [0.5, 1.0]}
    with pytest.raises(ConfigError, match="grid needs a finite set of values, and b is"):
        search_space({"b": "interval(0, 1)"}, []).grid()


@pytest.mark.parametrize("preset", ["mlp_optuna", "lr_optuna"])
def test_each_hparams_search_preset_is_an_optuna_search(preset):
    from hydra import compose, initialize_config_dir

    from lit_hw.config.config_dir import config_dir
    from lit_hw.sweeps.optuna.search import build_sampler

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[f"hparams_search={preset}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.lit_hw_optuna.optuna_sweeper.OptunaSweeper"
    assert (sweeper.direction, sweeper.study_name, sweeper.storage) == ("maximize", preset, None)
    space = search_space(dict(sweeper.params), [])
    assert "optim.lr" in space.params and space.params["optim.lr"].distribution.log
    assert type(build_sampler(sweeper.sampler, space)).__name__ == "TPESampler"
    # hydra/launcher=stacked stacks a batch's trials only if they differ in optimizer scalars, init, seed
    assert (set(space.params) <= STACKABLE_KEYS) == (preset == "lr_optuna")
