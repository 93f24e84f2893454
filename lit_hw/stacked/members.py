"""One job of a stack (hydra/launcher=stacked), kept looking like an ordinary job from outside.

It is built as ``lit_hw.train`` builds a run: the config checked and the datamodule and task built
(seeded, so the net starts as the ordinary job's does), its callbacks from its ``callbacks`` config plus
its RunRecord, its loggers. It gets its own run dir with Hydra's .hydra/ files, metrics.json (history
per epoch, status, final metrics, and ``stacked``: the stack it trained in), its loggers' files, and
its own Lightning checkpoints (lit_hw.stacked.member_trainer). After the stack's fit it is tested as
the ordinary job is: its own Trainer tests its best checkpoint on its own datamodule.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig, OmegaConf

from lit_hw.callbacks.divergence import StopOnDivergence
from lit_hw.callbacks.epoch_seed import SeedEachEpoch
from lit_hw.callbacks.run_record import RunRecord
from lit_hw.config.hydra_adapter import save_config
from lit_hw.core.atomic_files import write_atomic
from lit_hw.core.errors import describe
from lit_hw.run.build import check_config, run_tags
from lit_hw.run.loggers import build_loggers, log_final
from lit_hw.run.run_info import hparams_for_loggers, versions
from lit_hw.sweeps.launchers.launching import without_hydra

# callbacks that act on the stack's Trainer as a whole (its progress, the global RNG the epoch draws
# from), built once from the first member's config; every other callback is each member's own
SHARED_CALLBACKS = (ProgressBar, SeedEachEpoch)


def save_hydra_files(job_config: DictConfig, overrides: list[str], run_dir: Path) -> None:
    """What Hydra's run_job writes into a job's .hydra/ (the summary reads overrides.yaml)."""
    hydra_dir = run_dir / str(job_config.hydra.output_subdir)
    save_config(without_hydra(job_config), "config.yaml", hydra_dir)
    save_config(job_config.hydra, "hydra.yaml", hydra_dir)
    save_config(OmegaConf.create(list(overrides)), "overrides.yaml", hydra_dir)


def build_callbacks(cfg: DictConfig) -> list:
    """The run's callbacks as lit_hw.train builds them (no progress bar when the Trainer has none)."""
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    if cfg.trainer.get("enable_progress_bar") is False:  # Lightning refuses a bar callback then
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    return callbacks


class StackMember:
    """One job of a stack: its config, task, datamodule, record, callbacks and loggers."""

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
        self.callbacks: list = []
        self.shared_callbacks: list = []
        self.view = None  # its view of the stack's Trainer (lit_hw.stacked.member_trainer), once training

    def build(self, stack_info: dict) -> None:
        """Check the config and build this job's task (seeded: the net starts as the ordinary job's would)."""
        self.parts = check_config(self.cfg)
        model = self.parts.task.model_summary()
        self.record.info.update(
            {"tags": run_tags(self.cfg), "model": model, "versions": versions(), "stacked": stack_info}
        )
        callbacks = build_callbacks(self.cfg)
        self.shared_callbacks = [c for c in callbacks if isinstance(c, SHARED_CALLBACKS)]
        self.callbacks = [c for c in callbacks if not isinstance(c, SHARED_CALLBACKS)] + [self.record]
        self.loggers = build_loggers(self.cfg.logger)
        write_atomic(self.run_dir / "config_resolved.yaml", OmegaConf.to_yaml(self.cfg))

    @property
    def task(self):
        return self.parts.task

    @property
    def datamodule(self):
        return self.parts.datamodule

    # -- after the stack's fit ------------------------------------------------------------------
    def test(self) -> list[dict]:
        """The ordinary job's test: its best checkpoint (else its last weights) on the official test split."""
        tester = instantiate(
            self.cfg.trainer,
            callbacks=[],
            logger=self.loggers or False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        checkpoints = self.view.checkpoint_callback
        best = checkpoints.best_model_path if checkpoints is not None else ""
        with warnings.catch_warnings():
            # Lightning's advice to pass the callbacks that wrote the checkpoint: a test restores none of them
            warnings.filterwarnings("ignore", message="Be aware that when using `ckpt_path`")
            return tester.test(self.task, datamodule=self.datamodule, ckpt_path=best or None, verbose=False,
                               weights_only=True)  # fmt: skip

    def finish(self, test_results: list[dict]) -> float | None:
        """Record the run as lit_hw.train records it: final metrics, divergence, status; the loggers' summary."""
        checkpoints = self.view.checkpoint_callback
        monitor, best = (checkpoints.monitor, checkpoints.best_model_score) if checkpoints else (None, None)
        final = self.record.final_metrics(monitor, best, test_results)
        self.record.info["data"] = self.datamodule.describe() if hasattr(self.datamodule, "describe") else {}
        divergence = next((c for c in self.callbacks if isinstance(c, StopOnDivergence)), None)
        diverged_at = divergence.diverged_at if divergence else None
        if diverged_at:
            self.record.info["diverged_at"] = diverged_at
        self.record.finish("diverged" if diverged_at else "ok", final)
        log_final(self.loggers, hparams_for_loggers(self.cfg), self.record.final, step=self.view.global_step)
        return self.record.final.get(f"{self.cfg.monitor.metric}_best")

    def fail(self, err: BaseException, status: str = "failed") -> None:
        """Record the run as ended by ``err``, unless its own callbacks already recorded how it ended."""
        if self.record.status == "running":
            self.record.status, self.record.error = status, describe(err)
            self.record.write()
        for logger in self.loggers:
            logger.finalize("failed")
