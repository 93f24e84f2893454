"""``hydra.sweeper.params`` and the command line's overrides as an Optuna search space.

The syntax is hydra-optuna-sweeper's, read by Hydra's own override parser:

  key: choice(a, b, c)   or  a,b,c       categorical; each value as Hydra reads it (numbers, strings, lists)
  key: range(start, stop[, step])          integers (floats if a bound or the step is a float), the values
                                           Hydra's range gives: stop excluded; tag(log, range(...)) with step 1
  key: interval(low, high)                 a float, uniform in [low, high]
  key: tag(log, interval(low, high))       a float, log-uniform (low > 0)
  key: value                               fixed: every trial gets it as it is

A command-line override of a key takes the place of its ``params`` entry (``optim.lr=0.01`` fixes it).
Optuna stores a categorical choice that is not a number, a bool or null as its override text
(``[256,128]``), which is also what the trial's override says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from hydra.errors import HydraException
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from lit_hw.core.errors import ConfigError, one_line

ACCEPTED = (
    "choice(a, b, ...), a,b,..., range(start, stop[, step]), interval(low, high), tag(log, interval(low, high)) "
    "or a fixed value"
)
NATIVE_CHOICES = (bool, int, float, type(None))


@dataclass(frozen=True)
class Param:
    """One searched key: the key as its override writes it (``+`` prefixes kept) and its distribution."""

    key: str
    distribution: BaseDistribution

    @property
    def name(self) -> str:
        """Its name in the study (and on optuna-dashboard): the key without ``+``/``++``."""
        return self.key.lstrip("+")

    def override(self, value) -> str:
        """``key=value`` as Hydra reads it back; ``value`` must lie in the distribution."""
        if not contains(self.distribution, value):
            raise ConfigError(f"{self.name}={value!r} is not in its search space {self.distribution}")
        if isinstance(self.distribution, CategoricalDistribution) and isinstance(value, str):
            return f"{self.key}={value}"  # the choice is stored as its override text
        return f"{self.key}={Transformer.str(value)}"


@dataclass
class SearchSpace:
    params: dict[str, Param] = field(default_factory=dict)  # by name
    fixed: list[str] = field(default_factory=list)  # overrides every trial gets as they are

    def distributions(self) -> dict[str, BaseDistribution]:
        return {name: param.distribution for name, param in self.params.items()}

    def overrides(self, values: dict) -> list[str]:
        """A trial's overrides: one per searched key (``values`` by name), then the fixed ones."""
        if set(values) != set(self.params):
            raise ConfigError(
                f"a trial with params {sorted(values)} does not fit the search over {sorted(self.params)}"
            )
        return [param.override(values[name]) for name, param in self.params.items()] + list(self.fixed)

    def grid(self) -> dict[str, list]:
        """Every value of each param, for Optuna's GridSampler; a ConfigError for a continuous one."""
        grid = {}
        for name, param in self.params.items():
            values = grid_values(param.distribution)
            if values is None:
                raise ConfigError(
                    f"hydra/sweeper/sampler=grid needs a finite set of values, and {name} is {param.distribution}; "
                    "give it as choice(...) or range(...)"
                )
            grid[name] = values
        return grid


def contains(distribution: BaseDistribution, value) -> bool:
    """``value`` is one that ``distribution`` can give (a trial read back from a study is checked so)."""
    if isinstance(distribution, CategoricalDistribution):
        return any(type(value) is type(choice) and value == choice for choice in distribution.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(distribution, IntDistribution) and not isinstance(value, int):
        return False
    return distribution.low <= value <= distribution.high


def grid_values(distribution: BaseDistribution) -> list | None:
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, IntDistribution) and not distribution.log:
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    if isinstance(distribution, FloatDistribution) and distribution.step is not None:
        count = round((distribution.high - distribution.low) / distribution.step) + 1
        return [distribution.low + i * distribution.step for i in range(count)]
    return None


def search_space(params: dict | None, arguments: list[str]) -> SearchSpace:
    """The search over ``params`` (hydra.sweeper.params) and the command line's ``arguments``."""
    lines = [(f"{key}={value}", "hydra.sweeper.params.") for key, value in (params or {}).items()]
    parser = OverridesParser.create()
    space = SearchSpace()
    by_key: dict[str, str] = {}  # name -> its fixed override, so a later one replaces an earlier one
    for line, where in lines + [(argument, "") for argument in arguments]:
        try:
            (override,) = parser.parse_overrides([line])
        except HydraException as err:
            raise ConfigError(f"{where}{line} cannot be read: {one_line(err)}; accepted: {ACCEPTED}") from None
        name = override.get_key_element().lstrip("+")
        space.params.pop(name, None)
        by_key.pop(name, None)
        if override.is_sweep_override():
            space.params[name] = Param(override.get_key_element(), distribution(override, where))
        else:
            by_key[name] = override.input_line or f"{override.get_key_element()}={override.get_value_element_as_str()}"
    space.fixed = list(by_key.values())
    return space


def distribution(override: Override, where: str = "") -> BaseDistribution:
    """The Optuna distribution of one sweep override; a ConfigError naming it for anything else."""
    text = override.input_line or override.get_key_element()
    value = override.value()
    tags = set(getattr(value, "tags", None) or ())

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"{where}{text}: {why}; accepted: {ACCEPTED}")

    if tags - {"log"}:
        raise refuse(f"unknown tag {sorted(tags - {'log'})} (only log)")
    if isinstance(value, ChoiceSweep):
        if "log" in tags:
            raise refuse("log applies to interval(...) or range(...), not to a choice")
        choices = [c if isinstance(c, NATIVE_CHOICES) else Transformer.str(c) for c in value.list]
        if not choices or len(set(map(repr, choices))) != len(choices):
            raise refuse("a choice needs distinct values")
        return CategoricalDistribution(choices)
    if isinstance(value, RangeSweep):
        return range_distribution(list(override.sweep_iterator()), value, "log" in tags, refuse)
    if isinstance(value, IntervalSweep):
        low, high = float(value.start), float(value.end)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise refuse("an interval needs finite low < high")
        if "log" in tags and low <= 0:
            raise refuse("tag(log, ...) needs low > 0")
        return FloatDistribution(low, high, log="log" in tags)
    raise refuse(f"{type(value).__name__} cannot be searched")


def range_distribution(values: list, sweep: RangeSweep, log: bool, refuse) -> BaseDistribution:
    if not values:
        raise refuse("the range holds no value")
    if len(values) == 1:
        raise refuse("the range holds one value; give it as a fixed value")
    low, high = min(values), max(values)  # Hydra's own values: stop excluded, a negative step too
    step = abs(sweep.step)
    if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
        if log and step != 1:
            raise refuse("tag(log, range(...)) needs step 1")
        return IntDistribution(low, high, log=log, step=1 if log else step)
    if log:
        raise refuse("tag(log, range(...)) needs integers; use tag(log, interval(low, high)) for floats")
    return FloatDistribution(float(low), float(low + step * (len(values) - 1)), step=float(step))
