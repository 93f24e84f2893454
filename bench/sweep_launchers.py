"""Wall time of one 6-job sweep: hydra/launcher=gpu_pool on 2 CPU slots vs Hydra's basic launcher.

    python -m bench.sweep_launchers [--jobs 6] [--epochs 2] [--slots 2]

Both run the same ``python -m lit_hw.train -m`` sweep (MLP, lr 0.001..., the bundled genuine
MNIST digits as IDX files, TensorBoard off), one after the other in this one run. The basic
launcher runs the jobs one by one in the sweep process; gpu_pool runs ``--slots`` at a time,
each in a fresh process (which pays Python/torch/Lightning start-up per job) with the cores
split between them. Printed: both wall times and basic / gpu_pool (> 1 means gpu_pool is faster).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.mnist_files import write_bundled_mnist

LRS = ["0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3"]


def run_sweep(launcher: list[str], sweep_dir: Path, data_dir: Path, jobs: int, epochs: int) -> float:
    command = [
        sys.executable,
        "-m",
        "lit_hw.train",
        "-m",
        *launcher,
        f"hydra.sweep.dir={sweep_dir}",
        "model=mlp",
        "data.source=local",
        f"data.data_dir={data_dir}",
        f"trainer.max_epochs={epochs}",
        "logger=none",
        "callbacks.progress_bar.refresh_rate=0",
        f"optim.lr={','.join(LRS[:jobs])}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({' '.join(launcher) or 'basic'}):\n{proc.stderr[-3000:]}")
    done = len(list(sweep_dir.glob("*/metrics.json")))
    if done != jobs:
        raise SystemExit(f"expected {jobs} finished jobs in {sweep_dir}, found {done}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6, choices=range(1, len(LRS) + 1))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir = write_bundled_mnist(tmp / "mnist", n_test=1_000)
        slots = "[" + ",".join(str(i) for i in range(args.slots)) + "]"
        basic = run_sweep([], tmp / "basic", data_dir, args.jobs, args.epochs)
        pool = run_sweep(
            ["hydra/launcher=gpu_pool", f"hydra.launcher.slots={slots}"], tmp / "pool", data_dir, args.jobs, args.epochs
        )
    print(f"{args.jobs}-job sweep, {args.epochs} epochs each (MLP, 4,000 genuine MNIST digits), CPU")
    print(f"  basic launcher           {basic:7.1f} s")
    print(f"  gpu_pool, {args.slots} CPU slots     {pool:7.1f} s")
    print(f"  basic / gpu_pool          {basic / pool:6.2f}x")


if __name__ == "__main__":
    main()
