"""A tiny real trainable for Ray tests: torch state that proves segments resume, not restart.

`trained` counts the epochs this trial's model has really been through, carried in the
checkpoint; it must equal the reported epoch if promotion resumes from the checkpoint.
"""
import math
import os
import time

import torch


def train(config, ctx, epoch_seconds: float = 0.02, fail_if_above: float = 2.0, nan_if_below: float = -1.0,
          marker_dir: str | None = None):
    if marker_dir is not None:  # tells a fault-injection test which node is training right now
        import ray

        with open(os.path.join(marker_dir, ray.get_runtime_context().get_node_id()), "a") as fh:
            fh.write(f"{time.time()} {ctx.trial}\n")
    if config["x"] > fail_if_above:
        raise ValueError(f"diverged: x={config['x']}")
    model = torch.nn.Linear(1, 1)
    trained = torch.zeros(1)
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"])
    start = 0
    if ctx.checkpoint is not None:
        holder = torch.nn.Module()
        holder.register_buffer("trained", trained)
        start = ctx.load_checkpoint(model=model, optimizer=opt, counter=holder)
        trained = holder.trained
    for epoch in ctx.resources(start):
        time.sleep(epoch_seconds)
        trained += 1
        value = (config["x"] - 0.3) ** 2 + 1.0 / epoch
        if config["x"] < nan_if_below:
            value = math.nan
        ctx.report(epoch, loss=value, trained=float(trained.item()), pid=float(os.getpid()))
        if ctx.is_rung(epoch):
            holder = torch.nn.Module()
            holder.register_buffer("trained", trained)
            ctx.save_checkpoint(epoch, model=model, optimizer=opt, counter=holder)
