"""The rules that turn a claim's measured numbers into ``holds`` or ``does not hold``.

Each rule is a plain function of numbers, with its thresholds named here, so the verdicts in
REPORT.md follow from the numbers alone (tests/unit/experiments/test_claims.py checks every rule on both sides).
A rule returns True when the claim holds; a number that is missing (a run that failed) never holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# "learns" a target: test R² at least this; "does not learn": below FAILS_R2
LEARNS_R2 = 0.9
FAILS_R2 = 0.5
# "the same solution from any start": final weights' spread over seeds, relative to their size
SAME_SOLUTION_REL_SPREAD = 1e-3
# "depends on its init": test loss varies over seeds by at least this coefficient of variation
INIT_DEPENDENT_LOSS_CV = 0.05
# "slightly better": a positive accuracy gain of at most this
SLIGHT_GAIN = 0.02
# "a small gain": at most this much accuracy; "much more time": at least this ratio per epoch
SMALL_GAIN = 0.01
MUCH_MORE_TIME = 1.5
# accuracy "at chance" on 10 balanced classes: at most this; "learned": at least COLLAPSE_FROM
CHANCE_ACC = 0.2
COLLAPSE_FROM = 0.5
# "later in training": a collapse no earlier than this fraction of the epochs run
LATE_FRACTION = 0.5
# "train and test curves stay close": accuracy gap at most this
CLOSE_CURVES = 0.05


def known(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def verdict(holds: bool) -> str:
    return "holds" if holds else "does not hold"


def toy_learning(linear: Mapping[str, float], conv: Mapping[str, float]) -> bool:
    """Claim 1: r2 by target; the linear model learns only `linear`, the convnet learns all three."""
    targets = ("linear", "max", "logsumexp")
    if not known(*(linear.get(t) for t in targets), *(conv.get(t) for t in targets)):
        return False
    only_linear = linear["linear"] >= LEARNS_R2 and all(linear[t] < FAILS_R2 for t in ("max", "logsumexp"))
    return only_linear and all(conv[t] >= LEARNS_R2 for t in targets)


def convex_vs_init(linear_weight_rel_spread: float, conv_test_loss_cv: float) -> bool:
    """Claim 2: the linear model ends at one solution; the convnet's result varies with its init."""
    if not known(linear_weight_rel_spread, conv_test_loss_cv):
        return False
    return linear_weight_rel_spread <= SAME_SOLUTION_REL_SPREAD and conv_test_loss_cv >= INIT_DEPENDENT_LOSS_CV


def wins_most(pairs: Sequence[tuple[float, float]]) -> bool:
    """Claim 3: the first of each (a, b) mean pair is higher in more than half of the pairs."""
    if not pairs or not all(known(a, b) for a, b in pairs):
        return False
    return sum(a > b for a, b in pairs) > len(pairs) / 2


def slightly_better(a: float, b: float) -> bool:
    """Claim 4: a beats b, by at most SLIGHT_GAIN."""
    return known(a, b) and 0 < a - b <= SLIGHT_GAIN


def costly_small_gain(acc_shallow: float, acc_deep: float, s_shallow: float, s_deep: float) -> bool:
    """Claim 5: the deepest net gains at most SMALL_GAIN accuracy for at least MUCH_MORE_TIME x the time per epoch."""
    if not known(acc_shallow, acc_deep, s_shallow, s_deep) or s_shallow <= 0:
        return False
    return acc_deep - acc_shallow <= SMALL_GAIN and s_deep / s_shallow >= MUCH_MORE_TIME


def helps(with_it: float, without_it: float) -> bool:
    """Claim 6: accuracy with the feature is higher."""
    return known(with_it, without_it) and with_it > without_it


def keeps_rising(accs: Sequence[float]) -> bool:
    """Claim 7a: accuracy at the last epoch is above its value at the middle epoch."""
    return len(accs) >= 2 and known(*accs) and accs[-1] > accs[(len(accs) - 1) // 2]


def collapse_epoch(accs: Sequence[float]) -> int | None:
    """The first epoch (0-based) at or below CHANCE_ACC after one at or above COLLAPSE_FROM, else None."""
    learned = False
    for epoch, acc in enumerate(accs):
        if not known(acc) or (learned and acc <= CHANCE_ACC):
            return epoch if learned else None
        learned = learned or acc >= COLLAPSE_FROM
    return None


def collapses_late(accs: Sequence[float], epochs_planned: int) -> bool:
    """Claim 7b: a collapse, and not before LATE_FRACTION of the planned epochs."""
    epoch = collapse_epoch(accs)
    return epoch is not None and epoch >= LATE_FRACTION * epochs_planned


def at_chance_throughout(accs: Sequence[float]) -> bool:
    """Claim 7c: every epoch's accuracy at or below CHANCE_ACC (a NaN loss counts as chance)."""
    return bool(accs) and all(not known(a) or a <= CHANCE_ACC for a in accs)


def curves_close(gaps: Sequence[float]) -> bool:
    """Claim 7d: |train acc - test acc| at the last epoch at most CLOSE_CURVES, for every run that learned."""
    return bool(gaps) and known(*gaps) and all(abs(g) <= CLOSE_CURVES for g in gaps)


def all_hold(*parts: bool) -> bool:
    return bool(parts) and all(parts)


def beats(a_mse: float, b_mse: float, a_knn: float, b_knn: float) -> bool:
    """Claims 11, 12: lower reconstruction MSE and higher kNN accuracy of the codes."""
    return known(a_mse, b_mse, a_knn, b_knn) and a_mse < b_mse and a_knn > b_knn


def within(gap: float, bound: float) -> bool:
    """Claims 9, 10: a measured difference no larger than its bound."""
    return known(gap) and gap <= bound


def zero_init_stuck(zero_grad: float, zero_weight: float, distinct: Sequence[int], units: int) -> bool:
    """Claim 8: zero init's hidden weights get no gradient and stay 0; each other scheme has all units distinct."""
    return known(zero_grad, zero_weight) and zero_grad == 0 and zero_weight == 0 and all(d == units for d in distinct)
