"""data.steps_per_execution: chunked loading must train exactly like one minibatch per batch."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from lit_hw.core.errors import ConfigError
from lit_hw.data.tensor_datamodule import TensorDataModule
from lit_hw.data.tensor_split import StepChunk, TensorSplit, split_loader
from lit_hw.tasks.classifier import Classifier


class NoiseDigits(TensorDataModule):
    def setup(self, stage=None):
        g = torch.Generator().manual_seed(0)
        x, y = torch.randn(300, 1, 28, 28, generator=g), torch.randint(0, 10, (300,), generator=g)
        self.splits = {
            "train": TensorSplit(x, y),
            "val": TensorSplit(x[:64], y[:64]),
            "test": TensorSplit(x[:64], y[:64]),
        }


def train(steps_per_execution: int, logger=False, **trainer_args):
    L.seed_everything(0, verbose=False)
    task = Classifier(net={"_target_": "lit_hw.nets.mlp.MLP", "hidden_sizes": [32]}, optim={"name": "adam", "lr": 1e-3})
    data = NoiseDigits(
        batch_size=32, eval_batch_size=64, on_device=False, seed=0, steps_per_execution=steps_per_execution
    )
    trainer = L.Trainer(
        **{"max_epochs": 2, **trainer_args},
        accelerator="cpu",
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=data)
    return task, trainer


def test_chunks_hold_the_same_minibatches_in_the_same_order():
    split = TensorSplit(torch.arange(100).float().unsqueeze(1), torch.arange(100))
    plain = [y for _, y in split_loader(split, 16, shuffle=True, seed=1)]
    chunks = list(split_loader(split, 16, shuffle=True, seed=1, steps_per_execution=3))
    assert all(isinstance(c, StepChunk) for c in chunks[:-1])
    chunked = [y for chunk in chunks for _, y in (chunk if isinstance(chunk, StepChunk) else [chunk])]
    assert len(chunked) == len(plain) == 7
    assert all(torch.equal(a, b) for a, b in zip(plain, chunked))


def test_chunked_training_equals_unchunked_training():
    one, trainer_one = train(1)
    eight, trainer_eight = train(8)
    assert trainer_one.global_step == trainer_eight.global_step == 2 * 10  # ceil(300 / 32) steps per epoch
    for (name, a), b in zip(one.state_dict().items(), eight.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    for key in ("train/loss", "train/acc", "val/loss", "val/acc"):
        assert torch.allclose(trainer_one.callback_metrics[key], trainer_eight.callback_metrics[key], atol=1e-6), key


def test_steps_per_execution_must_be_positive():
    with pytest.raises(ConfigError, match="steps_per_execution=0"):
        NoiseDigits(batch_size=32, eval_batch_size=64, on_device=False, seed=0, steps_per_execution=0)


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_the_progress_bar_counts_optimizer_steps(steps_per_execution):
    from lit_hw.callbacks.progress_bar import StepProgressBar

    L.seed_everything(0, verbose=False)
    task = Classifier(net={"_target_": "lit_hw.nets.mlp.MLP", "hidden_sizes": [8]}, optim={"name": "adam", "lr": 1e-3})
    data = NoiseDigits(
        batch_size=32, eval_batch_size=64, on_device=False, seed=0, steps_per_execution=steps_per_execution
    )
    bar = StepProgressBar(refresh_rate=5)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[bar], num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(task, datamodule=data)
    # 300 images at batch 32: 10 optimizer steps, whether they come as 10 batches or 3 chunks of 4
    assert trainer.global_step == 10
    assert bar.train_progress_bar.total == 10 and bar.train_progress_bar.n == 10


def logged_steps(log_dir, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return [event.step for event in events.Scalars(tag)]


@pytest.mark.parametrize(
    "steps_per_execution, trainer_args, steps_per_epoch",
    [
        (4, {}, 10),  # 300 images at batch 32: ceil(300 / 32) optimizer steps, in chunks of 4, 4, 2
        (1, {}, 10),
        (4, {"limit_train_batches": 5}, 5),  # counted in optimizer steps: a chunk of 4 and one cut to 1
        (4, {"limit_train_batches": 0.5}, 5),  # half of the epoch's 10 steps
    ],
)
def test_tensorboard_steps_count_optimizer_steps(tmp_path, steps_per_execution, trainer_args, steps_per_epoch):
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(str(tmp_path), name="", version="")
    task, trainer = train(steps_per_execution, logger=logger, **trainer_args)
    trainer.test(task, datamodule=trainer.datamodule, verbose=False)
    assert trainer.global_step == 2 * steps_per_epoch
    # the train/loss of each epoch, and validation beside it, at the optimizer steps run so far; the test after
    assert logged_steps(tmp_path, "train/loss") == [steps_per_epoch, 2 * steps_per_epoch]
    assert logged_steps(tmp_path, "val/loss") == [steps_per_epoch, 2 * steps_per_epoch]
    assert logged_steps(tmp_path, "test/loss") == [2 * steps_per_epoch]


def test_max_steps_and_a_debug_overfit_stop_inside_a_chunk():
    _, trainer = train(4, max_steps=7)
    assert trainer.global_step == 7
    _, trainer = train(4, max_epochs=2, overfit_batches=6, num_sanity_val_steps=0)
    assert trainer.global_step == 2 * 6


def test_a_validation_interval_between_chunks_is_counted_in_steps():
    task, trainer = train(4, max_epochs=1, val_check_interval=4)
    assert trainer.global_step == 10 and trainer.val_check_batch == 1  # validated after each chunk of 4 steps
    with pytest.raises(
        ConfigError, match=r"trainer.val_check_interval=3 is not a multiple of data.steps_per_execution=4"
    ):
        train(4, max_epochs=1, val_check_interval=3)


def test_divergence_is_checked_every_n_optimizer_steps_by_the_worst_loss_of_a_chunk():
    from types import SimpleNamespace

    from lit_hw.callbacks.divergence import StopOnDivergence

    callback = StopOnDivergence(max_loss=100.0, check_every_n_steps=5)
    trainer = SimpleNamespace(global_step=0, current_epoch=0, should_stop=False)
    checked = []
    # loader batches of 4, 4 and 2 optimizer steps; the middle one hides a diverged step behind a calm last loss
    for batch_idx, (step, worst) in enumerate([(4, 1.0), (8, 1e6), (10, 1.0)]):
        trainer.global_step = step
        outputs = {"loss": torch.tensor(1.0), "worst_loss": torch.tensor(worst)}
        callback.on_train_batch_end(trainer, None, outputs, None, batch_idx)
        checked.append(callback.diverged_at is not None)
    assert checked == [False, True, True] and trainer.should_stop
    assert callback.diverged_at["step"] == 8 and callback.diverged_at["loss"] == 1e6

    # a batch that stays inside the window of the last check (steps 5..9) is not checked: no sync per step
    sparse = StopOnDivergence(max_loss=100.0, check_every_n_steps=5)
    trainer = SimpleNamespace(global_step=0, current_epoch=0, should_stop=False)
    for step in (5, 8):
        trainer.global_step = step
        sparse.on_train_batch_end(trainer, None, {"loss": torch.tensor(1e6 if step == 8 else 1.0)}, None, 0)
    assert sparse.diverged_at is None
    trainer.global_step = 10
    sparse.on_train_batch_end(trainer, None, {"loss": torch.tensor(1e6)}, None, 0)
    assert sparse.diverged_at["step"] == 10
