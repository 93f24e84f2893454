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
    # lit_hw logs training metrics once per epoch, and a step chunk (data.steps_per_execution) makes
    # Lightning count 8 minibatches as one batch: this warning would be wrong
    warnings.filterwarnings("ignore", message=r"The number of training batches .* logging interval")
    # on a SLURM login node lit_hw runs single runs on purpose; sweeps go through hydra/launcher=slurm
    warnings.filterwarnings("ignore", message=r"The `srun` command is available on your system but is not used")
    # an advertisement on every run
    drop_log_messages("lightning.pytorch.utilities.rank_zero", "litlogger")


def metrics_table(final: dict, prefix: str = "test/") -> str:
    """The final metrics under ``prefix`` as aligned ``name  value`` lines ('' if there are none)."""
    rows = [(k, v) for k, v in sorted(final.items()) if k.startswith(prefix) and isinstance(v, (int, float))]
    if not rows:
        return ""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:.4f}" for k, v in rows)
