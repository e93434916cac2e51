"""The long-lived Ray actor that trains segments: one per concurrent worker slot.

An actor is created once per slot (with the trial's resources) and reused for every
segment it is given, so a segment costs one actor call instead of a process start (Ray
Tune starts an actor per trial by default, which costs about 1.6 s on a 2-core machine).
`run` is a streaming generator: each `ctx.report` reaches the driver as it happens, and the
driver can `stop` a trial through a second thread of the (threaded) actor.

The trainable runs in a thread of the actor and talks to `run` through a queue, because a
report is made from inside the user's training loop where `run` cannot yield.
"""
from __future__ import annotations

import os
import queue
import socket
import tempfile
import threading
import time
import traceback
from typing import Any, Iterator

from trainables.context import StopTrial, TrainContext, seed_everything

def trial_prefix(trial: int) -> str:
    return f"checkpoints/trial-{trial:06d}/"


def checkpoint_key(trial: int, level: float) -> str:
    """Where a trial's checkpoint at `level` lives under the storage root.

    One file per level, never overwritten: the journal names the level a re-queued segment
    restarts from, and that file must still be there even if the trainable saved a later one
    that the journal never heard of (the driver killed in between). Older files of a trial are
    deleted when its next segment starts, i.e. after the journal committed the newer level.
    """
    return f"{trial_prefix(trial)}ckpt-{level:g}.pt"


class SegmentWorker:
    """Trains segments of any trial; see the module docstring."""

    def __init__(self, slot: int, trainable_ref: str, trainable_args: dict[str, Any], base_dir: str,
                 storage_root: str, threads: int = 1, use_gpu: bool = False) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        self.slot = slot
        self.trainable_ref = trainable_ref
        self.trainable_args = dict(trainable_args)
        self.base_dir = base_dir
        self.storage_root = storage_root
        self.threads = threads
        self.use_gpu = use_gpu
        self._fn: Any = None
        self._storage: Any = None
        self._stop: set[int] = set()
        self._lock = threading.Lock()

    def where(self) -> dict[str, Any]:
        """Identity of this worker: slot, Ray node id, host and pid."""
        import ray

        return {"slot": self.slot, "node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "pid": os.getpid()}

    def stop(self, trial: int) -> None:
        """Ask the running segment of `trial` to end at its next report."""
        with self._lock:
            self._stop.add(trial)

    # ------------------------------------------------------------------- run
    def run(self, seg: dict[str, Any]) -> Iterator[tuple]:
        """Train one segment, yielding ("report", r, metrics, t), ("checkpoint", r, key, t), then
        ("done", r, key, t) | ("stopped", r, None, t) | ("failed", traceback, None, t)."""
        trial = seg["trial"]
        with self._lock:
            self._stop.discard(trial)
        events: queue.Queue = queue.Queue()
        reached = [seg["start"]]  # highest level reported so far in this segment
        try:
            fn = self._trainable()
            storage = self._storage_root()
            ctx = self._context(seg, storage, events, reached)
        except Exception:
            yield ("failed", traceback.format_exc(), None, time.time())
            return
        thread = threading.Thread(target=self._train, args=(fn, seg, ctx, events, reached), daemon=True,
                                  name=f"rung-trial-{trial}")
        thread.start()
        while True:
            item = events.get()
            yield item
            if item[0] in ("done", "stopped", "failed"):
                break
        thread.join()

    def _train(self, fn: Any, seg: dict[str, Any], ctx: TrainContext, events: queue.Queue,
               reached: list[float]) -> None:
        try:
            seed_everything(ctx.seed, ctx.threads)
            fn(dict(seg["config"]), ctx, **self.trainable_args)
            last = max(reached)
            if last < seg["target"]:
                raise RuntimeError(f"the trainable returned at {last:g} without reporting its target "
                                   f"{seg['target']:g} (train with ctx.resources() and ctx.report each level)")
            if ctx.last_checkpoint_level < seg["target"] and seg["target"] < seg["max_level"]:
                raise RuntimeError(f"the trainable returned at {seg['target']:g} without ctx.save_checkpoint(...): "
                                   f"it could never be promoted")
            events.put(("done", last, None, time.time(), self._node_id()))
        except StopTrial:
            events.put(("stopped", max(reached), None, time.time()))
        except BaseException:  # the trainable's own error: reported with its traceback
            events.put(("failed", traceback.format_exc(), None, time.time()))
        finally:
            ctx._report = None

    def _context(self, seg: dict[str, Any], storage: Any, events: queue.Queue, reached: list[float]) -> TrainContext:
        trial = seg["trial"]
        start_key = checkpoint_key(trial, seg["start"])
        self._forget_other_checkpoints(storage, trial, keep=start_key if seg["start"] > 0 else None)
        template = checkpoint_key(trial, 0).replace("ckpt-0.pt", "ckpt-{resource}.pt")
        local_template = storage.local_path(template)
        scratch = None
        if local_template is None:  # remote storage: work on local copies, upload after each save
            scratch = tempfile.mkdtemp(prefix=f"rung-trial-{trial}-")
            local_template = os.path.join(scratch, "ckpt-{resource}.pt")
        checkpoint = None
        if seg["start"] > 0:
            checkpoint = local_template.format(resource=f"{seg['start']:g}")
            if scratch is not None:
                storage.get_file(start_key, checkpoint)
            if not os.path.exists(checkpoint):
                raise FileNotFoundError(f"checkpoint of trial {trial} at {storage.uri(start_key)} is missing")

        def report(resource: float, metrics: dict[str, float]) -> bool:
            reached.append(resource)
            events.put(("report", resource, metrics, time.time()))
            with self._lock:
                return trial not in self._stop

        def checkpointed(resource: float, path: str) -> None:
            key = checkpoint_key(trial, resource)
            if scratch is not None:
                storage.put_file(path, key)
            events.put(("checkpoint", resource, key, time.time()))

        device = "cpu"
        if self.use_gpu:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        ctx = TrainContext(trial=trial, config=seg["config"], start=seg["start"], target=seg["target"],
                           rungs=tuple(seg["rungs"]), seed=seg["seed"], checkpoint=checkpoint, checkpoint_out=local_template,
                           device=device, threads=self.threads, resource_max=seg["max_level"],
                           _report=report, _checkpointed=checkpointed)
        return ctx

    @staticmethod
    def _forget_other_checkpoints(storage: Any, trial: int, keep: str | None) -> None:
        """Delete this trial's checkpoints other than the one the journal says to start from."""
        prefix = trial_prefix(trial)
        try:
            names = storage.listdir(prefix)
        except (FileNotFoundError, OSError):
            return
        for name in names:
            key = prefix + name.rsplit("/", 1)[-1]
            if key != keep and key.endswith(".pt"):
                storage.delete(key)

    # -------------------------------------------------------------- plumbing
    def _node_id(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()[:12]

    def _trainable(self) -> Any:
        if self._fn is None:
            from orchestrator.references import resolve

            self._fn = resolve(self.trainable_ref, "<worker>", "trainable.function", _path(self.base_dir))
        return self._fn

    def _storage_root(self) -> Any:
        if self._storage is None:
            from cluster.storage import Storage

            self._storage = Storage.open(self.storage_root)
        return self._storage


def _path(directory: str) -> Any:
    from pathlib import Path

    return Path(directory)
