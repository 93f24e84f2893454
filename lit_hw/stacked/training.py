"""Train a stack of classifier jobs together: one forward and backward per minibatch for all members.

What the members share, and what each keeps:
  shared   the data: splits, batches and batch order all come from the group's first job (its
           ``seed``), so members that differ only in ``seed`` differ in init and dropout but not
           in the validation split or batch order (their metrics.json says so under ``stacked``)
  own      weights (their seeded init, built as the ordinary job builds them), optimizer state
           and scalars (lr, momentum, betas, weight decay: lit_hw.stacked.optim), dropout
           masks, best checkpoint, history, divergence
A member whose training loss passes its ``max_loss`` or turns NaN/inf is checked, as by the
ordinary job's StopOnDivergence, after each loader batch: it ends its epoch there (validated,
checkpointed, marked ``diverged`` at that step) and leaves the stack; the others train on.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from lit_hw.callbacks.divergence import divergence_record
from lit_hw.callbacks.epoch_seed import seed_for_epoch
from lit_hw.data.tensor_split import StepChunk, split_loader
from lit_hw.stacked.members import StackMember
from lit_hw.stacked.net import StackedNet
from lit_hw.stacked.optim import StackedOptimizer
from lit_hw.tasks.optim import resolve_optimizer


def batch_limit(total: int, limit) -> int:
    """Lightning's reading of trainer.limit_*_batches: a count, or a fraction of the batches."""
    if limit is None:
        return total
    return min(total, int(limit)) if isinstance(limit, int) else int(total * float(limit))


@torch.no_grad()
def evaluate(net: StackedNet, loader, weights: dict, limit) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean loss, accuracy) per member of ``weights`` over a loader, as the ordinary task logs them."""
    net.eval()
    members = len(next(iter(weights.values())))
    loss_sum = torch.zeros(members, dtype=torch.float64)
    correct = torch.zeros(members, dtype=torch.long)
    count, batches = 0, batch_limit(len(loader), limit)
    for i, (x, y) in enumerate(loader):
        if i >= batches:
            break
        logits = net(x, weights)
        losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(members), reduction="none").view(members, -1)
        loss_sum += losses.sum(1).double().cpu()
        correct += (logits.argmax(-1) == y).sum(1).cpu()
        count += len(y)
    net.train()
    return loss_sum / max(count, 1), correct.double() / max(count, 1)


class StackTrainer:
    def __init__(self, members: list[StackMember], device: torch.device, progress: bool = True):
        self.members = members
        self.device = device
        self.progress = progress
        first = members[0]
        self.datamodule = first.parts.datamodule
        self.cfg = first.cfg
        self.net = StackedNet([m.task.net.to(device) for m in members])
        target = first.task.optim_config["_target_"]
        args = [resolve_optimizer(m.task.optim_config)[1] for m in members]
        self.optimizer = StackedOptimizer(self.net.parameters(), target, args)
        self.active = list(range(len(members)))  # stack row -> member index
        self.step = 0

    # -- data ----------------------------------------------------------------------------------
    def loaders(self):
        dm = self.datamodule
        dm.prepare_data()
        dm.setup("fit")
        if self.device.type != "cpu" and dm.on_device:
            dm.splits = {name: split.to(self.device) for name, split in dm.splits.items()}
        return dm

    def eval_rows(self, rows: list[int]) -> list[dict]:
        """Validation (and per-epoch test) metrics of stack rows ``rows``, one dict each."""
        trainer_cfg = self.cfg.trainer
        weights = self.net.current(torch.tensor(rows, device=self.device))
        results = [{} for _ in rows]
        stages = [("val", self.datamodule.splits["val"])]
        if self.datamodule.test_every_epoch:
            stages.append(("test_epoch", self.datamodule.splits["test"]))
        for stage, split in stages:
            loader = split_loader(split, self.datamodule.eval_batch_size, shuffle=False)
            losses, accs = evaluate(self.net, loader, weights, trainer_cfg.get("limit_val_batches"))
            for result, loss, acc in zip(results, losses.tolist(), accs.tolist()):
                result.update({f"{stage}/loss": loss, f"{stage}/acc": acc})
        return results

    # -- one epoch ------------------------------------------------------------------------------
    def end_epoch_of(self, rows: list[int], epoch: int, sums: dict, started: float) -> None:
        """Close the epoch of stack rows ``rows``: validate, record, checkpoint."""
        elapsed = round(time.perf_counter() - started, 6)
        evaluated = self.eval_rows(rows)
        for row, metrics in zip(rows, evaluated):
            member = self.members[self.active[row]]
            count = max(sums["count"], 1)
            lr = float(self.optimizer.hyper["lr"][row])
            history_row = {
                "epoch": epoch,
                "step": self.step,
                **metrics,
                "train/acc": float(sums["correct"][row]) / count,
                "train/loss": float(sums["loss"][row]) / count,
                "train/lr": lr,
            }
            history_row = {**dict(sorted(history_row.items())), "train_time_s": elapsed}
            member.end_epoch(history_row)
            weights = self.net.member_state_dict(row)
            state = self.optimizer.member_state(row)
            if member.improved(history_row.get(member.cfg.monitor.metric, math.nan)):
                member.save_best(weights, epoch, self.step, state)
                member.best_weights = weights
            member.save_checkpoint("last", weights, epoch, self.step, state)
            member.last_weights = weights

    def drop_rows(self, rows: list[int], sums: dict) -> None:
        keep = [r for r in range(len(self.active)) if r not in rows]
        index = torch.tensor(keep, device=self.device)
        self.net.keep(index)
        self.optimizer.keep(index, self.net.parameters())
        sums["loss"], sums["correct"] = sums["loss"][index], sums["correct"][index]
        self.active = [self.active[r] for r in keep]

    def train_epoch(self, epoch: int, bar) -> None:
        dm = self.datamodule
        loader = dm.train_dataloader()
        loader.batch_sampler.set_epoch(epoch)
        seed_for_epoch(self.cfg.seed, epoch)  # SeedEachEpoch's seeding: dropout draws as in the ordinary job
        members = len(self.active)
        sums = {
            "loss": torch.zeros(members, device=self.device),
            "correct": torch.zeros(members, dtype=torch.long, device=self.device),
            "count": 0,
        }
        started = time.perf_counter()
        limit = batch_limit(len(loader), self.cfg.trainer.get("limit_train_batches"))
        max_loss = torch.tensor(
            [self.members[i].max_loss if self.members[i].max_loss is not None else math.inf for i in self.active],
            device=self.device,
        )
        for b, batch in enumerate(loader):
            if b >= limit or not self.active:
                break
            worst = self.train_batch(batch, sums)
            bad = ~torch.isfinite(worst) | (worst > max_loss)
            if bool(bad.any()):  # one sync per loader batch, as the ordinary job's divergence check
                rows = bad.nonzero().flatten().tolist()
                for row in rows:
                    member = self.members[self.active[row]]
                    member.diverged_at = divergence_record(float(worst[row]), member.max_loss, epoch, self.step)
                self.end_epoch_of(rows, epoch, sums, started)
                self.drop_rows(rows, sums)
                max_loss = max_loss[[r for r in range(len(bad)) if r not in rows]]
            bar.update(1)
        if self.active:
            self.end_epoch_of(list(range(len(self.active))), epoch, sums, started)

    def train_batch(self, batch, sums: dict) -> torch.Tensor:
        """The optimizer steps of one loader batch (a StepChunk holds several); the worst loss per row."""
        minibatches = batch if isinstance(batch, StepChunk) else (batch,)
        worst = None
        for x, y in minibatches:
            members = len(self.active)
            logits = self.net(x)
            losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(members), reduction="none").view(members, -1)
            losses = losses.mean(1)
            self.optimizer.zero_grad()
            losses.sum().backward()
            self.optimizer.step()
            self.step += 1
            with torch.no_grad():
                detached = losses.detach()
                sums["loss"] += detached * len(y)
                sums["correct"] += (logits.detach().argmax(-1) == y).sum(1)
                sums["count"] += len(y)
                # NaN counts as worst: a divergence must not hide behind max()
                detached = torch.where(torch.isnan(detached), torch.full_like(detached, math.inf), detached)
                worst = detached if worst is None else torch.maximum(worst, detached)
        return worst

    # -- the whole run ----------------------------------------------------------------------------
    def fit(self) -> None:
        dm = self.loaders()
        epochs = int(self.cfg.trainer.max_epochs)
        per_epoch = batch_limit(len(dm.train_dataloader()), self.cfg.trainer.get("limit_train_batches"))
        with tqdm(
            total=epochs * per_epoch,
            desc=f"stack of {len(self.members)}",
            disable=not self.progress,
            unit="batch",
            leave=False,
        ) as bar:
            for epoch in range(epochs):
                if not self.active:
                    break
                self.train_epoch(epoch, bar)

    def test(self) -> list[dict]:
        """Each member's test metrics with its best weights (the ordinary job tests its best checkpoint)."""
        best = [m.best_weights if m.best_weights is not None else m.last_weights for m in self.members]
        stacked = {k: torch.stack([w[k] for w in best]).to(self.device) for k in best[0]}
        loader = split_loader(self.datamodule.splits["test"], self.datamodule.eval_batch_size, shuffle=False)
        losses, accs = evaluate(self.net, loader, stacked, self.cfg.trainer.get("limit_test_batches"))
        return [{"test/loss": loss, "test/acc": acc} for loss, acc in zip(losses.tolist(), accs.tolist())]
