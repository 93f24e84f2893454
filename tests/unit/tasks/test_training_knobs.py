"""The training knobs (issue 11, parts 5-6): lr schedules, model summary, bf16, torch.compile, the config
tree, tags. Each trains a few steps in-process on 600 noise images (550 train: 9 minibatches of 64, in
step chunks of 8 + 1)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from lit_hw.core.errors import ConfigError
from lit_hw.train import train

CONF = Path(__file__).resolve().parents[3] / "conf"
LR = 1e-3  # conf/optim/adam.yaml


def config(out: Path, *overrides: str, name: str = "train"):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(name, overrides=[f"paths.output_dir={out}", *overrides])


def run(out: Path, data_dir: Path, *overrides: str) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    train(config(out, "data.source=local", f"data.data_dir={data_dir}", "logger=none",
                 "trainer.accelerator=cpu", "callbacks.progress_bar.refresh_rate=0", "print_config=false",
                 "trainer.max_epochs=3", *overrides))  # fmt: skip
    return json.loads((out / "metrics.json").read_text())


def lrs(record: dict) -> list[float]:
    return [row["train/lr"] for row in record["history"]]


def test_without_a_scheduler_the_lr_is_logged_and_constant(tmp_path, random_mnist_dir):
    record = run(tmp_path, random_mnist_dir, "trainer.max_epochs=2")
    assert record["status"] == "ok" and lrs(record) == pytest.approx([LR, LR])


def test_cosine_anneals_over_max_epochs_and_reaches_tensorboard(tmp_path, random_mnist_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    record = run(tmp_path, random_mnist_dir, "optim.scheduler=cosine", "logger=tensorboard")
    # CosineAnnealingLR, T_max = 3 epochs: lr_e = lr * (1 + cos(pi e / 3)) / 2
    assert lrs(record) == pytest.approx([LR * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)])
    logged = []  # the fit, the test and the final hparams each write an event file
    for events in sorted((tmp_path / "tensorboard").glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events)).Reload()
        if "train/lr" in accumulator.Tags()["scalars"]:
            logged += [event.value for event in accumulator.Scalars("train/lr")]
    assert logged == pytest.approx(lrs(record))


def test_step_multiplies_the_lr_by_gamma_and_continues_after_a_resume(tmp_path, random_mnist_dir):
    args = ("optim.scheduler=step", "optim.scheduler_args.step.step_size=1", "optim.scheduler_args.step.gamma=0.5")
    first = run(tmp_path / "a", random_mnist_dir, *args, "trainer.max_epochs=2")
    assert lrs(first) == pytest.approx([LR, LR / 2])
    # last.ckpt is written before the epoch's end hook: the resumed run must not repeat epoch 1's lr
    resumed = run(tmp_path / "b", random_mnist_dir, *args, "trainer.max_epochs=4",
                  f"ckpt_path={tmp_path / 'a' / 'checkpoints' / 'last.ckpt'}")  # fmt: skip
    assert lrs(resumed) == pytest.approx([LR, LR / 2, LR / 4, LR / 8])


@pytest.mark.parametrize(
    "length, steps",
    [
        (["trainer.max_epochs=3"], 27),  # full epochs: 3 x 9 optimizer steps, in 3 x 2 loader batches
        (["+trainer.max_steps=16"], 16),  # stops inside the chunk of 8 that reaches step 16: 9 + 7
        (["trainer.max_epochs=2", "trainer.limit_train_batches=3"], 6),  # 3 optimizer steps an epoch
        (["debug=fdr"], 1),  # fast_dev_run: max_steps=1, the first chunk's first step
    ],
)
def test_onecycle_steps_once_per_optimizer_step_to_the_end_of_its_cycle(tmp_path, random_mnist_dir, length, steps):
    # OneCycleLR raises after total_steps steps: a count of loader batches, not optimizer steps, fails here
    record = run(tmp_path, random_mnist_dir, "optim.scheduler=onecycle", *length)
    assert record["status"] == "ok" and record["history"][-1]["step"] == steps
    assert lrs(record)[-1] == pytest.approx(LR / 25 / 1e4)  # annealed to its end exactly at the run's last step
    if len(record["history"]) > 1:  # and warmed up from lr/25 to about lr in between
        assert max(lrs(record)) > LR / 2


@pytest.mark.parametrize(
    "override, phrase",
    [
        ("optim.scheduler=cosin", "optim.scheduler='cosin' is not a known lr scheduler; choose one of none, cosine"),
        ("+optim.scheduler_args.step.T_max=3", "optim.scheduler_args.step.T_max is not a setting of StepLR"),
        ("optim.scheduler_args.step.gamma=-1", "optim.scheduler_args.step.gamma=-1 must be a positive"),
        ("tags=foo", "tags='foo' must be a list of labels, e.g. tags=[a,b]"),
        ("tags=[a,[b]]", "must be a list of labels"),
        ("compile=yes", "compile='yes' must be true or false"),
    ],
)
def test_bad_knobs_fail_before_training_in_one_line(tmp_path, random_mnist_dir, override, phrase):
    extra = ["optim.scheduler=step"] if "scheduler_args.step" in override else []
    with pytest.raises(ConfigError) as err:
        run(tmp_path, random_mnist_dir, *extra, override)
    assert phrase in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "metrics.json").exists()


def test_the_scheduler_keys_do_not_reach_the_optimizer_and_old_configs_have_none():
    from lit_hw.tasks.optim import build_optimizer
    from lit_hw.tasks.schedules import resolve_schedule

    optim = {"_target_": "torch.optim.SGD", "lr": 0.1, "scheduler": "step", "scheduler_args": {"step": {}}}
    assert type(build_optimizer(torch.nn.Linear(2, 1).parameters(), optim)) is torch.optim.SGD
    assert resolve_schedule({"name": "sgd", "lr": 0.1}) == ("none", {})  # a checkpoint before lit_hw 0.3


def test_model_summary_tags_and_config_tree(tmp_path, random_mnist_dir, capsys, caplog):
    caplog.set_level(logging.INFO, logger="lit_hw.train")
    record = run(tmp_path / "a", random_mnist_dir, "trainer.max_epochs=1", "trainer.limit_train_batches=1",
                 "print_config=true", "tags=[baseline,2024]")  # fmt: skip
    net = instantiate(config(tmp_path).model)
    params = sum(p.numel() for p in net.parameters())
    assert record["model"] == {"name": "MLP", "params": params, "trainable_params": params}
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("model:")] == [
        f"model: MLP, {params:,} parameters ({params:,} trainable)"
    ]
    assert record["tags"] == ["baseline", "2024"]
    printed = capsys.readouterr().out
    assert printed.startswith("config\n") and "├── optim" in printed and "scheduler: none" in printed

    record = run(tmp_path / "b", random_mnist_dir, "trainer.max_epochs=1", "trainer.limit_train_batches=1")
    assert record["tags"] == [] and "├── optim" not in capsys.readouterr().out


def test_bf16_mixed_trains_on_cpu(tmp_path, random_mnist_dir):
    args = ("trainer.max_epochs=1", "trainer.limit_train_batches=1", "test=false")
    full = run(tmp_path / "fp32", random_mnist_dir, *args)
    half = run(tmp_path / "bf16", random_mnist_dir, *args, "trainer.precision=bf16-mixed")
    assert half["status"] == "ok" and all(math.isfinite(row["train/loss"]) for row in half["history"])
    # the same seed and batches: only bf16 arithmetic makes the losses differ
    assert half["history"][-1]["train/loss"] != full["history"][-1]["train/loss"]


def test_bf16_mixed_autoencoder_scores_its_bfloat16_codes(tmp_path, random_mnist_dir):
    # its test step hands the codes to sklearn (kNN, silhouette), which cannot read bfloat16
    record = run(tmp_path, random_mnist_dir, "model=autoencoder", "trainer.precision=bf16-mixed",
                 "trainer.max_epochs=1", "trainer.limit_train_batches=1")  # fmt: skip
    assert record["status"] == "ok" and math.isfinite(record["final"]["test/knn_acc"])


@pytest.mark.slow  # ~15 s on 2 cores with an empty inductor cache, ~5 s with a warm one
def test_compile_trains_and_its_checkpoint_evaluates_as_a_plain_one(tmp_path, random_mnist_dir):
    from lit_hw.evaluate import evaluate

    torch._dynamo.utils.counters.clear()
    # one batch shape for training and one for evaluation: each new shape is another compilation
    record = run(tmp_path / "run", random_mnist_dir, "compile=true", "trainer.max_epochs=1", "data.batch_size=50",
                 "data.eval_batch_size=50", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
                 "trainer.num_sanity_val_steps=0", "test=false")  # fmt: skip
    assert record["status"] == "ok" and torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert not [k for k in torch.load(ckpt, weights_only=True)["state_dict"] if "_orig_mod" in k]
    cfg = config(tmp_path / "eval", f"ckpt_path={ckpt}", "accelerator=cpu", name="evaluate")
    (tmp_path / "eval").mkdir()
    assert 0 <= evaluate(cfg)["test/acc"] <= 1
