"""What a run prints: library noise that says nothing true or useful to a lit_hw user is dropped,
and the final test metrics are shown as a small table."""

from __future__ import annotations

import logging
import warnings


class _DropMessages(logging.Filter):
    def __init__(self, *fragments: str):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(fragment in record.getMessage() for fragment in self.fragments)


def drop_log_messages(logger_name: str, *fragments: str) -> None:
    """Drop the records of ``logger_name`` that contain any of ``fragments`` (once: calling again adds nothing)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _DropMessages) and f.fragments == fragments for f in logger.filters):
        logger.addFilter(_DropMessages(*fragments))


def quiet_library_noise() -> None:
    # torch deprecated a check that Lightning's own code makes; printed mid-progress-bar, nothing to act on
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # lit_hw logs training metrics once per epoch, not every n steps: this warning is about nothing
    warnings.filterwarnings("ignore", message=r"The number of training batches .* logging interval")
    # on a SLURM login node lit_hw runs single runs on purpose; sweeps go through hydra/launcher=slurm
    warnings.filterwarnings("ignore", message=r"The `srun` command is available on your system but is not used")
    # an advertisement on every run; and a note on how optim.scheduler=onecycle counts the run's steps
    drop_log_messages("lightning.pytorch.utilities.rank_zero", "litlogger", "to estimate number of stepping batches")
    # Lightning gives its top logger a console handler of its own ("INFO: ..."). Imported after Hydra set up
    # logging (lit_hw.train imports it late, for a quick start), its records also reach Hydra's handlers
    # (console and the run's log file): every line would print twice
    if logging.getLogger().handlers:
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            if type(handler) is logging.StreamHandler:
                lightning_logger.removeHandler(handler)


def metrics_table(final: dict, prefix: str = "test/") -> str:
    """The final metrics under ``prefix`` as aligned ``name  value`` lines ('' if there are none)."""
    rows = [(k, v) for k, v in sorted(final.items()) if k.startswith(prefix) and isinstance(v, (int, float))]
    if not rows:
        return ""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:.4f}" for k, v in rows)


def print_config_tree(cfg) -> None:
    """The composed config as a tree, one branch per group (data, model, optim, ...), the plain
    settings (seed, tags, ...) after them: what this run is, at the top of its console output."""
    from omegaconf import DictConfig, OmegaConf
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.tree import Tree

    tree = Tree("config", guide_style="dim")
    groups = [key for key, value in cfg.items() if isinstance(value, DictConfig) and value]
    for key in groups:
        tree.add(key).add(
            Syntax(OmegaConf.to_yaml(cfg[key], resolve=True).rstrip(), "yaml", background_color="default")
        )
    plain = OmegaConf.to_yaml({k: cfg[k] for k in cfg if k not in groups}, resolve=True).rstrip()
    tree.add(Syntax(plain, "yaml", background_color="default"))
    # a log file or a pipe gets the full lines, not rich's default of 80 columns
    Console(soft_wrap=True).print(tree)
