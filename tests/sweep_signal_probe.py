"""A Hydra app whose jobs only wait to be stopped: for tests/cli/test_sweep_signals.py.

Each job writes ``probe_started`` into its run dir once it is inside ``failure_recorded`` (so a
Ctrl-C from then on is recorded ``interrupted``, as lit_hw.train records it), then sleeps
``probe_sleep_s``. A job whose number is in ``probe_ignore_sigterm_jobs`` ignores SIGTERM, as a job
stuck where Lightning cannot stop it would; the launcher must kill it after its grace period. No
torch, so a sweep of these starts in a second or two.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from lit_hw.config.resolvers import register_resolvers
from lit_hw.sweeps.job import failure_recorded

register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig):
    out = Path(HydraConfig.get().runtime.output_dir)
    num = HydraConfig.get().job.num
    if num in list(cfg.get("probe_ignore_sigterm_jobs", [])):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with failure_recorded(out / "metrics.json"):
        (out / "probe_started").write_text(str(num))
        time.sleep(float(cfg.get("probe_sleep_s", 60)))
        (out / "metrics.json").write_text(json.dumps({"status": "ok", "final": {}, "epochs_run": 0, "history": []}))
    return 0.5 + num


if __name__ == "__main__":
    main()
