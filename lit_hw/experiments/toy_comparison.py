"""Compare the toy models of one sweep: a table of per-target R² and a truth/linear/convnet figure.

``experiment=toy`` is a two-job multirun (toy_linear, toy_convnet); Hydra calls
``ToyComparison.on_multirun_end`` when both jobs are done, which writes into the sweep dir:

  figures/toy_comparison.png   one test signal per target: truth, linear and convnet predictions
  toy_comparison.md / .json    per-target test MSE and R² of every model
  tensorboard/                 the figure as a TensorBoard image (tag toy/comparison)

For any sweep dir by hand: ``python -m lit_hw.experiments.toy_comparison <sweep_dir>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from hydra.experimental.callback import Callback

from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.errors import UserError
from lit_hw.core.run_files import read_metrics
from lit_hw.core.tables import markdown_table
from lit_hw.tasks.checkpoints import load_checkpoint
from lit_hw.tasks.loading import load_task

NET_LABELS = {"ToyLinear": "toy_linear", "ToyConvNet": "toy_convnet"}


def toy_runs(sweep_dir: Path) -> dict[str, Path]:
    """Run dirs of the sweep whose best checkpoint holds a toy model, keyed by model name."""
    runs = {}
    for metrics in sorted(Path(sweep_dir).glob("*/metrics.json")):
        ckpts = sorted((metrics.parent / "checkpoints").glob("best-*.ckpt")) or sorted(
            (metrics.parent / "checkpoints").glob("last.ckpt")
        )
        if not ckpts:
            continue
        target = load_checkpoint(ckpts[-1]).get("hyper_parameters", {}).get("net", {}).get("_target_", "")
        name = NET_LABELS.get(target.rsplit(".", 1)[-1])
        if name:
            runs[name] = ckpts[-1]
    return runs


@torch.no_grad()
def compare_toy_runs(sweep_dir: str | Path, out_dir: str | Path | None = None) -> dict:
    """Write the comparison figure and table for the toy runs under ``sweep_dir``; return the table."""
    from lit_hw.data.toy import ToyFunctionsDataModule
    from lit_hw.figures.files import save_figure
    from lit_hw.figures.plots import plot_toy_predictions
    from lit_hw.tasks.regressor import Regressor

    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir or sweep_dir)
    runs = toy_runs(sweep_dir)
    if not runs:
        raise UserError(
            f"no toy_linear/toy_convnet run with a checkpoint under {sweep_dir} (expected <sweep_dir>/*/checkpoints/best-*.ckpt)"
        )
    predictions, table, data_hparams, index = {}, {}, None, 0
    for name, ckpt in runs.items():
        task, _, checkpoint = load_task(ckpt)  # its names pass the allow rule before anything is built
        if not isinstance(task, Regressor):
            raise UserError(f"{ckpt} holds a {type(task).__name__}, not a toy Regressor; compare runs of a toy sweep")
        task.eval()
        hparams = checkpoint["lit_hw"]["data"]
        if data_hparams is None:
            data_hparams, index = hparams, task.hparams.get("figure_signal", 0)
            datamodule = ToyFunctionsDataModule(**{**hparams, "on_device": False})
            datamodule.setup("test")
            x, y = datamodule.splits["test"][index]
        elif hparams != data_hparams:
            raise UserError(
                f"{ckpt} was trained on other toy data than {next(iter(runs.values()))}; compare runs of one sweep"
            )
        predictions[name] = task(x.unsqueeze(0))[0]
        final = (read_metrics(ckpt.parents[1]) or {}).get("final", {})
        table[name] = {k.removeprefix("test/"): v for k, v in final.items() if k.startswith(("test/r2_", "test/mse_"))}
    fig = plot_toy_predictions(x[0], y, predictions, datamodule.target_names)
    writer = _summary_writer(out_dir / "tensorboard")
    save_figure(fig, out_dir / "figures" / "toy_comparison.png", writer, tag="toy/comparison")
    writer.close()
    write_atomic(out_dir / "toy_comparison.json", json.dumps(table, indent=2))
    write_atomic(out_dir / "toy_comparison.md", comparison_markdown(table, datamodule.target_names))
    return table


def comparison_markdown(table: dict, target_names) -> str:
    models = list(table)
    header = ["target", *[f"{m} {what}" for m in models for what in ("R²", "MSE")]]
    rows = [[t, *[table[m].get(f"{what}_{t}") for m in models for what in ("r2", "mse")]] for t in target_names]
    return markdown_table(header, rows)


def _summary_writer(log_dir: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


class ToyComparison(Callback):
    """Hydra callback: after the multirun, compare the toy models it trained."""

    def on_multirun_end(self, config, **kwargs) -> None:
        table = compare_toy_runs(config.hydra.sweep.dir)
        print(f"toy comparison written to {Path(config.hydra.sweep.dir).resolve()}/toy_comparison.md")
        for name, metrics in table.items():
            print(name, {k: round(v, 4) for k, v in metrics.items() if k.startswith("r2_")})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m lit_hw.experiments.toy_comparison <sweep_dir>")
    compare_toy_runs(sys.argv[1])
