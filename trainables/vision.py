"""Fashion-MNIST with a macro CNN and its training recipe, searched jointly.

The architecture is the ``macro_cnn`` fragment (under ``arch:``): 1 to 4 stages, each
``depth`` blocks of conv(``kernel_size``, ``width`` channels) -> normalization -> activation,
the first block of every stage after the first with stride 2; then global average pooling,
dropout and a linear classifier. The recipe is ``training_recipe`` (under ``recipe:``) plus an
optional ``recipe.augment`` bool (random 2-pixel-shift crops and horizontal flips, done with
plain torch ops on the batch, so no torchvision is needed)::

    space:
      arch: {include: macro_cnn}
      recipe: {include: training_recipe, augment: {type: bool}}

Data: the IDX files of Zalando's Fashion-MNIST, as the Debian package ``dataset-fashion-mnist``
installs them (``/usr/share/datasets/fashion-mnist``, gzipped); ``data_dir`` or the environment
variable ``RUNG_FASHION_MNIST_DIR`` points elsewhere. A fixed 10,000 images of the 60,000
training images are the validation set (the same for every trial); the official test set is
not touched by the search. ``data_fraction`` trains on a fixed, nested subset of the rest, a
second fidelity knob (smaller fractions are subsets of larger ones).
"""
from __future__ import annotations

import functools
import gzip
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .context import TrainContext
from .recipe import Recipe, dropout_rate
from .training import Split, epoch_seed, schedule_horizon, train_segment

__all__ = [
    "DEBIAN_DIR", "ENV_VAR", "augment_batch", "build_cnn", "fashion_mnist_split", "locate_fashion_mnist",
    "read_idx", "train_cnn",
]

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # `dpkg -L dataset-fashion-mnist`
ENV_VAR = "RUNG_FASHION_MNIST_DIR"
FILES = {"x": "train-images-idx3-ubyte", "y": "train-labels-idx1-ubyte"}
MEAN, STD = 0.2860, 0.3530  # of Fashion-MNIST's training pixels scaled to [0, 1]
SPLIT_SEED = 0
VAL_SIZE = 10_000
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
NORMALIZATIONS = ("batch", "layer", "none")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


# ------------------------------------------------------------------------------------------ data
def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """An IDX file (LeCun's MNIST format, optionally gzipped) as a numpy array of its shape."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{path}: IDX header says shape {shape} but the file holds {len(body)} data bytes")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def locate_fashion_mnist(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the training IDX files: `data_dir`, else $RUNG_FASHION_MNIST_DIR, else Debian's.

    Raises FileNotFoundError with one line saying where it looked and how to fix it.
    """
    if data_dir is not None:
        directory, source = Path(data_dir).expanduser(), "trainable.args.data_dir"
    elif os.environ.get(ENV_VAR):
        directory, source = Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR
    else:
        directory, source = DEBIAN_DIR, "the default location of the Debian package"
    if all(_find(directory, stem) for stem in FILES.values()):
        return directory
    raise FileNotFoundError(
        f"Fashion-MNIST not found: no {FILES['x']}[.gz] and {FILES['y']}[.gz] in {directory} ({source}); "
        f"install it with `apt-get install dataset-fashion-mnist` or set {ENV_VAR} to a folder holding those IDX files"
    )


@functools.lru_cache(maxsize=2)
def _load(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Training images (uint8, N x 28 x 28) and labels; cached per process for long-lived workers."""
    x = read_idx(_find(directory, FILES["x"]))  # type: ignore[arg-type]
    y = read_idx(_find(directory, FILES["y"]))  # type: ignore[arg-type]
    if x.ndim != 3 or y.shape != (x.shape[0],):
        raise ValueError(f"{directory}: images {x.shape} and labels {y.shape} do not match")
    return x, y


def fashion_mnist_split(
    data_dir: str | os.PathLike[str] | None = None, data_fraction: float = 1.0, val_size: int = VAL_SIZE
) -> Split:
    """Fixed train/validation split of the training IDX files (images kept as uint8).

    The first `val_size` images of a permutation seeded with `SPLIT_SEED` are the validation
    set; the training set is the first ``round(data_fraction * rest)`` of the remainder.
    Cached per process (a long-lived worker builds it once for all its segments).
    """
    if not 0 < data_fraction <= 1:
        raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction}")
    return _split(locate_fashion_mnist(data_dir).resolve(), float(data_fraction), int(val_size))


@functools.lru_cache(maxsize=4)
def _split(directory: Path, data_fraction: float, val_size: int) -> Split:
    x, y = _load(directory)
    if not 0 < val_size < len(x):
        raise ValueError(f"val_size must be between 1 and {len(x) - 1}, got {val_size}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    val, rest = order[:val_size], order[val_size:]
    train = rest[:max(1, round(data_fraction * len(rest)))]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return Split(t(x[train]), t(y[train].astype(np.int64)), t(x[val]), t(y[val].astype(np.int64)))


def _prepare(x: torch.Tensor) -> torch.Tensor:
    """uint8 N x 28 x 28 -> standardized float N x 1 x 28 x 28."""
    return ((x.float() / 255.0 - MEAN) / STD).unsqueeze(1)


def augment_batch(x: torch.Tensor, pad: int = 2) -> torch.Tensor:
    """Random crops (zero-pad by `pad`, crop back at a random offset per image) and random
    horizontal flips of an N x C x H x W batch, drawn from torch's global RNG."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), value=float((0.0 - MEAN) / STD))  # pad with black pixels
    dy = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # n x h x 1
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # n x 1 x w
    batch = torch.arange(n, device=x.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # n x c x h x w
    flip = torch.rand(n, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], cropped.flip(-1), cropped)


# ----------------------------------------------------------------------------------------- model
def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # layer norm over (C, H, W) of each image, as GroupNorm with one group
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def build_cnn(config: Mapping[str, Any], in_channels: int = 1, classes: int = 10) -> nn.Sequential:
    """The macro CNN of a config's ``arch.*`` keys (see the module docstring).

    Convolutions have a bias only without normalization (a norm's shift makes it redundant).
    Absent keys take small defaults (1 stage of 1 block, 32 channels, 3x3, relu, batch norm).
    """
    stages = int(config.get("arch.num_stages", 1))
    activation = str(config.get("arch.activation", "relu"))
    norm = str(config.get("arch.normalization", "batch"))
    if activation not in ACTIVATIONS:
        raise ValueError(f"arch.activation: unknown activation {activation!r} (known: {', '.join(ACTIVATIONS)})")
    if norm not in NORMALIZATIONS:
        raise ValueError(f"arch.normalization: unknown normalization {norm!r} (known: {', '.join(NORMALIZATIONS)})")
    layers: list[nn.Module] = []
    channels = in_channels
    for stage in range(1, stages + 1):
        prefix = f"arch.stage_{stage}."
        depth = int(config.get(prefix + "depth", 1))
        width = int(config.get(prefix + "width", 32))
        kernel = int(config.get(prefix + "kernel_size", 3))
        for block in range(depth):
            stride = 2 if stage > 1 and block == 0 else 1
            layers += [
                nn.Conv2d(channels, width, kernel, stride=stride, padding=kernel // 2, bias=norm == "none"),
                _norm(norm, width),
                ACTIVATIONS[activation](),
            ]
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    p = dropout_rate(config)
    if p > 0:
        layers.append(nn.Dropout(p))
    layers.append(nn.Linear(channels, classes))
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------------- trainable
def train_cnn(
    config: dict[str, Any],
    ctx: TrainContext,
    data_dir: str | None = None,
    max_epochs: int | None = None,
    data_fraction: float = 1.0,
    val_size: int = VAL_SIZE,
) -> None:
    """Train the macro CNN of ``config`` with its recipe on Fashion-MNIST, one epoch per resource unit.

    Reports ``val_error``, ``val_loss`` and ``train_loss`` every epoch; checkpoints at rungs.
    ``max_epochs`` is the learning-rate schedule's horizon and must be the search's
    ``resource.max`` (default: ``ctx.resource_max`` where the executor provides it, else 27).
    ``data_fraction`` and ``val_size`` shrink the training and validation sets (fixed subsets).
    A missing dataset raises FileNotFoundError naming where it looked.
    """
    horizon = schedule_horizon(max_epochs, ctx, default=27)
    data = fashion_mnist_split(data_dir, float(data_fraction), int(val_size))
    recipe = Recipe.from_config(config)
    torch.manual_seed(epoch_seed(ctx.seed, 0))  # initial weights: a function of the seed alone
    model = build_cnn(config)
    train_segment(ctx, model, recipe, data, horizon, prepare=_prepare, augment=augment_batch if recipe.augment else None)
