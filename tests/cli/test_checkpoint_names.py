"""A checkpoint is data: the class names it holds pass lit_hw's one allow rule before anything imports or
calls them (lit_hw/core/allowed_names.py), in every entry point that reads one.

Each crafted checkpoint below is a real lit_hw checkpoint with one name changed to a payload that, if
built, would create a sentinel file or start a process. The rule must refuse it in one line that names
the file, the key and the name, and the sentinel must never appear. A user's own net still loads once
its module is trusted (``trust=[mynets]``).
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from lit_hw.core.allowed_names import RefusedName, allowed_class, trusted_roots
from lit_hw.core.errors import UserError
from lit_hw.tasks.checkpoints import load_checkpoint
from lit_hw.tasks.classifier import Classifier
from lit_hw.tasks.loading import load_task
from tests.helpers.cli import run_cli

TRAIN = ["model=linear", "trainer=cpu", "trainer.max_epochs=1", "logger=none", "data.source=local"]

# the user's own net: LinearNet under another module's name, so the trained weights fit it
USER_NETS = """
from lit_hw.nets.linear import LinearNet


class MyNet(LinearNet):
    pass
"""


def payloads(sentinel: Path) -> dict[str, tuple[str, callable]]:
    """id -> (the key the refusal must name, an edit of the checkpoint dict that would create ``sentinel``)."""
    s = str(sentinel)

    def net(target, **kwargs):
        return lambda ckpt: ckpt["hyper_parameters"].update(net={"_target_": target, **kwargs})

    def info(key, value, data=None):
        def edit(ckpt):
            ckpt["lit_hw"][key] = value
            if data is not None:
                ckpt["lit_hw"]["data"] = data

        return edit

    def nested(ckpt):
        ckpt["hyper_parameters"]["net"]["extra"] = {"_target_": "builtins.open", "file": s, "mode": "w"}

    def optimizer(ckpt):
        ckpt["hyper_parameters"]["optim"] = {"_target_": "subprocess.Popen", "args": ["touch", s]}

    def instantiator(ckpt):
        ckpt["hyper_parameters"]["_instantiator"] = "os.system"

    return {
        "net_builtins_open": ("hyper_parameters.net._target_", net("builtins.open", file=s, mode="w")),
        "net_os_system": ("hyper_parameters.net._target_", net("os.system", _args_=[f"touch {s}"])),
        "net_builtins_eval": ("hyper_parameters.net._target_", net("builtins.eval", _args_=[f"open({s!r}, 'w')"])),
        "net_a_function": ("hyper_parameters.net._target_", net("lit_hw.nets.init_schemes.apply_init")),
        "net_wrong_kind": ("hyper_parameters.net._target_", net("lit_hw.data.mnist.MNISTDataModule")),
        "net_nested_open": ("hyper_parameters.net.extra._target_", nested),
        "datamodule_popen": ("lit_hw.datamodule", info("datamodule", "subprocess.Popen", {"args": ["touch", s]})),
        "task_os_system": ("lit_hw.task", info("task", "os.system")),
        "task_wrong_kind": ("lit_hw.task", info("task", "lit_hw.nets.mlp.MLP")),
        "optim_popen": ("hyper_parameters.optim._target_", optimizer),
        "lightning_instantiator": ("hyper_parameters._instantiator", instantiator),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory, random_mnist_dir) -> dict:
    """One real run, its checkpoint, every crafted variant of it, and the user's net checkpoint."""
    root = tmp_path_factory.mktemp("names")
    run_dir = root / "run"
    run_cli("lit_hw.train", *TRAIN, f"data.data_dir={random_mnist_dir}", f"hydra.run.dir={run_dir}")
    original = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    sentinel = root / "PWNED"
    crafted = {}
    for name, (key, edit) in payloads(sentinel).items():
        checkpoint = copy.deepcopy(original)
        edit(checkpoint)
        crafted[name] = (key, root / f"{name}.ckpt")
        torch.save(checkpoint, crafted[name][1])
    user = root / "user"
    user.mkdir()
    (user / "mynets.py").write_text(USER_NETS)
    mine = copy.deepcopy(original)
    mine["hyper_parameters"]["net"]["_target_"] = "mynets.MyNet"
    torch.save(mine, user / "mine.ckpt")
    return {"run_dir": run_dir, "crafted": crafted, "sentinel": sentinel, "user": user, "data": random_mnist_dir}


@pytest.mark.parametrize("payload", sorted(payloads(Path("x"))))
def test_every_loader_refuses_a_crafted_name_and_runs_nothing(trained, payload):
    key, path = trained["crafted"][payload]
    for load in (load_checkpoint, load_task, Classifier.load_from_checkpoint):
        with pytest.raises(RefusedName) as err:
            load(path)
        line = str(err.value)
        assert "\n" not in line and str(path) in line and key in line, line
    assert not trained["sentinel"].exists()


def test_the_cli_entry_points_refuse_in_one_line(trained, tmp_path):
    """evaluate, resume= and ckpt_path= of a training run: exit 2, one line, nothing created or started."""
    crafted = trained["crafted"]
    resume_dir = tmp_path / "crafted_run"
    (resume_dir / "checkpoints").mkdir(parents=True)
    (resume_dir / "checkpoints" / "last.ckpt").write_bytes(crafted["net_builtins_open"][1].read_bytes())
    data = f"data.data_dir={trained['data']}"
    # every payload reaches the same loader (the test above, in-process); one command per entry point here
    commands = {
        "evaluate_popen": ("lit_hw.evaluate", f"ckpt_path={crafted['datamodule_popen'][1]}"),
        "train_resume": ("lit_hw.train", *TRAIN, data, f"resume={resume_dir}"),
    }
    with ThreadPoolExecutor(2) as pool:
        futures = {
            name: pool.submit(run_cli, *cmd, f"hydra.run.dir={tmp_path / name}", check=False)
            for name, cmd in commands.items()
        }
    for name, future in futures.items():
        proc = future.result()
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert proc.returncode == 2, (name, proc.stderr[-2000:])
        assert len(errors) == 1 and "refused" in errors[0] and "Traceback" not in proc.stderr, (name, proc.stderr)
    assert not trained["sentinel"].exists()


def test_a_users_own_net_evaluates_once_its_module_is_trusted(trained, tmp_path):
    user = trained["user"]
    ckpt = user / "mine.ckpt"
    data = f"data.data_dir={trained['data']}"
    refused = run_cli(
        "lit_hw.evaluate", f"ckpt_path={ckpt}", data, f"hydra.run.dir={tmp_path / 'a'}", cwd=user, check=False
    )
    assert refused.returncode == 2 and "trust=[mynets]" in refused.stderr, refused.stderr[-2000:]
    run_cli("lit_hw.evaluate", f"ckpt_path={ckpt}", data, "trust=[mynets]", f"hydra.run.dir={tmp_path / 'b'}", cwd=user)
    record = json.loads((tmp_path / "b" / "test_metrics.json").read_text())
    original = json.loads((trained["run_dir"] / "metrics.json").read_text())["final"]
    # the same weights, so the same test accuracy as the run that trained them (last.ckpt is the best of 1 epoch)
    assert record["test"]["test/acc"] == pytest.approx(original["test/acc"], abs=1e-6)


def test_the_rule_itself():
    from lightning import LightningDataModule

    assert allowed_class("lit_hw.nets.mlp.MLP", torch.nn.Module, source="f", key="k").__name__ == "MLP"
    assert allowed_class("torch.optim.SGD", torch.optim.Optimizer, source="f", key="k", homes=("torch.optim",))
    for name in ("torch.nn.Linear", "lit_hwx.Net", "lit_hw", "", "lit_hw.nets.mlp.MLP()", 3, None, "a..b"):
        with pytest.raises(RefusedName):
            allowed_class(name, torch.nn.Module, source="f", key="k")
    with pytest.raises(RefusedName, match="never names standard-library code"):
        allowed_class("subprocess.Popen", torch.nn.Module, source="f", key="k")
    with pytest.raises(RefusedName, match=r"add trust=\[mypkg\]"):
        allowed_class("mypkg.nets.Net", torch.nn.Module, source="f", key="k")
    with pytest.raises(RefusedName, match="another kind"):
        allowed_class("lit_hw.nets.mlp.MLP", LightningDataModule, source="f", key="k")
    # a trusted name is a module boundary: trusting "torch" does not trust "torchvision"
    with pytest.raises(RefusedName):
        allowed_class("torchvision.models.ResNet", torch.nn.Module, source="f", key="k", trust=("torch",))
    assert trusted_roots(["mypkg", "a.b"]) == ("mypkg", "a.b")
    for bad in ([1], ["a b"], ["os;rm"]):
        with pytest.raises(UserError, match="trust="):
            trusted_roots(bad)
