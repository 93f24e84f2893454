"""The rules that turn the claims' numbers into verdicts (lit_hw.experiments.claims.rules), on both sides
of each threshold, and the Claims section built from run dirs laid out as reproduce leaves them."""

from __future__ import annotations

import json
import math
from pathlib import Path

from lit_hw.experiments.claims import rules
from lit_hw.experiments.claims.code_spread import class_spread
from lit_hw.experiments.claims.measure import claim_activations
from lit_hw.experiments.claims.section import CLAIMS, measure_claims

NAN = math.nan


def test_toy_learning_needs_linear_only_linear_and_the_convnet_everywhere():
    linear = {"linear": 0.999, "max": -2.5, "logsumexp": -1.6}
    assert rules.toy_learning(linear, {"linear": 0.95, "max": 0.93, "logsumexp": 0.91})
    assert not rules.toy_learning(linear, {"linear": 0.86, "max": 0.71, "logsumexp": 0.81})
    assert not rules.toy_learning({**linear, "max": 0.6}, {"linear": 0.95, "max": 0.93, "logsumexp": 0.91})
    assert not rules.toy_learning({**linear, "linear": 0.8}, {"linear": 0.95, "max": 0.93, "logsumexp": 0.91})
    assert not rules.toy_learning(linear, {"linear": 0.95, "max": NAN, "logsumexp": 0.91})


def test_convex_vs_init():
    assert rules.convex_vs_init(0.0, 0.69)
    assert not rules.convex_vs_init(0.01, 0.69)  # the linear model ended at different weights
    assert not rules.convex_vs_init(0.0, 0.01)  # the convnet did not care about its init
    assert not rules.convex_vs_init(NAN, 0.69)


def test_mean_comparisons():
    assert rules.wins_most([(0.92, 0.91), (0.97, 0.96)])
    assert not rules.wins_most([(0.92, 0.91), (0.95, 0.96)])  # one of two is not "most"
    assert rules.wins_most([(0.92, 0.91), (0.95, 0.96), (0.9, 0.8)])
    assert not rules.wins_most([])
    assert rules.slightly_better(0.975, 0.965)
    assert not rules.slightly_better(0.975, 0.9)  # much better is not "slightly"
    assert not rules.slightly_better(0.96, 0.965)
    assert rules.helps(0.98, 0.97) and not rules.helps(0.97, 0.98) and not rules.helps(0.98, NAN)


def test_costly_small_gain():
    assert rules.costly_small_gain(0.950, 0.955, 1.0, 2.0)
    assert rules.costly_small_gain(0.950, 0.940, 1.0, 1.5)  # a loss is no big gain either
    assert not rules.costly_small_gain(0.90, 0.95, 1.0, 2.0)  # a big gain
    assert not rules.costly_small_gain(0.950, 0.955, 1.0, 1.2)  # hardly more time


def test_learning_rate_curve_rules():
    assert rules.keeps_rising([0.5, 0.8, 0.85, 0.9]) and not rules.keeps_rising([0.5, 0.9, 0.9, 0.88])
    assert rules.collapse_epoch([0.3, 0.6, 0.9, 0.1, 0.1]) == 3
    assert rules.collapse_epoch([0.3, 0.35, 0.3]) is None  # never learned: nothing to collapse from
    assert rules.collapse_epoch([0.9, 0.9, NAN]) == 2  # a NaN after learning is a collapse
    accs = [0.9] * 50 + [0.1] * 10
    assert rules.collapses_late(accs, 60) and not rules.collapses_late([0.9] * 5 + [0.1] * 55, 60)
    assert rules.at_chance_throughout([0.1, 0.09, NAN]) and not rules.at_chance_throughout([0.1, 0.3])
    assert rules.curves_close([0.01, -0.04]) and not rules.curves_close([0.01, 0.07]) and not rules.curves_close([])


def test_threshold_and_zero_init_rules():
    assert rules.within(1e-13, 1e-12) and not rules.within(1e-11, 1e-12) and not rules.within(NAN, 1)
    assert rules.zero_init_stuck(0.0, 0.0, [64, 64], 64)
    assert not rules.zero_init_stuck(1e-9, 0.0, [64, 64], 64)
    assert not rules.zero_init_stuck(0.0, 0.0, [64, 1], 64)
    assert rules.beats(0.03, 0.05, 0.7, 0.4) and not rules.beats(0.03, 0.05, 0.3, 0.4)
    assert rules.verdict(True) == "holds" and rules.verdict(False) == "does not hold"


def test_class_spread_grows_as_the_digits_move_apart():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 50)
    noise = rng.normal(size=(150, 2))
    centres = np.array([[0, 0], [1, 0], [0, 1]])[labels]
    near, far = class_spread(centres + noise, labels), class_spread(5 * centres + noise, labels)
    assert far > 10 * near
    assert math.isclose(class_spread(3 * (centres + noise), labels), near)  # scale-free


def test_claims_section_rows_follow_the_rules(tmp_path):
    """Two claims from run dirs made here; the others say what is missing and do not hold."""
    toy = tmp_path / "toy"
    toy.mkdir()
    scores = {
        "toy4_linear": {"r2_linear": 0.9999, "r2_max": -2.5, "r2_logsumexp": -1.6},
        "toy4_convnet": {"r2_linear": 0.86, "r2_max": 0.71, "r2_logsumexp": 0.81},
    }
    (toy / "toy_comparison.json").write_text(json.dumps(scores))
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    spread = {
        "toy4_linear": {"seeds": 5, "weight_rel_spread": 0.0, "test_loss_mean": 12.0, "test_loss_std": 0.0},
        "toy4_convnet": {"seeds": 5, "weight_rel_spread": 2.0, "test_loss_mean": 5.7, "test_loss_std": 3.9},
    }
    spread["toy4_convnet"]["test_loss_cv"] = 3.9 / 5.7
    (seeds / "toy_seeds.json").write_text(json.dumps(spread))
    results = {
        "toy": {"run_dir": toy, "returncode": 0, "command": "python -m lit_hw.train experiment=toy hydra.sweep.dir=x"},
        "toy_seeds": {"run_dir": seeds, "returncode": 0, "command": "python -m lit_hw.train experiment=toy_seeds"},
    }
    theory = {
        "shared_threshold": {"trials": 20, "max_abs_output_diff": 2e-15},
        "sigmoid_from_output": {"gradcheck": True, "max_abs_grad_diff_vs_torch_sigmoid": 3e-8},
        "zero_init": {
            "steps": 20,
            "hidden_units": 64,
            "most_frequent_class_fraction": 0.11,
            "zero": {"max_abs_hidden_weight_grad": 0.0, "max_abs_hidden_weight": 0.0, "train_accuracy": 0.11},
            "he_after_one_step": {"distinct_hidden_units": 64},
            "xavier_after_one_step": {"distinct_hidden_units": 64},
        },
    }
    rows = measure_claims(results, theory)
    assert len(rows) == len(CLAIMS) == 12
    verdicts = {r["claim"]: r["holds"] for r in rows}
    assert verdicts[1] is False and "toy4_convnet test R² linear 0.8600" in rows[0]["numbers"]
    assert verdicts[2] is True and verdicts[8] is True and verdicts[9] is True and verdicts[10] is True
    assert "`python -m lit_hw.train experiment=toy`" == rows[0]["commands"]
    assert rows[2]["numbers"].startswith("not measured: section claim_optimizers did not run")
    assert not any(verdicts[n] for n in (3, 4, 5, 6, 7, 11, 12))


def fake_mlp_jobs(sweep: Path, jobs: list[tuple[str, str, str, float]]) -> None:
    """Job dirs as a sweep leaves them: metrics.json and config_resolved.yaml (model, optimizer, activation)."""
    for number, (model, optim, activation, acc) in enumerate(jobs):
        job = sweep / f"{number}_job"
        job.mkdir(parents=True)
        (job / "metrics.json").write_text(json.dumps({"status": "ok", "final": {"test/acc": acc}}))
        config = {"model": {"_target_": f"lit_hw.nets.{model}", "activation": activation},
                  "optim": {"_target_": f"torch.optim.{optim}"}}  # fmt: skip
        (job / "config_resolved.yaml").write_text(json.dumps(config))  # JSON is YAML


def test_the_relu_side_of_claim_4_is_claim_3s_mlp_with_adam(tmp_path):
    """Claim 4 trains only the sigmoid MLPs; its ReLU numbers are claim 3's MLPs with Adam, not its SGD ones
    nor its linear models."""
    optimizers, activations = tmp_path / "optimizers", tmp_path / "activations"
    fake_mlp_jobs(optimizers, [("MLP", "Adam", "relu", 0.92), ("MLP", "Adam", "relu", 0.93), ("MLP", "SGD", "relu", 0.5),
                               ("LinearNet", "Adam", None, 0.1)])  # fmt: skip
    fake_mlp_jobs(activations, [("MLP", "Adam", "sigmoid", 0.91), ("MLP", "Adam", "sigmoid", 0.915)])
    results = {name: {"run_dir": path, "returncode": 0, "command": f"python -m lit_hw.train {name}"}
               for name, path in (("claim_optimizers", optimizers), ("claim_activations", activations))}  # fmt: skip
    numbers, holds = claim_activations(results, None)
    assert "relu 0.9250" in numbers and "(n=2)" in numbers and "sigmoid 0.9125" in numbers
    assert holds is True
    fake_mlp_jobs(tmp_path / "worse", [("MLP", "Adam", "sigmoid", 0.95)])
    results["claim_activations"]["run_dir"] = tmp_path / "worse"
    assert claim_activations(results, None)[1] is False
    row = measure_claims(results, None)[3]
    assert row["commands"] == "`python -m lit_hw.train claim_optimizers`<br>`python -m lit_hw.train claim_activations`"
