"""A Hydra app that only reports what gpu_pool gave it: for tests/cli/test_gpu_pool.py.

Each job writes probe.json (pid, CUDA_VISIBLE_DEVICES, OMP threads, start/end times) and a
minimal metrics.json into its run dir, sleeps a moment so jobs overlap, and raises when
its job number is in ``fail_jobs``. No training, so the pool is tested in seconds.
"""

from __future__ import annotations

import json
import os
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
    with failure_recorded(out / "metrics.json"):
        start = time.time()
        time.sleep(float(cfg.get("probe_sleep_s", 1.5)))
        probe = {
            "pid": os.getpid(),
            "num": num,
            "start": start,
            "end": time.time(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "overrides": list(HydraConfig.get().overrides.task),
        }
        (out / "probe.json").write_text(json.dumps(probe))
        if num in list(cfg.get("fail_jobs", [])):
            raise RuntimeError(f"probe job {num} failed on purpose")
        (out / "metrics.json").write_text(
            json.dumps(
                {
                    "status": "ok",
                    "final": {"val/acc_best": 0.5 + num},
                    "epochs_run": 1,
                    "history": [],
                    "overrides": probe["overrides"],
                }
            )
        )
    return 0.5 + num


if __name__ == "__main__":
    main()
