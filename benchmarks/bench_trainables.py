"""Per-epoch wall time of the real trainables on one torch thread (what sizes the examples' budgets).

Each configuration trains one warm-up epoch first (oneDNN and allocator start-up, about 1 s
once per process) and then ``--epochs`` more in a second segment resumed from a checkpoint, as a
promoted trial would; the figure is the median over those epochs. The Fashion-MNIST CNN is timed
on a fraction of the training set (``--cnn-fraction``); its evaluation is timed alone, and the
time per epoch of the full 50,000 training + 10,000 validation images is extrapolated linearly
in the number of images of each part (the time per image is constant once batches are full).

Usage (from the repository root)::

    python benchmarks/bench_trainables.py                 # writes benchmarks/results/trainables.json
    python benchmarks/bench_trainables.py --skip-cnn      # digits MLP only (no dataset needed)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

MLP = {
    "mlp-small": {"arch.num_layers": 1, "arch.max_units": 32, "arch.shape": "brick", "arch.activation": "relu",
                  "arch.dropout": 0.1, "recipe.optimizer": "adamw", "recipe.lr": 3e-3, "recipe.batch_size": 128},
    # the slowest corner of examples/quickstart.yaml: 3 layers, diamond of 128 (128-256-128), batch 64
    "mlp-quickstart-max": {"arch.num_layers": 3, "arch.max_units": 128, "arch.shape": "diamond", "arch.activation": "gelu",
                           "arch.dropout": 0.1, "recipe.optimizer": "sgd", "recipe.lr": 0.05, "recipe.momentum": 0.9,
                           "recipe.nesterov": True, "recipe.batch_size": 64},
    # the slowest corner of the full funnel_mlp fragment: 5 layers diamond of 1024 (up to 2048), batch 32
    "mlp-fragment-max": {"arch.num_layers": 5, "arch.max_units": 1024, "arch.shape": "diamond", "arch.activation": "gelu",
                         "arch.dropout": 0.1, "recipe.optimizer": "adamw", "recipe.lr": 1e-3, "recipe.batch_size": 32},
}
CNN = {
    "cnn-small": {"arch.num_stages": 2, "arch.stage_1.depth": 1, "arch.stage_1.width": 16, "arch.stage_1.kernel_size": 3,
                  "arch.stage_2.depth": 1, "arch.stage_2.width": 32, "arch.stage_2.kernel_size": 3, "arch.activation": "relu",
                  "arch.normalization": "batch", "arch.dropout": 0.1, "recipe.optimizer": "sgd", "recipe.lr": 0.05,
                  "recipe.momentum": 0.9, "recipe.nesterov": True, "recipe.batch_size": 128, "recipe.augment": True},
    "cnn-large": {"arch.num_stages": 3, "arch.stage_1.depth": 2, "arch.stage_1.width": 64, "arch.stage_1.kernel_size": 5,
                  "arch.stage_2.depth": 2, "arch.stage_2.width": 128, "arch.stage_2.kernel_size": 3,
                  "arch.stage_3.depth": 2, "arch.stage_3.width": 256, "arch.stage_3.kernel_size": 3,
                  "arch.activation": "gelu", "arch.normalization": "layer", "arch.dropout": 0.1,
                  "recipe.optimizer": "adamw", "recipe.lr": 1e-3, "recipe.batch_size": 128, "recipe.augment": True},
}


def epoch_times(train: Callable[..., None], config: dict[str, Any], epochs: int, **args: Any) -> list[float]:
    """Seconds per epoch of epochs 2..epochs+1 (epoch 1 is the warm-up segment)."""
    from trainables.context import TrainContext, seed_everything

    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = f"{tmp}/ckpt.pt"
        seed_everything(0, 1)
        warm = TrainContext(trial=0, config=config, start=0, target=1, rungs=(1,), seed=0, checkpoint_out=ckpt)
        train(config, warm, max_epochs=epochs + 1, **args)
        seed_everything(0, 1)
        ctx = TrainContext(trial=0, config=config, start=1, target=epochs + 1, rungs=(epochs + 1,), seed=0,
                           checkpoint=ckpt, checkpoint_out=ckpt,
                           _report=lambda r, m: stamps.append(time.perf_counter()) or True)
        t0 = time.perf_counter()
        train(config, ctx, max_epochs=epochs + 1, **args)
    # the last epoch also writes a checkpoint after its report; stamps bracket training + eval only
    return [b - a for a, b in zip([t0] + stamps[:-1], stamps)]


def eval_time(config: dict[str, Any], data: Any, repeats: int = 3) -> float:
    """Median seconds to evaluate the CNN of `config` on ``data``'s validation images."""
    from trainables.training import evaluate
    from trainables.vision import _prepare, build_cnn

    model = build_cnn(config)
    evaluate(model, data.x_val, data.y_val, _prepare)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        evaluate(model, data.x_val, data.y_val, _prepare)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per configuration")
    parser.add_argument("--cnn-fraction", type=float, default=0.02, help="fraction of the 50,000 training images for the CNN")
    parser.add_argument("--cnn-val", type=int, default=1000, help="validation images for the CNN")
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "trainables.json"))
    opts = parser.parse_args()

    from trainables.tabular import digits_split, train_mlp

    out: dict[str, Any] = {"machine": machine_info(), "threads": 1, "results": {}}
    digits = digits_split()
    for name, config in MLP.items():
        times = epoch_times(train_mlp, config, opts.epochs)
        out["results"][name] = {"median_s_per_epoch": statistics.median(times), "train_images": int(digits.x_train.shape[0]),
                                "val_images": int(digits.x_val.shape[0])}
        print(f"{name:22s} {statistics.median(times) * 1000:8.1f} ms/epoch  (digits: {digits.x_train.shape[0]} train, {digits.x_val.shape[0]} val)")
    if not opts.skip_cnn:
        from trainables.vision import fashion_mnist_split, train_cnn

        data = fashion_mnist_split(data_fraction=opts.cnn_fraction, val_size=opts.cnn_val)
        n_tr, n_va = int(data.x_train.shape[0]), int(data.x_val.shape[0])
        for name, config in CNN.items():
            times = epoch_times(train_cnn, config, opts.epochs, data_fraction=opts.cnn_fraction, val_size=opts.cnn_val)
            t = statistics.median(times)
            eval_s = eval_time(config, data)  # evaluation is ~3x cheaper per image than training
            full = (t - eval_s) * 50_000 / n_tr + eval_s * 10_000 / n_va
            out["results"][name] = {"median_s_per_epoch": t, "eval_s": eval_s, "train_images": n_tr, "val_images": n_va,
                                    "extrapolated_s_per_full_epoch": full}
            print(f"{name:22s} {t:8.2f} s/epoch on {n_tr} train + {n_va} val; full data (50,000 + 10,000): ~{full:.0f} s/epoch")
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
