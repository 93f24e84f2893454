"""The stack as one LightningModule: M member tasks, one stacked net, one optimizer step for all.

``lightning.Trainer`` trains it as it trains any task (manual optimization, as lit_hw's tasks do):
its loops, limit_*_batches, max_time, precision, profiler and progress bar serve the stack unchanged.
What is per member stays the member's own: each member is its ordinary task (built, seeded and
checked as the ordinary job builds it), and its own ``training_loss``, ``validation_step`` and epoch
hooks compute its loss and metrics from its slice of the stacked output (``replaying``). What the
member logs goes to the stack's Trainer under its own prefix, where its callbacks and loggers read it
back (lit_hw.stacked.member_trainer). Its lr comes from its own lr scheduler, stepped as the task
steps it, and its gradient is clipped by its own norm (``task.grad_clip``).

A member that stops (its StopOnDivergence, or any callback that sets ``should_stop``) leaves the
stack there, its weights and optimizer state kept in its task; it still validates and closes its
epoch with the others, then is done. The stack stops when every member has.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn

from lit_hw.stacked.net import StackedNet
from lit_hw.stacked.optim import StackedOptimizer
from lit_hw.stacked.replay import MemberLog, ReplayedNet, replaying
from lit_hw.tasks import lightning_adapter as adapter
from lit_hw.tasks.optim import resolve_optimizer


def member_hook(name: str):
    """A LightningModule hook that calls the same hook of every member still running."""

    def hook(self) -> None:
        for member in self.running():
            getattr(self.tasks[member], name)()

    hook.__name__ = name
    return hook


def optimizer_target(optim: dict) -> tuple[str, dict]:
    """(the torch.optim class path a stack knows it by, its arguments)."""
    cls, args = resolve_optimizer(optim)
    return f"torch.optim.{cls.__name__}", args


class StackedTask(L.LightningModule):
    """``tasks``: the members' ordinary tasks, one architecture. ``streams[i]``: the index of member i's
    data stream in a batch of per-member streams (lit_hw.stacked.data), or None when all share one."""

    def __init__(self, tasks: list[L.LightningModule], streams: list[int] | None = None):
        super().__init__()
        self.automatic_optimization = False
        self.tasks = nn.ModuleList(tasks)
        self.replays = [ReplayedNet(type(task).__name__) for task in tasks]
        self.stack = StackedNet([task.net for task in tasks])
        self.streams = streams
        self.rows = list(range(len(tasks)))  # stack row -> member
        self.stopped_at: dict[int, int] = {}  # member out of the stack -> the optimizer step it stopped at
        self.frozen_optimizer_state: dict[int, dict] = {}
        self.done: set[int] = set()  # members whose training is over (stopped and their epoch closed)
        self.grad_clip = tasks[0].grad_clip
        self.optimizer: StackedOptimizer | None = None
        self.member_optimizers: list[torch.optim.Optimizer] = []
        self.epoch_sums: dict[str, torch.Tensor] = {}  # per member, what Task.training_step sums over an epoch

    # -- members -------------------------------------------------------------------------------
    def attach(self, views: list) -> None:
        """Each member task sees its own view of the stack's Trainer, and logs through the stack."""
        for member, (task, view) in enumerate(zip(self.tasks, views)):
            task.trainer = view
            task.log = MemberLog(self, member)

    def detach(self) -> None:
        """The member tasks as ordinary tasks again, holding their final weights (e.g. to be tested)."""
        for row, member in enumerate(self.rows):
            self.tasks[member].net.load_state_dict(self.stack.member_state_dict(row))
        for task in self.tasks:
            del task.log
            task.trainer = None

    def running(self) -> list[int]:
        """Members still training or closing the epoch they stopped in."""
        return [m for m in range(len(self.tasks)) if m not in self.done]

    def member_weights(self, member: int) -> dict[str, torch.Tensor]:
        if member in self.rows:
            self.tasks[member].net.load_state_dict(self.stack.member_state_dict(self.rows.index(member)))
        return self.tasks[member].state_dict()

    def member_optimizer_state(self, member: int) -> dict:
        """Member ``member``'s optimizer as torch.optim's state_dict: what its own optimizer would hold."""
        state = self.member_optimizers[member].state_dict()
        if member in self.rows:
            state["state"] = self.optimizer.member_state(self.rows.index(member))
        else:
            state["state"] = self.frozen_optimizer_state.get(member, {})
        return state

    def stop_member(self, member: int, step: int) -> None:
        """Take a member out of the stack now; it keeps its weights, and validates with them, on its own."""
        if member not in self.rows:
            return
        row = self.rows.index(member)
        self.tasks[member].net.load_state_dict(self.stack.member_state_dict(row))
        self.frozen_optimizer_state[member] = self.optimizer.member_state(row)
        self.stopped_at[member] = step
        self.drop_rows([row])

    def finish_member(self, member: int) -> None:
        """A member's training is over once the epoch it stopped in is closed."""
        self.stop_member(member, self.trainer.global_step)
        self.done.add(member)

    def drop_rows(self, rows: list[int]) -> None:
        keep = [r for r in range(len(self.rows)) if r not in rows]
        if keep:
            index = torch.tensor(keep, device=self.device)
            self.stack.keep(index)
            self.optimizer.keep(index, self.stack.parameters())
        self.rows = [self.rows[r] for r in keep]

    # -- data ----------------------------------------------------------------------------------
    def member_batch(self, batch, member: int):
        if self.streams is None:
            return batch
        return tuple(t[self.streams[member]] for t in batch)

    def stack_outputs(self, batch) -> torch.Tensor:
        """Every stacked member's output on its own batch: (rows, B, ...)."""
        if self.streams is None:
            return self.stack(batch[0])
        return self.stack(batch[0].index_select(0, self.stream_rows(batch[0])), per_member_input=True)

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self):
        self.stack.to(self.device)
        self.member_optimizers = []
        for task in self.tasks:
            # each member's own optimizer and lr scheduler, built by its task as in an ordinary fit, with
            # the stack's Trainer (its limits in optimizer steps, lit_hw.tasks.lightning_adapter)
            view, task.trainer = task.trainer, self.trainer
            built = task.configure_optimizers()
            task.trainer = view
            self.member_optimizers.append(built["optimizer"] if isinstance(built, dict) else built)
        target, _ = optimizer_target(self.tasks[0].optim_config)
        member_args = [optimizer_target(task.optim_config)[1] for task in self.tasks]
        self.optimizer = StackedOptimizer(self.stack.parameters(), target, member_args)
        return self.optimizer

    @property
    def schedule_interval(self) -> str:
        return self.tasks[0]._scheduler_interval  # "epoch", "step", or "" without a schedule

    def follow_schedules(self) -> None:
        """Each stacked member's lr as its own optimizer holds it (its scheduler sets that one)."""
        if self.schedule_interval and self.rows:
            self.optimizer.set_lr([self.member_optimizers[m].param_groups[0]["lr"] for m in self.rows])

    def step_schedules(self) -> None:
        """What Task.training_step does after each optimizer step with a per-step schedule, for each member."""
        for member in self.rows:
            task = self.tasks[member]
            task._last_step_lr = task._scheduler.get_last_lr()[0]
            task._scheduler.step()
        self.follow_schedules()

    @property
    def optimizer_steps_per_epoch(self) -> int | None:
        """Optimizer steps of a training epoch (the progress bar's length), as Task has it."""
        if self._trainer is None or not isinstance(self.trainer.num_training_batches, int):
            return None
        return adapter.optimizer_steps_per_epoch(self.trainer)

    def training_step(self, batch, batch_idx):
        optimizer = self.optimizers()
        losses = worst = None
        # several minibatches in a loader batch (data.steps_per_execution): one optimizer step each, as Task
        for minibatch in adapter.optimizer_minibatches(batch, batch_idx, self.trainer):
            if not self.rows:
                break
            losses = self.member_losses(minibatch)
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(losses.sum())
            if self.grad_clip:
                self.optimizer.clip_member_grad_norms(self.grad_clip)
            optimizer.step()
            if self.schedule_interval == "step":
                self.step_schedules()
            with torch.no_grad():  # NaN counts as worst: a divergence must not hide behind max()
                detached = losses.detach().float()
                detached = torch.where(torch.isnan(detached), math.inf, detached)
                worst = detached if worst is None else torch.maximum(worst, detached)
        adapter.count_logger_steps(self.trainer)
        return {"loss": losses.detach() if losses is not None else None, "worst_loss": worst, "rows": list(self.rows)}

    def member_losses(self, batch) -> torch.Tensor:
        """Each stacked member's training loss, computed by its task from its rows of the output: by the
        task's ``stacked_training_losses`` for all members at once if it has one, else by each member's own
        ``training_loss``. The epoch's sums that Task.training_step keeps are kept per member here."""
        outputs = self.stack_outputs(batch)
        vectorized = getattr(self.tasks[0], "stacked_training_losses", None)
        members = torch.tensor(self.rows, device=outputs.device)
        if vectorized is not None:
            own = batch if self.streams is None else tuple(t.index_select(0, self.stream_rows(t)) for t in batch)
            losses, sums = vectorized(outputs, own)
        else:
            losses, sums = [], {}
            for row, member in enumerate(self.rows):
                task, own = self.tasks[member], self.member_batch(batch, member)
                with replaying(task, self.replays[member], own[0], outputs[row]):
                    losses.append(task.training_loss(own))
            losses = torch.stack(losses)
        size = outputs.shape[1]
        sums = {"_train_loss_sum": losses.detach() * size, "_train_count": torch.full_like(members, size), **sums}
        for name, values in sums.items():
            total = self.epoch_sums.setdefault(
                name, torch.zeros(len(self.tasks), dtype=values.dtype, device=values.device)
            )
            total.index_add_(0, members, values)
        return losses

    def stream_rows(self, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor([self.streams[m] for m in self.rows], device=like.device)

    # -- validation ----------------------------------------------------------------------------
    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        args = (batch_idx, dataloader_idx) if dataloader_idx else (batch_idx,)
        outputs = self.stack_outputs(batch) if self.rows else None
        for row, member in enumerate(self.rows):
            task, own = self.tasks[member], self.member_batch(batch, member)
            with replaying(task, self.replays[member], own[0], outputs[row]):
                task.validation_step(own, *args)
        for member in self.running():
            if member not in self.rows:  # stopped this epoch: validated with the weights it stopped with
                self.tasks[member].validation_step(self.member_batch(batch, member), *args)

    # -- the members' own hooks ----------------------------------------------------------------
    def setup(self, stage: str) -> None:
        for task in self.tasks:
            task.setup(stage)

    def on_train_epoch_start(self) -> None:
        for member in self.running():
            self.tasks[member].on_train_epoch_start()
        self.epoch_sums = {}
        self.follow_schedules()  # an epoch schedule moved each member's lr on

    def on_train_epoch_end(self) -> None:
        for member in self.running():  # the epoch's sums, where the task's own hook reads them
            task = self.tasks[member]
            for name, total in self.epoch_sums.items():
                setattr(task, name, int(total[member]) if name == "_train_count" else total[member])
            task.on_train_epoch_end()

    on_fit_start = member_hook("on_fit_start")
    on_train_start = member_hook("on_train_start")
    on_validation_epoch_start = member_hook("on_validation_epoch_start")
    on_validation_epoch_end = member_hook("on_validation_epoch_end")
    on_train_end = member_hook("on_train_end")
    on_fit_end = member_hook("on_fit_end")
