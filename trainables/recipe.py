"""The training recipe: optimizer, learning-rate schedule and loss settings from ``recipe.*``.

A configuration sampled from a space that includes the ``training_recipe`` fragment under a
``recipe:`` group carries flat dotted keys (``recipe.optimizer``, ``recipe.lr``, ...); keys of
inactive conditional parameters are absent (no ``recipe.momentum`` unless the optimizer is SGD).
`Recipe.from_config` turns them into one typed object; keys the space does not define take the
fragment's defaults, so a space may search only part of the recipe.

The learning-rate schedule is a pure function of the *global* training step and a fixed
horizon (the search's maximum resource), not of the segment being trained: a trial paused at
epoch 3 and promoted to epoch 9 continues the same cosine curve it would have followed in one
uninterrupted run, instead of warming up and decaying again. That is what makes a promoted
trial's learning curve the continuation of the paused one (and lets ASHA's low rungs rank
configurations by the recipe they will actually be trained with).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULES", "Recipe", "build_optimizer", "build_scheduler", "dropout_rate", "lr_factor", "parameter_groups"]

OPTIMIZERS = ("sgd", "adamw", "rmsprop")
SCHEDULES = ("cosine", "step", "constant")


@dataclass(frozen=True)
class Recipe:
    """How a network is trained; field defaults are those of ``spaces/library/training_recipe.yaml``."""

    optimizer: str = "adamw"
    lr: float = 1.0e-3
    momentum: float = 0.9  # sgd
    nesterov: bool = True  # sgd
    beta1: float = 0.9  # adamw
    beta2: float = 0.999  # adamw
    alpha: float = 0.99  # rmsprop smoothing constant
    weight_decay: float = 1.0e-4
    schedule: str = "cosine"
    step_every: float = 0.3  # step schedule: decay every this fraction of the horizon
    step_gamma: float = 0.1  # step schedule: multiply the lr by this at each decay
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    dropout: float = 0.0  # used by a model only when its architecture has no dropout of its own
    batch_size: int = 128
    augment: bool = False  # not in the fragment; examples add `recipe.augment: {type: bool}`

    @classmethod
    def from_config(cls, config: Mapping[str, Any], prefix: str = "recipe.") -> Recipe:
        """Read the ``prefix``-ed keys of a flat config; absent keys keep their defaults.

        Raises ValueError for an optimizer or schedule this module does not implement, naming
        the key, rather than silently training with something else.
        """
        values: dict[str, Any] = {}
        for name, default in cls().__dict__.items():
            key = prefix + name
            if key in config:
                value = config[key]
                values[name] = type(default)(value) if not isinstance(default, bool) else bool(value)
        recipe = cls(**values)
        if recipe.optimizer not in OPTIMIZERS:
            raise ValueError(f"{prefix}optimizer: unknown optimizer {recipe.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
        if recipe.schedule not in SCHEDULES:
            raise ValueError(f"{prefix}schedule: unknown schedule {recipe.schedule!r} (known: {', '.join(SCHEDULES)})")
        if recipe.lr <= 0 or recipe.batch_size < 1:
            raise ValueError(f"{prefix}lr must be > 0 and {prefix}batch_size >= 1, got {recipe.lr} and {recipe.batch_size}")
        return recipe


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weight matrices and conv kernels only, not on biases or norm scales.

    Decaying the gain and shift of batch/layer norm (1-D parameters) fights the normalization
    rather than regularizing the function, the usual practice since Goyal et al. 2017.
    """
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(params: Iterable[Any] | nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over a model (weight decay as in `parameter_groups`) or param groups.

    AdamW's weight decay is decoupled (Loshchilov & Hutter 2019); SGD's and RMSprop's is the
    classic L2 term added to the gradient, as torch implements them. Nesterov needs a
    momentum > 0, so it is dropped when momentum is 0 (a pinned `momentum: 0` is plain SGD).
    """
    groups = parameter_groups(params, recipe.weight_decay) if isinstance(params, nn.Module) else params
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=recipe.lr, momentum=recipe.momentum,
            nesterov=bool(recipe.nesterov and recipe.momentum > 0), weight_decay=recipe.weight_decay,
        )
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr, betas=(recipe.beta1, recipe.beta2), weight_decay=recipe.weight_decay)
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=recipe.lr, alpha=recipe.alpha, weight_decay=recipe.weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


def lr_factor(epochs_done: float, recipe: Recipe, horizon: float) -> float:
    """Multiplier of the base lr after `epochs_done` (fractional) epochs of a `horizon`-epoch run.

    Linear warm-up over the first ``warmup_epochs`` (capped at the horizon), then:
    ``cosine`` decays to 0 at the horizon (Loshchilov & Hutter 2017, without restarts) over the
    epochs after warm-up; ``step`` multiplies by ``step_gamma`` every ``step_every * horizon``
    epochs counted from the start, so the decay points are the same fraction of the budget at
    every horizon; ``constant`` stays at 1. Beyond the horizon the factor stays at its final value.
    """
    if horizon <= 0:
        raise ValueError(f"the schedule's horizon must be > 0 epochs, got {horizon}")
    t = min(max(epochs_done, 0.0), float(horizon))
    warmup = min(float(recipe.warmup_epochs), float(horizon))
    if warmup > 0 and t < warmup:
        return t / warmup
    if recipe.schedule == "cosine":
        span = horizon - warmup
        return 0.5 * (1.0 + math.cos(math.pi * (t - warmup) / span)) if span > 0 else 1.0
    if recipe.schedule == "step":
        period = max(recipe.step_every * horizon, 1e-12)
        return recipe.step_gamma ** math.floor(t / period + 1e-9)
    return 1.0


def build_scheduler(
    optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int, horizon: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-batch `LambdaLR` following `lr_factor`; call ``step()`` after every optimizer step.

    Its state (the global step count) goes into the checkpoint, so a resumed segment picks up
    the schedule where the paused one left it. The factor at step k is evaluated at the *end*
    of batch k+1, so warm-up never applies a zero learning rate.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")

    def factor(step: int) -> float:
        return lr_factor((step + 1) / steps_per_epoch, recipe, horizon)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def dropout_rate(config: Mapping[str, Any]) -> float:
    """The dropout a model applies: ``arch.dropout`` where the space has it, else ``recipe.dropout``.

    Both the architecture fragments (``funnel_mlp``, ``macro_cnn``) and ``training_recipe``
    define a dropout, and a space cannot delete a fragment's parameter; the architecture's wins
    because it says where dropout sits. Pin ``recipe.dropout: 0.0`` in a joint space so the
    search does not spend a dimension on a value that is ignored.
    """
    return float(config.get("arch.dropout", config.get("recipe.dropout", 0.0)))
