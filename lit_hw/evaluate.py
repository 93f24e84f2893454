"""Evaluate a checkpoint on the test split: ``python -m lit_hw.evaluate ckpt_path=...``.

Prints the test metrics and writes them to test_metrics.json in the Hydra run dir. The checkpoint is
data: it loads with weights_only=True and every class it names passes lit_hw's allow rule (classes of
lit_hw, or of the modules in ``trust=[mypkg]``) before anything is imported.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from lit_hw.config.cli import quote_path_overrides, refuse_unreadable_overrides, report_user_errors
from lit_hw.config.config_dir import config_dir
from lit_hw.config.resolvers import register_resolvers
from lit_hw.core.allowed_names import trusted_roots
from lit_hw.core.errors import UserError
from lit_hw.run.console import quiet_library_noise
from lit_hw.tasks.checkpoints import model_name
from lit_hw.tasks.loading import load_task

register_resolvers()  # ${lit_hw.run_id:} in conf/evaluate.yaml, ${lit_hw.job_dir_name:...} in conf/hydra/default.yaml
log = logging.getLogger("lit_hw.evaluate")


def evaluate(cfg: DictConfig) -> dict:
    quiet_library_noise()
    task, datamodule_cls, checkpoint = load_task(cfg.ckpt_path, trust=trusted_roots(cfg.get("trust")))
    held = model_name(checkpoint)
    if cfg.get("expect_model") and cfg.expect_model != held:
        raise UserError(
            f"{cfg.ckpt_path} holds a '{held}' model, not expect_model={cfg.expect_model}; drop expect_model= or pick a checkpoint of that model"
        )
    if datamodule_cls is None:
        raise UserError(
            f"{cfg.ckpt_path} names no datamodule (lit_hw.datamodule is empty); it was saved outside a training run"
        )
    overrides = {k: v for k, v in OmegaConf.to_container(cfg.data, resolve=True).items() if v is not None}
    saved = checkpoint["lit_hw"].get("data") or {}
    if not isinstance(saved, dict):
        raise UserError(f"{cfg.ckpt_path}: lit_hw.data is {type(saved).__name__}, not a mapping of datamodule settings")
    try:
        datamodule = datamodule_cls(**{**saved, **overrides})
    except TypeError as err:  # a setting the datamodule does not take
        raise UserError(f"{cfg.ckpt_path}: lit_hw.data does not build a {datamodule_cls.__name__} ({err})") from None
    trainer = L.Trainer(
        accelerator=cfg.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        default_root_dir=cfg.paths.output_dir,
    )  # figures the task writes land in the eval dir
    results = trainer.test(task, datamodule=datamodule, verbose=False)[0]
    record = {
        "ckpt_path": str(Path(cfg.ckpt_path).resolve()),
        "model": held,
        "test": results,
        "data": datamodule.describe() if hasattr(datamodule, "describe") else {},
    }
    out = Path(cfg.paths.output_dir) / "test_metrics.json"
    out.write_text(json.dumps(record, indent=2))
    print(json.dumps(results, indent=2))
    log.info("wrote %s", out)
    return results


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
@report_user_errors
def main(cfg: DictConfig):
    return evaluate(cfg)


def cli() -> None:
    """``python -m`` and the console script (pyproject.toml's [project.scripts]) start here."""
    sys.argv = quote_path_overrides(sys.argv)  # resume=<a sweep job dir> holds "=" and ","
    refuse_unreadable_overrides(sys.argv)  # one line, not Hydra's parser report, for what it cannot read
    main()


if __name__ == "__main__":
    cli()
