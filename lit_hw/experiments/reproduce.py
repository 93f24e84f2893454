"""Regenerate the whole write-up (``python -m lit_hw.reproduce [fast=true]``, ``make reproduce``).

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
from functools import partial
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from lit_hw.core.errors import ConfigError
from lit_hw.core.tables import markdown_table
from lit_hw.experiments.claims import CLAIM_RUNS, MNIST_CLAIM_RUNS, SINGLE_RUNS
from lit_hw.experiments.report_sections import (
    MNIST_SECTIONS,
    autoencoder_section,
    mnist_section,
    mnist_source_line,
    rel,
    sweep_section,
    theory_section,
    toy_section,
)
from lit_hw.run.run_info import versions

log = logging.getLogger("lit_hw.reproduce")
# claims last: it reads the runs of the others (lit_hw/experiments/claims/)
SECTIONS = ("toy", "toy_signals", *MNIST_SECTIONS, "theory", *CLAIM_RUNS, "claims")
# the sections that are a multirun of their preset's sweep (conf/experiment/<section>.yaml: hydra.sweeper.params)
SWEEP_PRESETS = ("lr_sweep", "init_sweep")


# -- running the sections -------------------------------------------------------------------
def train_command(section: str, run_dir: Path, cfg: DictConfig) -> list[str]:
    if section in SWEEP_PRESETS:
        args = ["-m", f"experiment={section}", f"hydra.sweep.dir={run_dir}"]
    elif section in ("toy", "toy_signals"):  # multiruns by their own config (hydra.mode=MULTIRUN)
        args = [f"experiment={section}", f"hydra.sweep.dir={run_dir}"]
    elif section in CLAIM_RUNS:
        where = "run" if section in SINGLE_RUNS else "sweep"
        args = [*CLAIM_RUNS[section], f"hydra.{where}.dir={run_dir}"]
    else:
        args = [f"experiment={section}", f"hydra.run.dir={run_dir}"]
    if section in MNIST_SECTIONS or section in MNIST_CLAIM_RUNS:
        args += [
            f"data.{key}={cfg[name]}"
            for name, key in (("data_source", "source"), ("data_dir", "data_dir"))
            if cfg.get(name) is not None
        ]
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
            code = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=cfg.section_timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    return {
        "section": section,
        "run_dir": run_dir,
        "log": log_file,
        "returncode": code,
        "seconds": round(time.perf_counter() - start, 1),
        "command": " ".join(["python", *command[1:]]),
    }


def write_report(
    report_dir: Path,
    cfg: DictConfig,
    results: dict[str, dict],
    theory: dict | None,
    seconds: float,
    claims: str | None = None,
) -> Path:
    parts = [
        f"# lit_hw report — {datetime.now():%Y-%m-%d %H:%M}\n",
        f"Mode: {'**fast** (small settings: the numbers only show that everything runs)' if cfg.fast else 'full'}; "
        f"total time {seconds:.0f} s. Versions: {json.dumps(versions())}\n",
        mnist_source_line(results),
    ]
    status = [
        [
            name,
            "ok" if r["returncode"] == 0 else f"failed ({r['returncode']})",
            f"{r['seconds']:.0f}",
            f"[log]({rel(r['log'], report_dir)})",
        ]
        for name, r in results.items()
    ]
    parts.append(markdown_table(["section", "exit", "seconds", "log"], status))
    titles = {
        "toy": "Toy functions: linear vs ConvNet",
        "toy_signals": "Toy signals (1-D): linear vs ConvNet",
        "mnist": "MNIST classifiers",
        "lr_sweep": "Learning-rate sweep",
        "init_sweep": "Initialization sweep",
        "autoencoder": "Autoencoder vs PCA",
        "theory": "Theory checks",
        "claims": "Claims",
    }
    mnist = [results[s] for s in ("mnist_linear", "mnist_mlp", "mnist_cnn") if s in results]
    for section in cfg.sections:
        if section in CLAIM_RUNS:  # their numbers are in the Claims section
            continue
        if section.startswith("mnist_"):
            if mnist and section == next(s for s in cfg.sections if s.startswith("mnist_")):
                parts.append(f"## {titles['mnist']}\n\n" + mnist_section(mnist, report_dir))
            continue
        body = {
            "toy": lambda: toy_section(results["toy"], report_dir, cfg.fast),
            "toy_signals": lambda: toy_section(results["toy_signals"], report_dir, cfg.fast),
            "lr_sweep": lambda: sweep_section(results["lr_sweep"], report_dir, "optim.lr", "lr"),
            "init_sweep": lambda: sweep_section(results["init_sweep"], report_dir, "init.scheme", "init"),
            "autoencoder": lambda: autoencoder_section(results["autoencoder"], report_dir, cfg.fast),
            "theory": lambda: theory_section(theory) if theory else "_the theory checks failed (see the log)._\n",
            "claims": lambda: claims or "_the claims could not be measured (see logs/claims.log)._\n",
        }[section]()
        parts.append(f"## {titles[section]}\n\n{body}")
    path = report_dir / "REPORT.md"
    path.write_text("\n".join(parts))
    return path


def in_process(section: str, report_dir: Path, compute, command: str) -> tuple[dict, object]:
    """Run ``compute()`` here (no train subprocess): its result record and value (None when it raised)."""
    start = time.perf_counter()
    log_file = report_dir / "logs" / f"{section}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    value, code = None, 0
    try:
        value = compute()
        log_file.write_text("ok\n")
    except Exception as err:  # reported in REPORT.md; the other sections still count
        log.exception("section %s failed", section)
        log_file.write_text(f"{type(err).__name__}: {err}")
        code = 1
    record = {
        "section": section,
        "run_dir": report_dir,
        "log": log_file,
        "returncode": code,
        "seconds": round(time.perf_counter() - start, 1),
        "command": command,
    }
    return record, value


def reproduce(cfg: DictConfig) -> Path:
    unknown = [s for s in cfg.sections if s not in SECTIONS]
    if unknown:
        raise ConfigError(f"sections: {', '.join(map(str, unknown))} unknown; choose from {', '.join(SECTIONS)}")
    report_dir = Path(HydraConfig.get().runtime.output_dir)
    start = time.perf_counter()
    results, theory, claims = {}, None, None
    for section in cfg.sections:
        if section == "theory":
            from lit_hw.experiments.theory import run_all

            results["theory"], theory = in_process("theory", report_dir, run_all, "lit_hw.experiments.theory.run_all()")
            if theory is not None:
                (report_dir / "logs" / "theory.log").write_text(json.dumps(theory, indent=2))
        elif section == "claims":
            from lit_hw.experiments.claims.section import claims_section

            compute = partial(claims_section, results, theory, cfg.fast)
            results["claims"], claims = in_process(
                "claims", report_dir, compute, "lit_hw.experiments.claims.section.claims_section()"
            )
        else:
            results[section] = run_section(section, report_dir, cfg)
            if results[section]["returncode"] != 0:
                log.error(
                    "section %s failed (exit %s): see %s",
                    section,
                    results[section]["returncode"],
                    results[section]["log"],
                )
    path = write_report(report_dir, cfg, results, theory, time.perf_counter() - start, claims)
    log.info("report: %s", path.resolve())
    print(f"report: {path.resolve()}")
    if any(r["returncode"] != 0 for r in results.values()):
        raise SystemExit(1)
    return path
