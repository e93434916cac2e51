"""One segment of supervised classification training, shared by the tabular and vision trainables.

`train_segment` is the loop of the trainable API (see `trainables.context`): build the
optimizer and schedule from the recipe, resume from the checkpoint if there is one, then for
each epoch of the segment train, evaluate, checkpoint at rungs, and report.

Determinism is designed in rather than hoped for, because checkpointed promotion must not
change results: a trial trained 0->1, paused, and resumed 1->3 (possibly on another worker)
reports the same metrics as one trained 0->3 in one go. Every epoch's randomness (data order,
augmentation, dropout) comes from a generator seeded with (trial seed, epoch), so it does not
depend on how many epochs this process has run before; the model, optimizer and schedule state
come from the checkpoint. On CPU the curves are bit-identical; on GPU they are as identical as
the cuDNN kernels are.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .context import TrainContext
from .recipe import Recipe, build_optimizer, build_scheduler

__all__ = ["Split", "epoch_seed", "evaluate", "schedule_horizon", "train_segment"]

# Turns a batch of stored inputs (e.g. uint8 images) into model inputs; may be identity.
Prepare = Callable[[torch.Tensor], torch.Tensor]
# Random augmentation of a prepared training batch; draws from torch's global RNG.
Augment = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Split:
    """Training and validation tensors of one task (inputs as stored, integer labels)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    def to(self, device: str | torch.device) -> Split:
        return Split(*(t.to(device) for t in (self.x_train, self.y_train, self.x_val, self.y_val)))


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed for one epoch of one trial, a pure function of (seed, epoch)."""
    state = np.random.SeedSequence([int(seed), int(epoch), 0x72756E67]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def schedule_horizon(max_epochs: int | None, ctx: TrainContext, default: int) -> int:
    """The schedule's horizon: the `max_epochs` argument, else ``ctx.resource_max`` where the
    executor sets one, else `default`. It must be the search's maximum resource."""
    if max_epochs is None:
        max_epochs = getattr(ctx, "resource_max", None) or default
    if isinstance(max_epochs, bool) or int(max_epochs) != max_epochs or max_epochs < 1:
        raise ValueError(f"max_epochs must be a whole number >= 1, got {max_epochs!r}")
    return int(max_epochs)


def _finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _train_epoch(
    model: nn.Module, data: Split, recipe: Recipe, optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler, prepare: Prepare, augment: Augment | None,
) -> float:
    """One pass over the training data in a fresh random order; returns the mean training loss."""
    model.train()
    n = data.x_train.shape[0]
    order = torch.randperm(n).to(data.x_train.device)
    total = torch.zeros((), device=data.x_train.device)
    for begin in range(0, n, recipe.batch_size):
        idx = order[begin:begin + recipe.batch_size]
        xb = prepare(data.x_train[idx])
        if augment is not None:
            xb = augment(xb)
        loss = F.cross_entropy(model(xb), data.y_train[idx], label_smoothing=recipe.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.detach() * idx.shape[0]
    return float(total) / n


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, prepare: Prepare, batch: int = 1000) -> tuple[float, float]:
    """(error rate, mean cross-entropy without label smoothing) on a held-out set.

    The loss has no label smoothing so it means the same for every recipe. A row of non-finite
    logits (a diverged network) counts as an error.
    """
    model.eval()
    wrong = 0
    loss = 0.0
    for begin in range(0, x.shape[0], batch):
        logits = model(prepare(x[begin:begin + batch]))
        yb = y[begin:begin + batch]
        ok = (logits.argmax(dim=1) == yb) & torch.isfinite(logits).all(dim=1)
        wrong += int((~ok).sum())
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
    n = x.shape[0]
    return wrong / n, loss / n


def train_segment(
    ctx: TrainContext,
    model: nn.Module,
    recipe: Recipe,
    data: Split,
    horizon: int,
    prepare: Prepare = lambda x: x,
    augment: Augment | None = None,
) -> None:
    """Train `model` from ``ctx``'s checkpoint (or scratch) to ``ctx.target``, reporting every epoch.

    Each epoch reports ``val_error``, ``val_loss`` and ``train_loss`` (losses are left out of a
    report where they are not finite: a diverged configuration is a bad result, not a crash, and
    its weights cannot recover, so later epochs only re-evaluate it). A checkpoint (model,
    optimizer, schedule, RNGs) is written at every rung level of the segment when the context has
    a checkpoint location, *before* the report, so a recorded rung result always has its
    checkpoint. `StopTrial` from ``ctx.report`` propagates.

    `horizon` is the schedule's length in epochs, the search's maximum resource; a target beyond
    it is refused, since the schedule would have ended.
    """
    if ctx.target > horizon:
        raise ValueError(
            f"trial {ctx.trial}: target {ctx.target:g} epochs is beyond the schedule's horizon of {horizon} "
            f"epochs; set trainable.args.max_epochs to resource.max"
        )
    device = torch.device(ctx.device)
    data = data.to(device)
    model.to(device)
    steps_per_epoch = math.ceil(data.x_train.shape[0] / recipe.batch_size)
    optimizer = build_optimizer(model, recipe)
    scheduler = build_scheduler(optimizer, recipe, steps_per_epoch, horizon)
    start = 0
    if ctx.checkpoint is not None:
        start = ctx.load_checkpoint(model=model, optimizer=optimizer, scheduler=scheduler)
    for epoch in ctx.resources(start):
        torch.manual_seed(epoch_seed(ctx.seed, epoch))  # data order, augmentation, dropout
        metrics: dict[str, float] = {}
        if _finite(model):
            train_loss = _train_epoch(model, data, recipe, optimizer, scheduler, prepare, augment)
            if math.isfinite(train_loss):
                metrics["train_loss"] = train_loss
        else:  # diverged: NaN weights stay NaN, so training on would change nothing
            for _ in range(steps_per_epoch):
                scheduler.step()
        val_error, val_loss = evaluate(model, data.x_val, data.y_val, prepare)
        metrics["val_error"] = val_error
        if math.isfinite(val_loss):
            metrics["val_loss"] = val_loss
        if ctx.is_rung(epoch) and ctx.checkpoint_out is not None:
            ctx.save_checkpoint(epoch, model=model, optimizer=optimizer, scheduler=scheduler)
        ctx.report(epoch, **metrics)
