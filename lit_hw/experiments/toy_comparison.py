"""Compare the toy models of one sweep: a table of per-target R² and MSE, and a figure of the fits.

``experiment=toy`` (the assignment's points in R^4) and ``experiment=toy_signals`` (1-D signals) are
two-job multiruns, one job per model; Hydra calls ``ToyComparison.on_multirun_end`` when both are
done, which writes into the sweep dir:

  toy_comparison.md / .json    per-target test MSE and R² of every model (keys r2_<target>, mse_<target>)
  figures/toy_fits.png         toy: prediction against truth on every test point, per target and model
  figures/toy_comparison.png   toy_signals: one test signal per target: truth and each model's prediction
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

# net class -> its model config name (conf/model/)
NET_LABELS = {
    "ToyLinear": "toy_linear",
    "ToyConvNet": "toy_convnet",
    "Toy4Linear": "toy4_linear",
    "Toy4ConvNet": "toy4_convnet",
}
TOY_DATAMODULES = ("lit_hw.data.toy.ToyFunctionsDataModule", "lit_hw.data.toy4.Toy4DataModule")


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
    from lit_hw.figures.files import save_figure
    from lit_hw.tasks.regressor import Regressor

    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir or sweep_dir)
    runs = toy_runs(sweep_dir)
    if not runs:
        raise UserError(
            f"no toy model run with a checkpoint under {sweep_dir} (expected <sweep_dir>/*/checkpoints/best-*.ckpt)"
        )
    tasks, table, data_hparams, datamodule = {}, {}, None, None
    for name, ckpt in runs.items():
        task, datamodule_cls, checkpoint = load_task(ckpt)  # its names pass the allow rule before anything is built
        if not isinstance(task, Regressor) or checkpoint["lit_hw"].get("datamodule") not in TOY_DATAMODULES:
            raise UserError(f"{ckpt} holds a {type(task).__name__} on other data; compare runs of a toy sweep")
        tasks[name] = task.eval()
        hparams = checkpoint["lit_hw"]["data"]
        if data_hparams is None:
            data_hparams = hparams
            datamodule = datamodule_cls(**{**hparams, "on_device": False})
            datamodule.setup("test")
        elif hparams != data_hparams:
            raise UserError(
                f"{ckpt} was trained on other toy data than {next(iter(runs.values()))}; compare runs of one sweep"
            )
        final = (read_metrics(ckpt.parents[1]) or {}).get("final", {})
        table[name] = {k.removeprefix("test/"): v for k, v in final.items() if k.startswith(("test/r2_", "test/mse_"))}
    x, y = datamodule.splits["test"].tensors
    if y.shape[-1] == 1:  # points (data=toy4): every test point, truth against prediction
        from lit_hw.figures.toy_fits import plot_fits

        fits = {name: task(x)[..., 0].numpy() for name, task in tasks.items()}
        fig, figure = plot_fits(y[..., 0].numpy(), fits, datamodule.target_names), "toy_fits.png"
    else:  # signals (data=toy): one test signal, as the per-run figure shows it
        from lit_hw.figures.plots import plot_toy_predictions

        index = next(iter(tasks.values())).hparams.get("figure_signal", 0)
        signal = {name: task(x[index : index + 1])[0] for name, task in tasks.items()}
        fig, figure = plot_toy_predictions(x[index, 0], y[index], signal, datamodule.target_names), "toy_comparison.png"
    writer = _summary_writer(out_dir / "tensorboard")
    save_figure(fig, out_dir / "figures" / figure, writer, tag="toy/comparison")
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
