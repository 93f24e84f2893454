"""One job of a stack (hydra/launcher=stacked), kept looking like an ordinary job from outside.

Its own run dir with Hydra's .hydra/ files, metrics.json (history per epoch, status, final
metrics), its loggers' files (TensorBoard events by default), and Lightning-format checkpoints
(``best-epochNN.ckpt``, ``last.ckpt``) holding only its own weights and optimizer state, so
``Classifier.load_from_checkpoint`` and ``python -m lit_hw.evaluate`` read them like any other.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import _save_config
from omegaconf import DictConfig, OmegaConf

from lit_hw.callbacks.run_record import RunRecord
from lit_hw.core.atomic_files import write_atomic
from lit_hw.run.build import check_config, run_tags
from lit_hw.run.loggers import build_loggers, log_final
from lit_hw.run.run_info import versions
from lit_hw.sweeps.launchers.launching import without_hydra


def save_hydra_files(job_config: DictConfig, overrides: list[str], run_dir: Path) -> None:
    """What Hydra's run_job writes into a job's .hydra/ (the summary reads overrides.yaml)."""
    hydra_dir = run_dir / str(job_config.hydra.output_subdir)
    _save_config(without_hydra(job_config), "config.yaml", hydra_dir)
    _save_config(job_config.hydra, "hydra.yaml", hydra_dir)
    _save_config(OmegaConf.create(list(overrides)), "overrides.yaml", hydra_dir)


class StackMember:
    """One job of a stack: its config, its task (the net it starts from), its record, loggers and checkpoints."""

    def __init__(self, idx: int, overrides: list[str], job_config: DictConfig, run_dir: Path):
        self.idx, self.overrides, self.job_config, self.run_dir = idx, list(overrides), job_config, run_dir
        # resolved now, with Hydra's config this job's (paths.output_dir is ${hydra:runtime.output_dir})
        HydraConfig.instance().set_config(job_config)
        self.cfg = OmegaConf.create(OmegaConf.to_container(without_hydra(job_config), resolve=True))
        run_dir.mkdir(parents=True, exist_ok=True)
        save_hydra_files(job_config, self.overrides, run_dir)
        self.record = RunRecord(run_dir / "metrics.json", info={"overrides": self.overrides})
        self.parts = None
        self.loggers: list = []
        self.best_score = -math.inf if self.cfg.monitor.mode == "max" else math.inf
        self.best_path = ""
        self.diverged_at: dict | None = None
        # this job's weights after its best and its last epoch (its test uses the best, as the ordinary job's)
        self.best_weights: dict | None = None
        self.last_weights: dict | None = None

    def build(self, stack_info: dict) -> None:
        """Check the config and build this job's task (seeded: the net starts as the ordinary job's would)."""
        self.parts = check_config(self.cfg)
        model = self.parts.task.model_summary()
        self.record.info.update(
            {"tags": run_tags(self.cfg), "model": model, "versions": versions(), "stacked": stack_info}
        )
        self.loggers = build_loggers(self.cfg.logger)
        write_atomic(self.run_dir / "config_resolved.yaml", OmegaConf.to_yaml(self.cfg))

    @property
    def task(self):
        return self.parts.task

    @property
    def max_loss(self) -> float | None:
        divergence = self.cfg.callbacks.get("stop_on_divergence")
        return divergence.get("max_loss") if divergence else None

    # -- per epoch -----------------------------------------------------------------------------
    def end_epoch(self, row: dict) -> None:
        self.record.history.append(row)
        self.record.write()
        metrics = {k: v for k, v in row.items() if "/" in k}
        for logger in self.loggers:
            logger.log_metrics({**metrics, "epoch": row["epoch"]}, step=row["step"])

    def improved(self, score: float) -> bool:
        if math.isnan(score):
            return False
        better = score > self.best_score if self.cfg.monitor.mode == "max" else score < self.best_score
        if better:
            self.best_score = score
        return better

    def save_checkpoint(self, name: str, weights: dict, epoch: int, step: int, optimizer_state: dict) -> str:
        """A Lightning checkpoint of this member alone: what load_from_checkpoint and lit_hw.evaluate read."""
        task, datamodule = self.task, self.parts.datamodule
        optim_args = {k: v for k, v in task.optim_config.items() if not k.startswith("_") and "scheduler" not in k}
        checkpoint = {
            "epoch": epoch,
            "global_step": step,
            "pytorch-lightning_version": L.__version__,
            "state_dict": {f"net.{k}": v.detach().cpu() for k, v in weights.items()},
            "loops": {},
            "callbacks": {},
            "optimizer_states": [
                {
                    "state": {k: {n: t.cpu() for n, t in s.items()} for k, s in optimizer_state.items()},
                    "param_groups": [{**optim_args, "params": list(range(len(weights)))}],
                }
            ],  # fmt: skip
            "lr_schedulers": [],
            "hparams_name": "kwargs",
            "hyper_parameters": dict(task.hparams),
            "datamodule_hparams_name": "kwargs",
            "datamodule_hyper_parameters": dict(datamodule.hparams),
            "lit_hw": {**task.checkpoint_info(datamodule), "stacked": True},
        }
        data = io.BytesIO()
        torch.save(checkpoint, data)
        return str(write_atomic(self.run_dir / "checkpoints" / f"{name}.ckpt", data.getvalue()))

    def save_best(self, weights: dict, epoch: int, step: int, optimizer_state: dict) -> None:
        old = self.best_path
        self.best_path = self.save_checkpoint(f"best-epoch{epoch:02d}", weights, epoch, step, optimizer_state)
        if old and old != self.best_path:
            Path(old).unlink(missing_ok=True)  # save_top_k=1, as the ordinary job's ModelCheckpoint

    # -- end -----------------------------------------------------------------------------------
    def finish(self, test_metrics: dict, hparams: dict) -> float | None:
        final = {k: v for k, v in (self.record.history[-1] if self.record.history else {}).items() if "/" in k}
        if not math.isinf(self.best_score):
            final[f"{self.cfg.monitor.metric}_best"] = self.best_score
        final.update(test_metrics)
        self.record.info["data"] = self.parts.datamodule.describe()
        if self.diverged_at:
            self.record.info["diverged_at"] = self.diverged_at
        self.record.finish("diverged" if self.diverged_at else "ok", final)
        step = self.record.history[-1]["step"] if self.record.history else 0
        log_final(self.loggers, hparams, self.record.final, step=step)
        return self.record.final.get(f"{self.cfg.monitor.metric}_best")

    def fail(self, err: BaseException, status: str = "failed") -> None:
        from lit_hw.core.errors import describe

        self.record.status, self.record.error = status, describe(err)
        self.record.write()
        for logger in self.loggers:
            logger.finalize("failed")
