"""The trainable API: what a real training function sees of the orchestrator.

A trainable is ``train(config, ctx)``. The orchestrator, not the trainable, decides where
rungs are: each call trains one *segment*, from the checkpoint level ``ctx.start`` (0 = from
scratch) up to ``ctx.target``. Sketch::

    def train(config, ctx):
        model, opt = build(config)
        start = ctx.load_checkpoint(model=model, optimizer=opt) if ctx.checkpoint else 0
        for epoch in ctx.resources(start):           # start+1 .. ctx.target
            fit_one_epoch(model, opt)
            ctx.report(epoch, val_error=evaluate(model))   # may raise StopTrial
            if ctx.is_rung(epoch):
                ctx.save_checkpoint(epoch, model=model, optimizer=opt)

``report`` raises `StopTrial` when the scheduler stopped the trial (stopping type); the
executor treats that as a normal end, so trainables need not catch it. Checkpoints hold the
state dicts of the objects passed, the RNG states (python, numpy, torch) and the resource
level, written atomically so a crash mid-write never replaces a good checkpoint with a
corrupt one.
"""
from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np


class StopTrial(Exception):
    """Raised by `TrainContext.report` when the orchestrator stopped this trial."""


ReportSink = Callable[[float, dict[str, float]], bool]  # (resource, metrics) -> keep going?
CheckpointSink = Callable[[float, str], None]  # (resource, local path) -> None


@dataclass
class TrainContext:
    """One segment of one trial, as seen by the training function."""

    trial: int
    config: Mapping[str, Any]
    start: float  # level of the checkpoint this segment starts from (0 = scratch)
    target: float  # train up to (and report at) this level, then return
    rungs: tuple[float, ...]  # rung levels in (start, target]: results must be reported there
    seed: int  # per-trial seed; the executor seeds python/numpy/torch with it before `train`
    checkpoint: str | None = None  # local path of the checkpoint to resume from, if any
    checkpoint_out: str | None = None  # local path to write checkpoints to; "{resource}" in it is the level
    device: str = "cpu"
    threads: int = 1
    resource_max: float | None = None  # the search's maximum level (e.g. an LR schedule's horizon)
    _report: ReportSink | None = field(default=None, repr=False)
    _checkpointed: CheckpointSink | None = field(default=None, repr=False)
    last_checkpoint_level: float = field(default=0, repr=False)

    # ----------------------------------------------------------------- training
    def resources(self, start: float | None = None) -> Iterator[int]:
        """Integer resource levels start+1, ..., target (start defaults to `self.start`)."""
        first = int(self.start if start is None else start) + 1
        return iter(range(first, int(self.target) + 1))

    def is_rung(self, resource: float) -> bool:
        """Whether `resource` is a rung level of this segment (where a checkpoint pays off)."""
        return resource in self.rungs or resource == self.target

    def report(self, resource: float, **metrics: float) -> None:
        """Send metrics at `resource` to the orchestrator; raises `StopTrial` if it says stop."""
        if self._report is None:
            return
        clean = {k: float(v) for k, v in metrics.items()}
        if not self._report(resource, clean):
            raise StopTrial(f"trial {self.trial} stopped by the scheduler at {resource}")

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, resource: float, **objects: Any) -> str:
        """Save the state dicts of `objects` (model=..., optimizer=..., scheduler=...) and RNGs."""
        import torch

        if self.checkpoint_out is None:
            raise RuntimeError("this context has no checkpoint location (checkpoint_out)")
        out = self.checkpoint_out.format(resource=f"{resource:g}")
        state = {
            "resource": resource,
            "trial": self.trial,
            "objects": {name: obj.state_dict() for name, obj in objects.items()},
            "rng": {
                "python": random.getstate(),
                "numpy": _numpy_state_plain(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
        }
        directory = os.path.dirname(out) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(state, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, out)  # atomic: the old checkpoint stays until this
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.last_checkpoint_level = resource
        if self._checkpointed is not None:
            self._checkpointed(resource, out)
        return out

    def load_checkpoint(self, **objects: Any) -> int:
        """Load state dicts into `objects` and restore RNGs; returns the checkpoint's resource level."""
        import torch

        if self.checkpoint is None:
            raise RuntimeError("no checkpoint to load (ctx.checkpoint is None)")
        # weights_only=True: never unpickle arbitrary objects, even from our own storage
        state = torch.load(self.checkpoint, map_location=self.device, weights_only=True)
        for name, obj in objects.items():
            if name not in state["objects"]:
                raise KeyError(f"checkpoint of trial {self.trial} has no {name!r} (it has {sorted(state['objects'])})")
            obj.load_state_dict(state["objects"][name])
        rng = state["rng"]
        random.setstate(_as_python_state(rng["python"]))
        np.random.set_state(_as_numpy_state(rng["numpy"]))
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return int(state["resource"])


def _as_python_state(state: Any) -> tuple:
    """`weights_only` loading turns tuples into lists; random.setstate wants tuples."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def _numpy_state_plain() -> tuple:
    """numpy's RNG state as plain python values (loadable with torch's weights_only)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return (name, keys.tolist(), int(pos), int(has_gauss), float(cached))


def _as_numpy_state(state: Any) -> tuple:
    name, keys, pos, has_gauss, cached = state
    return (name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached))


def seed_everything(seed: int, threads: int = 1) -> None:
    """Seed python, numpy and torch for one trial and bound torch's CPU threads.

    One thread per trial on CPU by default: several trials share the machine's cores, and
    oversubscribed BLAS threads made a tiny MLP about 100x slower on a 2-core machine.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # blackbox-only installs
        return
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
