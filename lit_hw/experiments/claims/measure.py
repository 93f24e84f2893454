"""The numbers behind each claim, read from the run dirs of ``python -m lit_hw.reproduce``.

``measure_claims(results, theory)`` returns one row per claim: its text, the sections whose commands
it ran, the numbers (a short text) and the verdict of its rule (lit_hw.experiments.claims.rules).
A claim whose runs are missing or failed gets 'does not hold' with the reason as its numbers.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from lit_hw.experiments.claims import rules
from lit_hw.experiments.report_sections import read_run, sweep_jobs
from lit_hw.sweeps.summary.seed_groups import mean_std_ci95

TOY_TARGETS = ("linear", "max", "logsumexp")


class Missing(Exception):
    """A run the claim needs is not there (failed, or its section was not run)."""


def run_dir(results: dict, section: str) -> Path:
    if section not in results or results[section]["returncode"] != 0:
        raise Missing(f"section {section} {'did not run' if section not in results else 'failed'}")
    return results[section]["run_dir"]


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise Missing(f"{path.name} was not written")
    return json.loads(path.read_text())


def grouped(results: dict, section: str, key: Callable[[dict], object], metric: str = "test/acc") -> dict:
    """Values of ``metric`` of the section's jobs, grouped by ``key(config)``."""
    groups = defaultdict(list)
    for job in sweep_jobs(run_dir(results, section)):
        if job.get("status") == "ok" and isinstance(job.get("final", {}).get(metric), (int, float)):
            groups[key(job["config"])].append(job["final"][metric])
    if not groups:
        raise Missing(f"no finished job in section {section}")
    return groups


def ci(values: list[float]) -> str:
    mean, _, half = mean_std_ci95(values)
    return f"{mean:.4f} ± {half:.4f} (n={len(values)})" if len(values) > 1 else f"{mean:.4f} (n=1)"


def short(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


# -- the claims ---------------------------------------------------------------------------------
def claim_toy(results, theory):
    scores = read_json(run_dir(results, "toy") / "toy_comparison.json")
    linear, conv = ({t: scores.get(m, {}).get(f"r2_{t}") for t in TOY_TARGETS} for m in ("toy4_linear", "toy4_convnet"))
    text = "; ".join(
        f"{m} test R² " + ", ".join(f"{t} {r[t]:.4f}" for t in TOY_TARGETS if rules.known(r[t]))
        for m, r in (("toy4_linear", linear), ("toy4_convnet", conv))
    )
    rule = f"(rule: learns = R² ≥ {rules.LEARNS_R2}, does not learn = R² < {rules.FAILS_R2})"
    return f"{text} {rule}", rules.toy_learning(linear, conv)


def claim_seeds(results, theory):
    spread = read_json(run_dir(results, "toy_seeds") / "toy_seeds.json")
    lin, conv = spread["toy4_linear"], spread["toy4_convnet"]
    text = (
        f"over {lin['seeds']} seeds: toy4_linear final weights' relative spread {lin['weight_rel_spread']:.3g}, "
        f"test loss {lin['test_loss_mean']:.4f} ± {lin['test_loss_std']:.2g} (sd); toy4_convnet weights' relative "
        f"spread {conv['weight_rel_spread']:.3g}, test loss {conv['test_loss_mean']:.4f} ± {conv['test_loss_std']:.4f} "
        f"(sd; CV {conv['test_loss_cv']:.3f}) (rule: linear spread ≤ {rules.SAME_SOLUTION_REL_SPREAD:g} and convnet "
        f"test-loss CV ≥ {rules.INIT_DEPENDENT_LOSS_CV})"
    )
    return text, rules.convex_vs_init(lin["weight_rel_spread"], conv["test_loss_cv"])


def claim_optimizers(results, theory):
    groups = grouped(
        results, "claim_optimizers", lambda c: (short(c["model"]["_target_"]), short(c["optim"]["_target_"]))
    )
    models = sorted({m for m, _ in groups})
    pairs, parts = [], []
    for model in models:
        sgd, adam = groups.get((model, "SGD"), []), groups.get((model, "Adam"), [])
        pairs.append((mean(sgd), mean(adam)))
        parts.append(f"{model}: SGD+momentum {ci(sgd)} vs Adam {ci(adam)}")
    return "test acc, mean ± 95% CI: " + "; ".join(
        parts
    ) + " (rule: SGD's mean higher on most models)", rules.wins_most(pairs)


def claim_activations(results, theory):
    def mlp_with_adam(config: dict) -> tuple:
        return short(config["model"]["_target_"]), short(config["optim"]["_target_"]), config["model"].get("activation")

    # ReLU: claim 3's MLPs with Adam (the same command but for the activation, which defaults to relu)
    relu = grouped(results, "claim_optimizers", mlp_with_adam).get(("MLP", "Adam", "relu"), [])
    sigmoid = grouped(results, "claim_activations", mlp_with_adam).get(("MLP", "Adam", "sigmoid"), [])
    text = f"test acc: relu {ci(relu)}, sigmoid {ci(sigmoid)} (rule: 0 < relu − sigmoid ≤ {rules.SLIGHT_GAIN})"
    return text, rules.slightly_better(mean(relu), mean(sigmoid))


def claim_depth(results, theory):
    rows = {}
    for job in sweep_jobs(run_dir(results, "claim_depth")):
        times = job.get("epoch_train_time_s") or []
        layers = len(job["config"]["model"]["hidden_sizes"])
        # the fastest epoch: the first one also pays for warm-up, and on a shared machine the others'
        # load only ever adds time (as timeit takes the minimum)
        rows[layers] = (job.get("final", {}).get("test/acc"), min(times) if times else float("nan"))
    if 1 not in rows or 3 not in rows:
        raise Missing("the 1- or 3-hidden-layer job did not finish")
    text = "; ".join(f"{n} hidden: test acc {a:.4f}, {s:.2f} s/epoch (fastest)" for n, (a, s) in sorted(rows.items()))
    rule = f" (rule: 3 vs 1 layers gain ≤ {rules.SMALL_GAIN} and time ratio ≥ {rules.MUCH_MORE_TIME})"
    return text + rule, rules.costly_small_gain(rows[1][0], rows[3][0], rows[1][1], rows[3][1])


def claim_dropout(results, theory):
    groups = grouped(results, "claim_dropout", lambda c: float(c["model"]["dropout"]))
    with_it = max(groups)
    text = (
        f"test acc: dropout {with_it} {ci(groups[with_it])}, dropout 0 {ci(groups.get(0.0, []))}; "
        "max-pooling not varied (the ConvNet always pools; without it its dense head would take 16x more inputs) "
        "(rule: accuracy with dropout higher)"
    )
    return text, rules.helps(mean(groups[with_it]), mean(groups.get(0.0, [])))


def claim_autoencoder_depth(results, theory):
    deep, plain = (read_run(run_dir(results, s)).get("final", {}) for s in ("autoencoder", "autoencoder_plain"))
    text = (
        f"784-2-784: test MSE {plain.get('test/mse', float('nan')):.4f}, kNN acc {plain.get('test/knn_acc', float('nan')):.4f}; "
        f"784-512-128-2-128-512-784: MSE {deep.get('test/mse', float('nan')):.4f}, kNN acc {deep.get('test/knn_acc', float('nan')):.4f} "
        "(rule: the dense layers give lower MSE and higher kNN accuracy)"
    )
    return text, rules.beats(
        deep.get("test/mse"), plain.get("test/mse"), deep.get("test/knn_acc"), plain.get("test/knn_acc")
    )


def claim_autoencoder_pca(results, theory):
    from lit_hw.experiments.claims.code_spread import autoencoder_vs_pca_spread

    directory = run_dir(results, "autoencoder")
    final = read_run(directory).get("final", {})
    spread = autoencoder_vs_pca_spread(directory)
    get = lambda k: final.get(k, float("nan"))  # noqa: E731
    text = (
        f"AE: MSE {get('test/mse'):.4f}, kNN {get('test/knn_acc'):.4f}, silhouette {get('test/silhouette'):.3f}, "
        f"spread {spread['autoencoder']:.3f}; PCA: MSE {get('test/pca_mse'):.4f}, kNN {get('test/pca_knn_acc'):.4f}, "
        f"silhouette {get('test/pca_silhouette'):.3f}, spread {spread['pca']:.3f} (spread = between-digit / "
        "within-digit variance of the test codes; rule: AE lower MSE, higher kNN and higher spread)"
    )
    holds = rules.beats(get("test/mse"), get("test/pca_mse"), get("test/knn_acc"), get("test/pca_knn_acc"))
    return text, holds and rules.helps(spread["autoencoder"], spread["pca"])
