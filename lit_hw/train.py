"""Train one model: ``python -m lit_hw.train model=mlp optim.lr=0.01`` (``--help`` for the groups).

Hydra composes conf/train.yaml; this file builds the datamodule, task, callbacks
and Trainer from it, fits, tests on the official test split with the best
checkpoint, and writes metrics.json, TensorBoard hparams and the resolved config
into the run dir.
"""

from __future__ import annotations

import logging
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# No torch or Lightning at import (nor lit_hw modules that import them): `--help`, a mistyped key
# or an unknown group option are answered in about a second instead of after the 5-10 s that
# torch and Lightning take to import; train() imports them once a run really trains.
from lit_hw.config.cli import in_multirun, quote_path_overrides, refuse_unreadable_overrides, report_user_errors
from lit_hw.config.config_dir import config_dir
from lit_hw.config.resolvers import register_resolvers
from lit_hw.core.dir_lock import dir_locked
from lit_hw.core.kept_files import drop_kept_hydra_files
from lit_hw.core.run_files import BEST_SUFFIX, is_rank_zero
from lit_hw.run.console import metrics_table, print_config_tree, quiet_library_noise
from lit_hw.run.loggers import build_loggers, log_final
from lit_hw.sweeps.job import failure_recorded, refuse_ddp_that_reruns_the_sweep
from lit_hw.sweeps.resume import prepare_job

if TYPE_CHECKING:
    import lightning as L

log = logging.getLogger("lit_hw.train")
register_resolvers()  # ${lit_hw.run_id:}, ${lit_hw.job_dir_name:...} in conf/hydra/default.yaml


def train(cfg: DictConfig) -> dict:
    # torch and Lightning here, not at the top: see the comment on this module's imports
    import torch
    from lightning.pytorch.callbacks import ProgressBar

    from lit_hw.callbacks.divergence import StopOnDivergence
    from lit_hw.callbacks.run_record import RunRecord
    from lit_hw.run.build import check_config, run_tags
    from lit_hw.run.cpu_speed import apply_cpu_speed_settings
    from lit_hw.run.run_info import hparams_for_loggers, versions

    quiet_library_noise()
    apply_cpu_speed_settings(cfg.trainer.get("strategy"))
    # Builds the datamodule and the task (seeded) once; a bad value fails here, before anything is written.
    parts = check_config(cfg)
    datamodule, task, ckpt_path = parts.datamodule, parts.task, parts.ckpt_path
    output_dir = Path(cfg.paths.output_dir)
    model = task.model_summary()
    if is_rank_zero():
        if cfg.get("print_config"):
            print_config_tree(cfg)
        log.info("model: %s, %s parameters (%s trainable)", model["name"], f"{model['params']:,}",
                 f"{model['trainable_params']:,}")  # fmt: skip
    if cfg.get("compile"):
        task.net.compile()  # in place: the state_dict keys, and so the checkpoints, stay those of the plain net

    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    info = {"overrides": overrides, "tags": run_tags(cfg), "model": model, "versions": versions()}
    record = RunRecord(output_dir / "metrics.json", info=info)
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None] + [record]
    if cfg.trainer.get("enable_progress_bar") is False:  # Lightning refuses a bar callback then
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    loggers = build_loggers(cfg.logger)
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    if trainer.is_global_zero:
        (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    # weights_only=True said outright: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD only overrides an unset argument
    trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)

    divergence = next((c for c in callbacks if isinstance(c, StopOnDivergence)), None)
    diverged_at = divergence.diverged_at if divergence else None
    test_results = []
    if cfg.test:
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        test_results = trainer.test(
            task, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=True
        )

    checkpoints = trainer.checkpoint_callback  # the monitored metric's best value is the best checkpoint's
    monitor, best = (checkpoints.monitor, checkpoints.best_model_score) if checkpoints else (None, None)
    final = record.final_metrics(monitor, best, test_results)
    record.info["data"] = datamodule.describe() if hasattr(datamodule, "describe") else {}
    if diverged_at:
        record.info["diverged_at"] = diverged_at
        log.warning(
            "training diverged (%s) at epoch %d, step %d",
            diverged_at["reason"],
            diverged_at["epoch"],
            diverged_at["step"],
        )
    if trainer.is_global_zero:
        record.finish("diverged" if diverged_at else "ok", final)
        log_final(trainer.loggers, hparams_for_loggers(cfg), record.final, step=trainer.global_step)
    if trainer.is_global_zero and metrics_table(record.final):
        print(metrics_table(record.final))  # the results first, then where the rest of the run is
    log.info("run dir: %s", output_dir.resolve())
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # Lightning leaves the DDP process group up; gloo's threads torn down at interpreter
        # exit can abort the process ("terminate called without an active exception").
        torch.distributed.destroy_process_group()
    return record.final


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
@report_user_errors
def main(cfg: DictConfig):
    refuse_ddp_that_reruns_the_sweep(cfg)
    output_dir = Path(cfg.paths.output_dir)
    # A job of a sweep takes its dir's lock here (a single run took it before Hydra wrote anything): a job
    # still running in this dir, e.g. one a killed SLURM or gpu_pool sweep left behind, refuses this one.
    # (Ranks > 0 of a DDP run share rank 0's dir.)
    lock = dir_locked(output_dir, "job dir" if in_multirun() else "hydra.run.dir") if is_rank_zero() else nullcontext()
    with lock:
        kept = prepare_job(cfg)  # resume_sweep=true: keep a finished job, continue an interrupted one
        if kept is not None:
            return kept.get("final", {}).get(cfg.monitor.metric + BEST_SUFFIX)
        with failure_recorded(output_dir / "metrics.json"):  # so a sweep summary shows the crash
            final = train(cfg)
        drop_kept_hydra_files(output_dir)  # a finished run continued in place: .hydra/ now describes this run
    # A sweeper (e.g. Optuna) optimizes the returned value.
    return final.get(cfg.monitor.metric + BEST_SUFFIX)


def cli() -> None:
    """``python -m`` and the console script (pyproject.toml's [project.scripts]) start here."""
    sys.argv = quote_path_overrides(sys.argv)  # resume=<a sweep job dir> holds "=" and ","
    refuse_unreadable_overrides(sys.argv)  # one line, not Hydra's parser report, for what it cannot read
    main()


if __name__ == "__main__":
    cli()
