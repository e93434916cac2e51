"""A fast real trainable: a shaped MLP and its recipe, searched jointly, on scikit-learn's digits.

The digits set (1797 8x8 grey images, 10 classes) ships inside scikit-learn, so this task
needs no download and trains an epoch in milliseconds on one CPU thread: it is what the tests
and ``examples/quickstart.yaml`` run. The architecture is the ``funnel_mlp`` fragment (under
``arch:``), the recipe the ``training_recipe`` fragment (under ``recipe:``)::

    space:
      arch: {include: funnel_mlp}
      recipe: {include: training_recipe}

Reference it as ``trainable: {function: "trainables.tabular:train_mlp", args: {max_epochs: 27}}``
with ``max_epochs`` equal to ``resource.max`` (the learning-rate schedule's horizon).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .context import TrainContext
from .recipe import Recipe, dropout_rate
from .training import Split, epoch_seed, schedule_horizon, train_segment

__all__ = ["ACTIVATIONS", "SHAPES", "build_mlp", "digits_split", "hidden_widths", "train_mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
SHAPES = ("brick", "funnel", "long_funnel", "diamond", "triangle")
SPLIT_SEED = 0  # the validation split is the same for every trial, so their errors compare


def hidden_widths(shape: str, max_units: int, num_layers: int) -> list[int]:
    """Widths of the hidden layers for a shape rule of ``funnel_mlp`` (see its comment).

    brick: all ``max_units``; funnel: linear from ``max_units`` down to ``max_units / num_layers``;
    long_funnel: ``max_units`` for the first half (rounded up), then linear down like funnel;
    diamond: from ``max_units`` up to ``2 * max_units`` in the middle and back; triangle: linear
    from ``max_units / num_layers`` up to ``max_units``. One layer is ``[max_units]`` for all.
    """
    m, n = float(max_units), int(num_layers)
    if n < 1 or max_units < 1:
        raise ValueError(f"num_layers and max_units must be >= 1, got {num_layers} and {max_units}")
    if shape not in SHAPES:
        raise ValueError(f"arch.shape: unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    low = m / n
    if n == 1 or shape == "brick":
        widths = [m] * n
    elif shape == "funnel":
        widths = [m - i * (m - low) / (n - 1) for i in range(n)]
    elif shape == "triangle":
        widths = [low + i * (m - low) / (n - 1) for i in range(n)]
    elif shape == "long_funnel":
        flat = math.ceil(n / 2)
        rest = n - flat
        widths = [m] * flat + [m - (j + 1) * (m - low) / rest for j in range(rest)]
    else:  # diamond
        mid = (n - 1) / 2
        widths = [m * (2.0 - abs(i - mid) / mid) for i in range(n)]
    return [max(1, round(w)) for w in widths]


def build_mlp(config: Mapping[str, Any], in_features: int, classes: int) -> nn.Sequential:
    """The MLP of a config's ``arch.*`` keys: [Linear, activation, Dropout] per hidden layer, then Linear.

    Absent keys take the fragment's middle-of-the-road values (2 layers of 128, brick, relu).
    """
    widths = hidden_widths(
        str(config.get("arch.shape", "brick")), int(config.get("arch.max_units", 128)), int(config.get("arch.num_layers", 2))
    )
    activation = str(config.get("arch.activation", "relu"))
    if activation not in ACTIVATIONS:
        raise ValueError(f"arch.activation: unknown activation {activation!r} (known: {', '.join(ACTIVATIONS)})")
    p = dropout_rate(config)
    layers: list[nn.Module] = []
    previous = in_features
    for width in widths:
        layers += [nn.Linear(previous, width), ACTIVATIONS[activation]()]
        if p > 0:
            layers.append(nn.Dropout(p))
        previous = width
    layers.append(nn.Linear(previous, classes))
    return nn.Sequential(*layers)


@functools.lru_cache(maxsize=4)
def digits_split(val_fraction: float = 0.2) -> Split:
    """scikit-learn's digits, pixels scaled to [0, 1], with a fixed stratified validation split.

    Cached per process: a long-lived worker loads it once for all the segments it runs.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x.astype(np.float32) / 16.0, y.astype(np.int64), test_size=val_fraction, random_state=SPLIT_SEED, stratify=y
    )
    return Split(torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_va), torch.from_numpy(y_va))


def train_mlp(config: dict[str, Any], ctx: TrainContext, max_epochs: int | None = None, val_fraction: float = 0.2) -> None:
    """Train the funnel MLP of ``config`` with its recipe on digits, one epoch per resource unit.

    Reports ``val_error``, ``val_loss`` and ``train_loss`` every epoch; checkpoints at rungs.
    ``max_epochs`` is the learning-rate schedule's horizon and must be the search's
    ``resource.max`` (default: ``ctx.resource_max`` where the executor provides it, else 27).
    Same config and ``ctx.seed`` give the same curve, however it is split into segments.
    """
    horizon = schedule_horizon(max_epochs, ctx, default=27)
    data = digits_split(float(val_fraction))
    recipe = Recipe.from_config(config)
    torch.manual_seed(epoch_seed(ctx.seed, 0))  # initial weights: a function of the seed alone
    model = build_mlp(config, in_features=data.x_train.shape[1], classes=10)
    train_segment(ctx, model, recipe, data, horizon)

