"""The stacked (hydra/launcher=stacked) training pieces against their single-model originals."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hydra import compose, initialize_config_dir

from lit_hw.stacked.grouping import group_key, why_not_stackable
from lit_hw.stacked.optim import StackedOptimizer
from lit_hw.stacked.optim import why_not_stackable as optimizer_not_stackable
from lit_hw.tasks.classifier import Classifier
from tests.helpers.cli import ROOT, run_cli
from tests.helpers.sweeps import QUICK, data_args, summary_rows

# three members each, differing in every scalar the stack keeps per member
CASES = {
    "sgd_momentum": (
        "torch.optim.SGD",
        [
            {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
            {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0, "dampening": 0.5},
            {"lr": 0.5, "momentum": 0.5, "weight_decay": 1e-3, "dampening": 0.1},
        ],
    ),
    "sgd_nesterov": ("torch.optim.SGD", [{"lr": lr, "momentum": 0.9, "nesterov": True} for lr in (0.1, 0.03, 0.3)]),
    "adam": (
        "torch.optim.Adam",
        [{"lr": 1e-3}, {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 1e-4}, {"lr": 0.1, "eps": 1e-6}],
    ),
    "adamw": (
        "torch.optim.AdamW",
        [{"lr": 1e-3}, {"lr": 1e-2, "weight_decay": 0.1}, {"lr": 3e-3, "betas": (0.5, 0.9)}],
    ),
}


def member_net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


@pytest.mark.parametrize("case", CASES)
def test_stacked_steps_equal_torch_optim_on_each_member_alone(case):
    target, member_args = CASES[case]
    optim_class = {"torch.optim.SGD": torch.optim.SGD, "torch.optim.Adam": torch.optim.Adam}.get(
        target, torch.optim.AdamW
    )
    alone = [member_net(i) for i in range(3)]
    optimizers = [optim_class(net.parameters(), foreach=False, **args) for net, args in zip(alone, member_args)]
    stacked = [torch.stack([p.detach().clone() for p in ps]) for ps in zip(*(n.parameters() for n in alone))]
    stack = StackedOptimizer(stacked, target, member_args)
    data = torch.Generator().manual_seed(0)
    for _ in range(20):
        x, y = torch.randn(8, 12, generator=data), torch.randint(0, 3, (8,), generator=data)
        grads = []
        for net, optimizer in zip(alone, optimizers):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            grads.append([p.grad.clone() for p in net.parameters()])
            optimizer.step()
        for i, param in enumerate(stacked):  # the stack gets the same gradients, all members at once
            param.grad = torch.stack([g[i] for g in grads])
        stack.step()
    for m, net in enumerate(alone):
        for p_alone, p_stacked in zip(net.parameters(), stacked):
            torch.testing.assert_close(p_stacked[m], p_alone.detach(), atol=1e-6, rtol=0)
    # and the members' checkpoint state is torch.optim's
    for m, optimizer in enumerate(optimizers):
        theirs = optimizer.state_dict()["state"]
        for index, entry in stack.member_state(m).items():
            for key, value in entry.items():
                torch.testing.assert_close(value, theirs[index][key].to(value.dtype), atol=1e-6, rtol=0)


def test_what_a_stack_refuses():
    assert optimizer_not_stackable("torch.optim.RMSprop", {"lr": 0.1}).startswith("optimizer torch.optim.RMSprop")
    assert "amsgrad" in optimizer_not_stackable("torch.optim.Adam", {"lr": 0.1, "amsgrad": True})
    assert "maximize" in optimizer_not_stackable("torch.optim.SGD", {"lr": 0.1, "maximize": True})
    assert optimizer_not_stackable("torch.optim.SGD", {"lr": 0.1, "momentum": 0.9}) is None


# -- hydra/launcher=stacked, end to end ------------------------------------------------------------
def sweep_records(sweep):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))}


@pytest.fixture(scope="module")
def lr_sweeps(tmp_path_factory, real_mnist_dir):
    """The same SGD lr sweep (lr=10 diverges) on the basic launcher and stacked."""
    args = [
        "-m",
        "optim=sgd",
        "optim.lr=0.01,0.1,10",
        "optim.momentum=0.5",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=4",
        "data.test_every_epoch=true",
        "trainer=cpu",
        "callbacks.progress_bar.refresh_rate=0",
        *data_args(real_mnist_dir),
    ]  # fmt: skip (TensorBoard on)
    sweeps = {"data": real_mnist_dir}
    for launcher in ("basic", "stacked"):
        sweeps[launcher] = tmp_path_factory.mktemp(launcher) / "sweep"
        run_cli("lit_hw.train", *args, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweeps[launcher]}")
    return sweeps


@pytest.mark.slow
def test_stacked_sweep_gives_the_basic_launchers_results(lr_sweeps):
    basic, stacked = sweep_records(lr_sweeps["basic"]), sweep_records(lr_sweeps["stacked"])
    assert list(basic) == list(stacked) == ["0_optim.lr=0.01", "1_optim.lr=0.1", "2_optim.lr=10"]
    for name, ordinary in basic.items():
        mine = stacked[name]
        assert "stacked" in mine and "stacked" not in ordinary
        assert mine["status"] == ordinary["status"], name
        assert [row["step"] for row in mine["history"]] == [row["step"] for row in ordinary["history"]]
        assert set(mine["final"]) == set(ordinary["final"]), name
        for key, value in ordinary["final"].items():
            if isinstance(value, float) and math.isfinite(value) and value < 100:
                assert mine["final"][key] == pytest.approx(value, abs=2e-3), (name, key)
    assert stacked["2_optim.lr=10"]["status"] == "diverged"
    assert stacked["2_optim.lr=10"]["diverged_at"]["step"] == basic["2_optim.lr=10"]["diverged_at"]["step"]
    assert [r["status"] for r in summary_rows(lr_sweeps["stacked"])] == ["ok", "ok", "diverged"]


@pytest.mark.slow
def test_a_stacked_job_looks_like_an_ordinary_job(lr_sweeps, tmp_path):
    job = lr_sweeps["stacked"] / "1_optim.lr=0.1"
    assert (job / ".hydra" / "overrides.yaml").is_file() and list((job / "tensorboard").glob("events.out.tfevents.*"))
    best = next((job / "checkpoints").glob("best-epoch*.ckpt"))
    checkpoint = torch.load(best, weights_only=True)  # plain tensors and containers
    # what Lightning's own checkpoint of the ordinary job holds, from the member's own callbacks and optimizer
    ordinary = torch.load(next((lr_sweeps["basic"] / job.name / "checkpoints").glob("best-epoch*.ckpt")),
                          weights_only=True)  # fmt: skip
    assert set(checkpoint) == set(ordinary)
    assert set(checkpoint["callbacks"]) == set(ordinary["callbacks"])
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == 0.1
    assert checkpoint["loops"]["fit_loop"]["epoch_progress"] == ordinary["loops"]["fit_loop"]["epoch_progress"]
    task = Classifier.load_from_checkpoint(best, weights_only=True)
    assert isinstance(task.net, torch.nn.Module)
    record = json.loads((job / "metrics.json").read_text())
    run_cli("lit_hw.evaluate", f"ckpt_path={best}", "accelerator=cpu", f"hydra.run.dir={tmp_path}")
    evaluated = json.loads((tmp_path / "test_metrics.json").read_text())["test"]
    assert evaluated["test/acc"] == pytest.approx(record["final"]["test/acc"], abs=1e-6)
    # and an ordinary run continues it: one more epoch, its history carried over
    resumed = tmp_path / "resumed"
    run_cli("lit_hw.train", f"resume={job}", "optim=sgd", "optim.lr=0.1", "optim.momentum=0.5", "trainer.max_epochs=3",
            "trainer.limit_train_batches=4", "data.test_every_epoch=true", *QUICK, *data_args(lr_sweeps["data"]),
            f"hydra.run.dir={resumed}")  # fmt: skip
    history = json.loads((resumed / "metrics.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [0, 1, 2]
    assert history[:2] == record["history"]


def test_what_goes_into_a_stack():
    assert group_key(["optim.lr=0.1", "seed=2", "init=he", "model=mlp"]) == group_key(["optim.lr=1", "model=mlp"])
    assert group_key(["model=mlp", "optim.lr=0.1"]) != group_key(["model=cnn", "optim.lr=0.1"])
    assert group_key(["data.batch_size=32"]) != group_key(["data.batch_size=64"])
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        assert why_not_stackable(compose("train", overrides=["model=cnn"])) is None
        # what the Trainer does, a stack does too: schedules, other tasks, callbacks, precision, limits, presets
        for overrides in (["optim.scheduler=cosine"], ["model=autoencoder"], ["experiment=toy_signals"],
                          ["callbacks=early_stopping"], ["trainer.precision=bf16-mixed", "+task.grad_clip=1"],
                          ["+trainer.max_steps=7", "trainer.limit_train_batches=5"], ["debug=profiler"]):  # fmt: skip
            assert why_not_stackable(compose("train", overrides=overrides)) is None, overrides
        assert "RMSprop" in why_not_stackable(compose("train", overrides=["optim._target_=torch.optim.RMSprop"]))
        assert "amsgrad" in why_not_stackable(compose("train", overrides=["+optim.amsgrad=true"]))
        assert why_not_stackable(compose("train", overrides=["compile=true"])).startswith("compile=true")
        assert why_not_stackable(compose("train", overrides=["trainer.devices=2"])) == "trainer.devices=2"


@pytest.mark.slow
def test_stacked_sweep_groups_by_model_runs_the_rest_as_ordinary_jobs_and_resumes(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    args = ["-m", "model=linear,mlp", "optim.lr=0.01,0.1", "init=he", "trainer.max_epochs=1",
            "trainer.limit_train_batches=2", *QUICK, *data_args(random_mnist_dir), "hydra/launcher=stacked",
            f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = run_cli("lit_hw.train", *args, "+extra=[1]")  # a config value nobody reads; keeps jobs stackable
    records = sweep_records(sweep)
    assert [r["status"] for r in records.values()] == ["ok"] * 4
    stacks = {tuple(r["stacked"]["jobs"]) for r in records.values()}
    assert stacks == {("0_model=linear,optim.lr=0.01", "1_model=linear,optim.lr=0.1"),
                      ("2_model=mlp,optim.lr=0.01", "3_model=mlp,optim.lr=0.1")}  # fmt: skip
    assert "stack of 2 jobs" in proc.stderr + proc.stdout

    # resume: a finished job is kept, an interrupted one trains again
    kept = sweep / "0_model=linear,optim.lr=0.01" / "metrics.json"
    before = kept.read_bytes()
    interrupted = sweep / "3_model=mlp,optim.lr=0.1" / "metrics.json"
    record = json.loads(interrupted.read_text())
    interrupted.write_text(json.dumps({**record, "status": "interrupted"}))
    run_cli("lit_hw.train", *args, "+extra=[1]", "resume_sweep=true")
    assert kept.read_bytes() == before
    assert json.loads(interrupted.read_text())["status"] == "ok"
    assert (sweep / "3_model=mlp,optim.lr=0.1" / "previous_attempts" / "1" / "metrics.json").is_file()

    # a job a stack cannot reproduce (Adam's amsgrad) runs as an ordinary job
    other = tmp_path / "other"
    run_cli("lit_hw.train", *args[:-1], "+optim.amsgrad=true", f"hydra.sweep.dir={other}")
    assert all("stacked" not in r and r["status"] == "ok" for r in sweep_records(other).values())


@pytest.mark.slow
def test_stacks_on_gpu_pool_slots_one_stack_per_slot(tmp_path, random_mnist_dir):
    sweep = tmp_path / "sweep"
    run_cli("lit_hw.train", "-m", "model=linear,mlp", "optim.lr=0.01,0.1", "trainer.max_epochs=1",
            "trainer.limit_train_batches=2", *QUICK, *data_args(random_mnist_dir), "hydra/launcher=stacked",
            "hydra.launcher.cpu_slots=2", f"hydra.sweep.dir={sweep}")  # fmt: skip
    records = sweep_records(sweep)
    assert [r["status"] for r in records.values()] == ["ok"] * 4
    assert {tuple(r["stacked"]["jobs"]) for r in records.values()} == {
        ("0_model=linear,optim.lr=0.01", "1_model=linear,optim.lr=0.1"),
        ("2_model=mlp,optim.lr=0.01", "3_model=mlp,optim.lr=0.1"),
    }
    assert sorted(p.name for p in (sweep / ".stacks").glob("*.log")) == ["0.log", "2.log"]  # a process per stack
    assert [r["status"] for r in summary_rows(sweep)] == ["ok"] * 4


@pytest.mark.parametrize("model", ["mlp", "linear", "cnn"])
def test_a_stack_computes_what_each_member_computes_alone(model):
    from lit_hw.nets.cnn import ConvNet
    from lit_hw.nets.linear import LinearNet
    from lit_hw.nets.mlp import MLP
    from lit_hw.stacked.net import StackedNet

    build = {"mlp": lambda: MLP(hidden_sizes=[32, 16], activation="sigmoid_from_output"), "linear": LinearNet,
             "cnn": ConvNet}[model]  # fmt: skip
    torch.manual_seed(0)
    nets = [build().eval() for _ in range(3)]
    stack = StackedNet(nets).eval()
    assert (stack.layers is not None) == (model != "cnn")  # the layered path, or vmap for the CNN
    x = torch.randn(5, 1, 28, 28)
    out = stack(x)
    for i, net in enumerate(nets):
        torch.testing.assert_close(out[i], net(x), atol=1e-5, rtol=1e-5)
    grads = torch.autograd.grad(out.square().sum(), stack.parameters())
    for i, net in enumerate(nets):
        mine = torch.autograd.grad(net(x).square().sum(), list(net.parameters()))
        for g_stack, g_alone in zip(grads, mine):
            torch.testing.assert_close(g_stack[i], g_alone, atol=1e-4, rtol=1e-4)
    own = torch.randn(3, 5, 1, 28, 28)  # each member its own batch (members that differ in seed)
    out = stack(own, per_member_input=True)
    for i, net in enumerate(nets):
        torch.testing.assert_close(out[i], net(own[i]), atol=1e-5, rtol=1e-5)


def test_each_member_is_clipped_by_its_own_norm_and_follows_its_own_lr():
    alone = [member_net(i) for i in range(3)]
    stacked = [torch.stack([p.detach().clone() for p in ps]) for ps in zip(*(n.parameters() for n in alone))]
    stack = StackedOptimizer(stacked, "torch.optim.SGD", [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}])
    x, y = torch.randn(8, 12) * 10, torch.randint(0, 3, (8,))
    for net in alone:
        torch.nn.functional.cross_entropy(net(x), y).backward()
    for i, param in enumerate(stacked):
        param.grad = torch.stack([list(net.parameters())[i].grad for net in alone])
    stack.clip_member_grad_norms(0.5)
    stack.set_lr(torch.tensor([0.05, 0.5, 0.0]))
    stack.step()
    for m, net in enumerate(alone):
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        with torch.no_grad():
            for p_alone, p_stacked in zip(net.parameters(), stacked):
                torch.testing.assert_close(p_stacked[m], p_alone - [0.05, 0.5, 0.0][m] * p_alone.grad)


@pytest.mark.parametrize(
    "launcher, setting", [("stacked", "hydra.launcher.max_stack=-1"), ("gpu_pool", "hydra.launcher.jobs_per_slot=0")]
)
def test_a_bad_launcher_setting_is_one_line(tmp_path, launcher, setting):
    proc = run_cli("lit_hw.train", "-m", "optim.lr=0.1,0.2", f"hydra/launcher={launcher}", setting, "trainer=cpu",
                   f"hydra.sweep.dir={tmp_path / 'sweep'}", check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {setting}")
    assert not list((tmp_path / "sweep").glob("*/metrics.json"))  # no job ran


@pytest.mark.slow
def test_a_seed_sweep_of_regressors_stacks_each_seed_on_its_own_data(tmp_path):
    """experiment=toy_signals seed=0,1,2: each model's three seeds train as one stack, each seed on its own
    signals (the toy data is drawn from the seed), with the per-target R² of the basic launcher's jobs."""
    small = ["data.n_train=256", "data.n_val=64", "data.n_test=64", "trainer.max_epochs=2", "logger=none",
             "trainer=cpu", "trainer.enable_progress_bar=false"]  # fmt: skip
    sweeps = {}
    for launcher in ("basic", "stacked"):
        sweeps[launcher] = tmp_path / launcher
        run_cli("lit_hw.train", "-m", "experiment=toy_signals", "seed=0,1,2", *small, f"hydra/launcher={launcher}",
                f"hydra.sweep.dir={sweeps[launcher]}")  # fmt: skip
    basic, stacked = sweep_records(sweeps["basic"]), sweep_records(sweeps["stacked"])
    assert list(basic) == list(stacked) and len(stacked) == 6
    assert {len(r["stacked"]["jobs"]) for r in stacked.values()} == {3}
    for name, ordinary in basic.items():
        assert stacked[name]["status"] == ordinary["status"] == "ok"
        r2 = {k: v for k, v in ordinary["final"].items() if k.startswith("test/r2_")}
        assert len(r2) == 4
        for key, value in r2.items():
            assert stacked[name]["final"][key] == pytest.approx(value, abs=2e-3), (name, key)


def test_a_classifier_stack_vectorizes_the_classifiers_own_loss():
    """The stack's one-call loss of M classifiers equals each member's own training_loss and correct count."""
    from lit_hw.stacked.replay import ReplayedNet, replaying

    net = {"_target_": "lit_hw.nets.linear.LinearNet"}
    tasks = [Classifier(net=net, optim={"_target_": "torch.optim.SGD", "lr": 0.1}) for _ in range(3)]
    x, y = torch.randn(3, 8, 1, 28, 28), torch.randint(0, 10, (3, 8))
    logits = torch.stack([task.net(x[i]) for i, task in enumerate(tasks)])
    for batch in ((x[0], y[0]), (x, y)):  # one batch for all, or one per member
        losses, sums = tasks[0].stacked_training_losses(logits, batch)
        for i, task in enumerate(tasks):
            own = batch if batch[1].dim() == 1 else (batch[0][i], batch[1][i])
            task._train_correct = torch.zeros((), dtype=torch.long)
            with replaying(task, ReplayedNet("Classifier"), own[0], logits[i]):
                torch.testing.assert_close(losses[i], task.training_loss(own))
            assert int(sums["_train_correct"][i]) == int(task._train_correct)
