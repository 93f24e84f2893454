"""lit_hw as a user installs it: a wheel built from this tree, installed with ``pip install --no-deps
--target``, run from folders outside the repo by a Python that sees lit_hw's dependencies but not the
repo's own lit_hw. One build for the module; each test runs the commands a user types, in its own folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT
from tests.helpers.mnist_files import write_random_mnist

pytestmark = pytest.mark.slow  # a wheel build and seven lit_hw processes: 1-2 minutes on two busy cores

# what the wheel is built from, copied first: pip builds in place, and the shared tree's build/ could go stale
SOURCES = ("pyproject.toml", "setup.py", "README.md", "lit_hw", "conf", "hydra_plugins")
EXAMPLE = ROOT / "examples" / "own_project"
TINY = ["trainer.max_epochs=1", "trainer.enable_progress_bar=false", "logger=csv"]


def copy_into(source: Path, folder: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, folder / source.name, ignore=shutil.ignore_patterns("__pycache__", "outputs"))
    else:
        shutil.copy2(source, folder / source.name)


class Installed:
    """The installed wheel and a fresh venv that holds none of the repo."""

    def __init__(self, root: Path):
        self.root = root
        source, wheel_dir, self.target = root / "source", root / "wheel", root / "target"
        source.mkdir()
        for name in SOURCES:
            copy_into(ROOT / name, source)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        # no build isolation: this venv's setuptools builds it, nothing is downloaded
        subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheel_dir, source], check=True)
        (self.wheel,) = wheel_dir.glob("lit_hw-*.whl")
        subprocess.run([*pip, "install", "--no-deps", "--target", self.target, self.wheel], check=True)
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
        self.python = venv / "bin" / "python"
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        venv_site = Path(subprocess.check_output([self.python, "-c", purelib], text=True).strip())
        # this venv's packages as a plain path entry: Python does not read the .pth files inside a folder
        # that a .pth names, so the repo's editable lit_hw installed there stays out of sight
        (venv_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        self.bare_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LIT_HW_"))}
        self.bare_env["PYTHONWARNINGS"] = "ignore"
        self.env = {**self.bare_env, "PYTHONPATH": str(self.target)}

    def folder(self, name: str, mnist: bool = False, example: bool = False) -> Path:
        """A user's folder outside the repo: tiny MNIST files in its data/, or examples/own_project's files."""
        folder = self.root / name
        folder.mkdir()
        if mnist:
            write_random_mnist(folder / "data", n_train=300, n_test=100)
        if example:
            for item in EXAMPLE.iterdir():
                if item.name not in ("outputs", "__pycache__"):
                    copy_into(item, folder)
        return folder

    def run(self, folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.python), *args], cwd=folder, env=env or self.env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("installed_wheel"))


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def test_the_wheel_carries_configs_and_plugins_and_the_repo_stays_out_of_sight(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {"lit_hw/conf/train.yaml", "lit_hw/conf/hydra/launcher/gpu_pool.yaml"} <= set(names)
    assert "hydra_plugins/lit_hw_launchers/gpu_pool_launcher.py" in names
    assert "hydra_plugins/__init__.py" not in names  # a namespace, shared with other plugin packages
    folder = installed.folder("imports")
    seen = installed.run(folder, "-c", "import lit_hw; print(lit_hw.__file__)").stdout.strip()
    assert Path(seen).is_relative_to(installed.target), seen
    find = "import importlib.util; print(importlib.util.find_spec('lit_hw'))"
    assert installed.run(folder, "-c", find, env=installed.bare_env).stdout.strip() == "None"


def test_train_a_gpu_pool_sweep_and_evaluate_from_a_user_folder(installed):
    user = installed.folder("user", mnist=True)
    installed.run(user, "-m", "lit_hw.train", "model=linear", "data.source=local", *TINY)
    run_dir = only(user, "outputs/runs/*/*")
    assert metrics(run_dir)["status"] == "ok"

    sweep = ["-m", "optim.lr=0.01,0.1", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2"]
    installed.run(user, "-m", "lit_hw.train", *sweep, "model=linear", "data.source=local", *TINY)
    sweep_dir = only(user, "outputs/multirun/*/*")
    jobs = sorted(p.parent for p in sweep_dir.glob("*/metrics.json"))
    assert [job.name for job in jobs] == ["0_optim.lr=0.01", "1_optim.lr=0.1"]
    assert [metrics(job)["status"] for job in jobs] == ["ok", "ok"]
    assert "2 jobs: 2 ok" in (sweep_dir / "summary.md").read_text()

    # the console script (run by this venv's python: its #! names the venv that installed it)
    best = only(run_dir, "checkpoints/best-*.ckpt")
    installed.run(user, str(installed.target / "bin" / "lit-hw-evaluate"), f"ckpt_path={best}")
    tested = json.loads(only(user, "outputs/eval/*/*/test_metrics.json").read_text())
    assert tested["test"]["test/acc"] == pytest.approx(metrics(run_dir)["final"]["test/acc"])


def test_a_users_own_net_and_data_sweep_stacked_and_evaluate(installed):
    user = installed.folder("own_project", example=True)
    # jobs that differ only in lr train as one stack (the net's stack_layers, its element-wise SiLU)
    own = ["--config-dir", "conf", "experiment=digits", *TINY]
    installed.run(user, "-m", "lit_hw.train", "-m", *own, "optim.lr=0.003,0.03", "hydra/launcher=stacked")
    jobs = sorted(p.parent for p in user.glob("outputs/multirun/*/*/*/metrics.json"))
    records = [metrics(job) for job in jobs]
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert [r["stacked"]["jobs"] for r in records] == [[job.name for job in jobs]] * 2
    assert [r["model"]["name"] for r in records] == ["SiLUMLP", "SiLUMLP"]
    assert records[0]["data"]["sizes"] == {"train": 1293, "val": 144, "test": 360}
    assert max(r["final"]["test/acc"] for r in records) > 0.5  # 10 classes: a net that learned nothing scores ~0.1

    # evaluate rebuilds the net and the datamodule from the checkpoint: their modules must be trusted
    best = only(jobs[1], "checkpoints/best-*.ckpt")
    installed.run(user, "-m", "lit_hw.evaluate", f"ckpt_path={best}", "trust=[my_nets,my_data]")
    tested = json.loads(only(user, "outputs/eval/*/*/test_metrics.json").read_text())
    assert tested["test"]["test/acc"] == pytest.approx(records[1]["final"]["test/acc"])
