"""Stacked training: the jobs of a sweep that share an architecture, trained as one vectorized model
under ``lightning.Trainer`` (``hydra/launcher=stacked``).

The contract
------------
Which jobs go into one stack: jobs whose overrides differ only in
``lit_hw.config.override_keys.STACKABLE_KEYS`` (``seed``, ``init``/``init.scheme``, ``optim.lr``,
``optim.momentum``, ``optim.dampening``, ``optim.weight_decay``, ``optim.betas``, ``optim.eps``).
Everything else (model, data, task, trainer, callbacks, schedule, precision) is the same for all of
them, and the Trainer applies it to the stack as it would to one job. Jobs that differ in ``seed``
each keep their own data stream (split, batch order, generated data: lit_hw.stacked.data).

What falls back to ordinary jobs (``grouping.why_not_stackable``, the reason is logged): a task
outside ``grouping.STACKABLE_TASKS``, an optimizer other than SGD/Adam/AdamW or with amsgrad/maximize
(``optim.why_not_stackable``), ``compile=true``, ``resume=``/``ckpt_path=``, several devices or an
explicit strategy (the data stream sharded over processes).

What a net offers: any ``torch.nn.Module`` stacks through ``torch.func`` (vmap over the members'
stacked weights). A net may also offer ``stack_layers() -> nn.Sequential``, the modules its forward
runs in order; if they are Flatten, Linear and element-wise modules (activations, dropout, or a module
with ``elementwise = True``), the stack runs them layer by layer, the first Linear as one product for
all members (faster than vmap on a CPU: lit_hw.nets.mlp, lit_hw.nets.linear).

What a task offers: its steps call ``self.net`` once, on the batch's input ``batch[0]`` (``training_loss``
and ``validation_step``); the stack answers that call with the member's rows of the stacked output, so
the task's own loss, metrics and epoch hooks serve each member (lit_hw.stacked.module). A task may also
offer ``stacked_training_losses(outputs, batch) -> (losses (M,), {epoch sum: (M,)})``, its training loss
for all members in one call (the classifier does: one kernel instead of M). Testing needs nothing: each
member is tested by its own Trainer, as an ordinary job is.

Per member: weights, optimizer state and scalars, lr schedule, gradient clipping (by its own norm),
callbacks (checkpoints, divergence, run record, interrupt checkpoint, early stopping, a user's own:
lit_hw.stacked.fan_out), loggers, run dir, metrics.json (with ``stacked``: the jobs of its stack),
Lightning checkpoints that ``lit_hw.evaluate`` and ``resume=`` read. A member that stops (diverges,
stops early) leaves the stack; the others go on. Shared: the Trainer, its loops and limits, the
progress bar, the per-epoch seeding (from the first member's seed), the data when the data configs
are equal.

Modules: ``grouping`` (the launcher's plan and in-process run), ``pool`` (stacks on gpu_pool's slots,
``hydra.launcher.slots`` / ``cpu_slots``) and ``worker`` (one stack's process there), ``run_stack`` (one
stack: build, fit, test, record), ``members`` (one job of a stack), ``module`` (the LightningModule),
``member_trainer`` and ``fan_out`` (each member's view of the Trainer, its callbacks), ``data``, ``net``,
``optim``; the Hydra shim is hydra_plugins/lit_hw_stacked (installed beside lit_hw).
"""
