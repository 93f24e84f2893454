"""How much the toy models' results depend on their init: ``python -m lit_hw.train experiment=toy_seeds``.

Both models of experiment=toy are trained from 5 seeds on the same data (data.seed fixed), so only
the init differs. ``SeedSpread.on_multirun_end`` then writes <sweep_dir>/toy_seeds.json (and .md),
per model, from each job's checkpoints/last.ckpt (the final weights) and metrics.json:

  weight_rel_spread   max over weights and seeds of |w_seed - mean over seeds|, divided by the largest
                      |mean weight|: 0 when every seed ends at the same weights
  test_loss           mean, std and coefficient of variation (std / mean) of test/loss over the seeds
  r2_<target>         mean test R² per target

For a finished sweep by hand: ``python -m lit_hw.experiments.toy_seeds <sweep_dir>``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import torch
from hydra.experimental.callback import Callback

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.errors import UserError
from lit_hw.core.run_files import read_metrics
from lit_hw.core.tables import markdown_table
from lit_hw.experiments.toy_comparison import NET_LABELS
from lit_hw.tasks.checkpoints import load_checkpoint


def final_weights(run_dir: Path) -> tuple[str, torch.Tensor]:
    """(model name, all net weights flattened) from the run's last checkpoint."""
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    target = checkpoint["hyper_parameters"]["net"]["_target_"].rsplit(".", 1)[-1]
    weights = [v.double().flatten() for k, v in sorted(checkpoint["state_dict"].items()) if k.startswith("net.")]
    return NET_LABELS.get(target, target), torch.cat(weights)


def seed_spread(sweep_dir: str | Path) -> dict:
    """Per model: the spread of final weights and test metrics over the sweep's jobs (its seeds)."""
    runs: dict[str, list[tuple[torch.Tensor, dict]]] = {}
    for metrics in sorted(Path(sweep_dir).glob("*/metrics.json")):
        if not (metrics.parent / "checkpoints" / "last.ckpt").is_file():
            continue
        name, weights = final_weights(metrics.parent)
        runs.setdefault(name, []).append((weights, (read_metrics(metrics.parent) or {}).get("final", {})))
    if not runs:
        raise UserError(f"no toy run with checkpoints/last.ckpt under {sweep_dir}")
    table = {}
    for name, jobs in runs.items():
        weights = torch.stack([w for w, _ in jobs])
        mean = weights.mean(dim=0)
        losses = [final["test/loss"] for _, final in jobs if "test/loss" in final]
        r2_keys = sorted({k for _, final in jobs for k in final if k.startswith("test/r2_")})
        loss_mean = statistics.fmean(losses) if losses else float("nan")
        loss_std = statistics.stdev(losses) if len(losses) > 1 else float("nan")
        table[name] = {
            "seeds": len(jobs),
            "weight_rel_spread": float((weights - mean).abs().max() / mean.abs().max().clamp_min(1e-300)),
            "test_loss_mean": loss_mean,
            "test_loss_std": loss_std,
            "test_loss_cv": loss_std / loss_mean if loss_mean else float("nan"),
            **{k.removeprefix("test/"): statistics.fmean(f[k] for _, f in jobs if k in f) for k in r2_keys},
        }
    return table


def write_seed_spread(sweep_dir: str | Path) -> dict:
    table = seed_spread(sweep_dir)
    write_atomic(Path(sweep_dir) / "toy_seeds.json", json.dumps(table, indent=2))
    columns = ["seeds", "weight_rel_spread", "test_loss_mean", "test_loss_std", "test_loss_cv"]
    rows = [[name, *[values[c] for c in columns]] for name, values in table.items()]
    write_atomic(Path(sweep_dir) / "toy_seeds.md", markdown_table(["model", *columns], rows))
    return table


class SeedSpread(Callback):
    """Hydra callback: after the multirun, the spread over seeds of each toy model."""

    def on_multirun_end(self, config, **kwargs) -> None:
        table = write_seed_spread(config.hydra.sweep.dir)
        print(f"seed spread written to {Path(config.hydra.sweep.dir).resolve()}/toy_seeds.md")
        for name, values in table.items():
            print(name, {k: round(v, 6) for k, v in values.items() if k != "seeds"})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m lit_hw.experiments.toy_seeds <sweep_dir>")
    write_seed_spread(sys.argv[1])
