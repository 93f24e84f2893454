"""What lit_hw's launchers share, checked without launching: a job's environment, the JobReturn of a job
that a launcher ran outside Hydra's run_job, and when a SLURM job has written every task's result."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest


def test_gpu_pool_job_gets_nothing_of_an_enclosing_distributed_run(monkeypatch):
    from lit_hw.core.run_files import DDP_RUN_VARS
    from lit_hw.sweeps.launchers.gpu_pool import GpuPool

    for var in DDP_RUN_VARS:
        monkeypatch.setenv(var, "3")
    monkeypatch.setenv("SLURM_PROCID", "0")  # the allocation the sweep runs in is the job's too
    pool = SimpleNamespace(slots=["0", "1"], jobs_per_slot=1, threads=None)
    env = GpuPool.job_env(pool, "1", Path("job/.job_return.json"))
    assert not set(DDP_RUN_VARS) & set(env)
    assert env["SLURM_PROCID"] == "0" and env["CUDA_VISIBLE_DEVICES"] == "1"


@pytest.mark.parametrize("chdir", [False, True])
def test_a_launcher_job_return_names_the_working_dir_as_hydra_does(tmp_path, chdir):
    from hydra.core.utils import JobStatus
    from omegaconf import OmegaConf

    from lit_hw.sweeps.launchers.launching import finished_job

    config = OmegaConf.create({"seed": 1, "hydra": {"job": {"name": "train", "chdir": chdir}}})
    ret = finished_job(["seed=1"], config, tmp_path / "0_seed=1", JobStatus.COMPLETED, 0.5)
    assert ret.working_dir == (str(tmp_path / "0_seed=1") if chdir else str(Path.cwd()))
    assert ret.return_value == 0.5 and ret.overrides == ["seed=1"] and "hydra" not in ret.cfg


def test_a_slurm_job_has_ended_once_every_task_wrote_its_result(tmp_path):
    SlurmJob = pytest.importorskip("submitit.slurm.slurm").SlurmJob
    from lit_hw.sweeps.launchers.slurm import result_written

    ddp_job = SlurmJob(tmp_path, "7", tasks=(0, 1))  # one task per rank
    ddp_job.task(0).paths.result_pickle.write_bytes(b"")
    assert not result_written(ddp_job)
    ddp_job.task(1).paths.result_pickle.write_bytes(b"")
    assert result_written(ddp_job)
    single = SlurmJob(tmp_path, "8")
    assert not result_written(single)
    single.paths.result_pickle.write_bytes(b"")
    assert result_written(single)
