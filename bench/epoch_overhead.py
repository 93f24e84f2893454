"""Epoch wall time: lit_hw vs a plain PyTorch loop vs the usual torchvision DataLoader pipeline.

    python -m bench.epoch_overhead [--models mlp linear] [--epochs 3] [--n-train 60000]
    python -m bench.epoch_overhead --spread [--runs 3] [--epochs 5]

All three train the same net class, with Adam lr 1e-3 and batch 64, on the same
60,000 MNIST-format images, one after the other in this one run:

  lit_hw      ``python -m lit_hw.train`` on the IDX files; its metrics.json
              epoch_train_time_s (first to last training batch, validation excluded)
  raw loop    a hand-written loop over the same normalized tensors (batches by slicing)
  torchvision torchvision.datasets.MNIST + ToTensor/Normalize + DataLoader(shuffle=True)

Each time is the median over epochs after the first (the first pays warm-up).
Printed ratios: lit_hw / raw (target <= 1.25 for mlp, <= 1.6 for linear) and
torchvision / lit_hw (target >= 4).

``--spread``: how steady the epochs are. lit_hw with its default config (TensorBoard logger and
progress bar on) and the plain loop, ``--runs`` runs each of ``--epochs`` epochs, alternating;
printed: median and p90 of epochs 2.. pooled over the runs, and lit_hw's p90 / the plain loop's
median (target <= 1.25 for the MLP on 55,000 images).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lit_hw.data.mnist import MNIST_MEAN, MNIST_STD, MNISTDataModule
from lit_hw.nets.linear import LinearNet
from lit_hw.nets.mlp import MLP
from lit_hw.run.cpu_speed import apply_cpu_speed_settings
from lit_hw.tasks.optim import build_optimizer
from tests.helpers.mnist_files import write_random_mnist

NETS = {"mlp": lambda: MLP(hidden_sizes=[256]), "linear": LinearNet}
BATCH = 64


def synchronize(device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def steady(times: list[float]) -> float:
    return statistics.median(times[1:] if len(times) > 1 else times)


def time_lit_hw(
    model: str, data_dir: Path, epochs: int, out: Path, device: str, default_config: bool = False
) -> list[float]:
    """lit_hw's own epoch timings; ``default_config``: logger and progress bar as a user gets them."""
    accelerator = "cpu" if device == "cpu" else "gpu"
    quiet = [] if default_config else ["logger=none", "callbacks.progress_bar.refresh_rate=0"]
    cmd = [
        sys.executable,
        "-m",
        "lit_hw.train",
        f"model={model}",
        "data.source=local",
        f"data.data_dir={data_dir}",
        f"data.batch_size={BATCH}",
        f"trainer.max_epochs={epochs}",
        f"trainer.accelerator={accelerator}",
        "test=false",
        "print_config=false",
        f"hydra.run.dir={out}",
        *quiet,
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads((out / "metrics.json").read_text())["epoch_train_time_s"]


def plain_epochs(model: str, device: str, epochs: int, batches) -> list[float]:
    """Time ``epochs`` passes of a hand-written PyTorch step over ``batches()`` (fresh each epoch)."""
    torch.manual_seed(0)
    net = NETS[model]().to(device)
    opt = build_optimizer(net.parameters(), {"_target_": "torch.optim.Adam", "lr": 1e-3})
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for xb, yb in batches():
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def time_raw_loop(model: str, data_dir: Path, epochs: int, device: str) -> list[float]:
    dm = MNISTDataModule(data_dir=str(data_dir), source="local", batch_size=BATCH)
    dm.setup("fit")
    x, y = (t.to(device) for t in dm.splits["train"].tensors)  # on a GPU, held there like lit_hw does

    def slices():
        perm = torch.randperm(len(x), device=device)
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH]
            yield x[idx], y[idx]

    return plain_epochs(model, device, epochs, slices)


def time_torchvision(model: str, data_dir: Path, epochs: int, workers: int, device: str) -> list[float]:
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    dataset = datasets.MNIST(str(data_dir), train=True, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers)

    def loaded():
        for xb, yb in loader:
            yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)

    return plain_epochs(model, device, epochs, loaded)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(model: str, data_dir: Path, epochs: int, runs: int, device: str, tmp: Path) -> dict:
    """Median and p90 of epochs 2.. over ``runs`` runs of lit_hw (default config) and of the plain loop."""
    lit, raw = [], []
    for run in range(runs):  # alternating, so a slow spell of the machine hits both
        lit += time_lit_hw(model, data_dir, epochs, tmp / f"spread_{model}_{run}", device, default_config=True)[1:]
        raw += time_raw_loop(model, data_dir, epochs, device)[1:]
    result = {
        "lit_hw_median_s": statistics.median(lit),
        "lit_hw_p90_s": percentile(lit, 0.9),
        "raw_median_s": statistics.median(raw),
        "raw_p90_s": percentile(raw, 0.9),
    }
    result["lit_p90_over_raw_median"] = result["lit_hw_p90_s"] / result["raw_median_s"]
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mlp", "linear"], choices=sorted(NETS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--torchvision-epochs", type=int, default=2)
    parser.add_argument("--torchvision-workers", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=60_000)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda to time all three on the GPU")
    parser.add_argument("--spread", action="store_true", help="epoch-time spread of the default config")
    parser.add_argument("--runs", type=int, default=3, help="--spread: runs of each")
    args = parser.parse_args(argv)
    # The baselines get the same process settings and optimizer as a lit_hw run, so the ratio
    # measures the framework, not a knob. Set after lightning's import (which changes one of
    # them) and before any torch op starts the thread pool.
    apply_cpu_speed_settings()

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = write_random_mnist(Path(tmp) / "data", n_train=args.n_train, n_test=1_000)
        print(
            f"{args.n_train} MNIST-format images, batch {BATCH}, Adam, device {args.device}, "
            f"{torch.get_num_threads()} torch threads"
        )
        if args.spread:
            epochs = max(args.epochs, 5) if args.epochs == 3 else args.epochs
            print(f"epochs 2-{epochs} of {args.runs} runs each; lit_hw with its default logger and progress bar")
            print(
                f"{'model':8} {'lit median':>11} {'lit p90':>8} {'raw median':>11} {'raw p90':>8} {'lit p90/raw med':>16}"
            )
            for model in args.models:
                r = results[model] = spread(model, data_dir, epochs, args.runs, args.device, Path(tmp))
                print(f"{model:8} {r['lit_hw_median_s']:11.3f} {r['lit_hw_p90_s']:8.3f} {r['raw_median_s']:11.3f} "
                      f"{r['raw_p90_s']:8.3f} {r['lit_p90_over_raw_median']:16.2f}")  # fmt: skip
            return results
        print(f"{'model':8} {'lit_hw s':>9} {'raw s':>8} {'torchvision s':>14} {'lit/raw':>8} {'tv/lit':>7}")
        for model in args.models:
            lit = steady(time_lit_hw(model, data_dir, args.epochs, Path(tmp) / f"run_{model}", args.device))
            raw = steady(time_raw_loop(model, data_dir, args.epochs, args.device))
            tv = steady(
                time_torchvision(model, data_dir, args.torchvision_epochs, args.torchvision_workers, args.device)
            )
            results[model] = {
                "lit_hw_s": lit,
                "raw_s": raw,
                "torchvision_s": tv,
                "lit_over_raw": lit / raw,
                "torchvision_over_lit": tv / lit,
            }
            print(f"{model:8} {lit:9.3f} {raw:8.3f} {tv:14.3f} {lit / raw:8.2f} {tv / lit:7.1f}")
    return results


if __name__ == "__main__":
    main()
