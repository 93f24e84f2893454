"""Which config dirs a run reads: lit_hw's own (packaged in a wheel, else the clone's conf/), and a
user's --config-dir, which gpu_pool's jobs must get too (in-process, no training)."""

from __future__ import annotations

from omegaconf import OmegaConf

from lit_hw.config import config_dir as config_dir_module
from lit_hw.config.config_dir import config_dir
from lit_hw.sweeps.launchers.launching import config_dir_arguments
from tests.helpers.cli import ROOT


def test_a_clone_reads_its_own_conf():
    assert config_dir() == str(ROOT / "conf")


def test_an_installed_wheel_reads_the_packaged_copy(tmp_path, monkeypatch):
    packaged = tmp_path / "lit_hw" / "conf"
    packaged.mkdir(parents=True)
    monkeypatch.setattr(config_dir_module, "PACKAGED", packaged)
    assert config_dir() == str(ROOT / "conf")  # an empty folder is not a config dir
    (packaged / "train.yaml").write_text("seed: 0\n")
    assert config_dir() == str(packaged)


def sweep_config(*sources: tuple[str, str, str]):
    listed = [{"path": path, "schema": schema, "provider": provider} for path, schema, provider in sources]
    return OmegaConf.create({"hydra": {"runtime": {"config_sources": listed}}})


def test_a_gpu_pool_job_gets_the_config_dirs_the_sweep_was_given():
    config = sweep_config(
        ("hydra.conf", "pkg", "hydra"),
        ("/site/lit_hw/conf", "file", "main"),
        ("/home/me/project/conf", "file", "command-line"),
        ("/home/me/shared conf", "file", "command-line"),
        ("", "structured", "schema"),
    )
    assert config_dir_arguments(config) == [
        "--config-dir",
        "/home/me/project/conf",
        "--config-dir",
        "/home/me/shared conf",
    ]


def test_a_sweep_without_config_dirs_adds_nothing():
    assert config_dir_arguments(sweep_config(("/site/lit_hw/conf", "file", "main"))) == []
    assert config_dir_arguments(OmegaConf.create({})) == []
