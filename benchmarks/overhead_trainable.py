"""The workload of the overhead benchmark: 1 s of work per epoch and a small checkpoint.

Each call appends (trial, pid, start, end) to a log so the harness can tell time spent in the
trainable from time spent orchestrating, for rung and Ray Tune alike.
"""
from __future__ import annotations

import os
import time


def busy(seconds: float) -> float:
    """Sleep the epoch away (the measurement is about the orchestrator, not this machine's CPU);
    returns the time it really took, which counts as the trainable's own work."""
    t = time.perf_counter()
    time.sleep(seconds)
    return time.perf_counter() - t


def log_segment(log_dir: str, trial: str, start: float, end: float, work: float) -> None:
    with open(os.path.join(log_dir, f"{os.getpid()}.log"), "a") as fh:
        fh.write(f"{trial},{os.getpid()},{start!r},{end!r},{work!r}\n")


def rung_train(config, ctx, log_dir: str, epoch_seconds: float = 1.0):
    """rung's trainable: resume from the checkpoint, train to the segment's target, checkpoint."""
    import torch

    t0 = time.time()
    work = 0.0
    model = torch.nn.Linear(4, 1)
    start = ctx.load_checkpoint(model=model) if ctx.checkpoint else 0
    for epoch in ctx.resources(start):
        work += busy(epoch_seconds)
        ctx.report(epoch, loss=(config["x"] - 0.5) ** 2 + 1.0 / epoch)
        if ctx.is_rung(epoch):
            ctx.save_checkpoint(epoch, model=model)
    log_segment(log_dir, str(ctx.trial), t0, time.time(), work)
