"""The YAHPO Gym LCBench surrogate as a rung blackbox.

LCBench (Zimmer et al., "Auto-PyTorch Tabular: Multi-Fidelity MetaLearning for Efficient and Robust
AutoDL", TPAMI 2021) recorded the learning curves (epochs 1-52) of funnel-shaped MLPs trained with
SGD on 34 OpenML classification tasks over a joint architecture (num_layers, max_units) and recipe
(batch_size, learning_rate, momentum, weight_decay, max_dropout) space. YAHPO Gym (Pfisterer et al.,
"YAHPO Gym - An Efficient Multi-Objective Multi-Fidelity Benchmark for Hyperparameter
Optimization", AutoML-Conf 2022) fitted one neural surrogate to all of it, exported as ONNX; it is
the standard multi-fidelity benchmark of the MOBSTER and YAHPO papers. rung reads the files of
YAHPO's ``lcbench`` folder (``model.onnx``, ``encoding.json``, ``config_space.json`` and
``instance_target_statistics_lcbench.csv``) from a data directory; see :func:`resolve_data_dir`.

Returned metrics: ``val_accuracy`` (percent), ``val_cross_entropy``, ``val_balanced_accuracy``,
``test_cross_entropy``, ``test_balanced_accuracy``, ``val_error = 1 - val_accuracy / 100`` and
``elapsed``. The surrogate is a regression network, so its outputs are clipped to their physical
ranges (accuracies to [0, 100] or [0, 1], cross-entropies and time to >= 0).

``elapsed``: the surrogate's ``time`` output is cumulative training seconds, but as a fitted network
it is not monotone in the epoch: on 3,000 random configs x 52 epochs, 7% of the curves decrease
somewhere, by up to 30 s, and a simulator would then get segments of negative or zero cost. rung
keeps the two numbers that matter most to a scheduler's budget, the surrogate's time of the first
epoch ``t1`` (which includes start-up cost) and of the full run ``t52``, and interpolates linearly
between them: ``elapsed(r) = t1 + (max(t52, t1) - t1) (r - 1) / 51``. Every later epoch then costs the
same, as one more SGD pass over a fixed data set does in reality; ``elapsed`` is non-decreasing in
the epoch by construction (the surrogate's ``t52 < t1`` happens for about 0.01% of random configs,
which then get a flat curve) and is a pure function of ``(task, config, epoch)``, so single queries
and batched curves agree. The alternative ``elapsed="cummax"`` keeps the surrogate's own shape with a
running maximum over epochs ``1..r`` (faithful where the surrogate is monotone, flat where it is
not) at the price of evaluating ``r`` rows per query.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import BenchmarkDataError, Blackbox

__all__ = [
    "LCBench",
    "lcbench",
    "lcbench_tasks",
    "resolve_data_dir",
    "LCBENCH_SPACE",
    "LCBENCH_METRICS",
    "ENV_VAR",
]

#: Environment variable naming the directory with YAHPO's ``lcbench`` files.
ENV_VAR = "RUNG_LCBENCH_DIR"
_FILES = ("model.onnx", "encoding.json", "config_space.json",
          "instance_target_statistics_lcbench.csv")
_RELATIVE = Path("..") / "shared" / "benchmarks" / "yahpo" / "lcbench"

#: LCBench's search space (from YAHPO's config_space.json) in rung's YAML space language.
LCBENCH_SPACE: dict[str, dict[str, Any]] = {
    "batch_size": {"type": "int", "low": 16, "high": 512, "log": True},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "momentum": {"type": "float", "low": 0.1, "high": 0.99},
    "weight_decay": {"type": "float", "low": 1e-5, "high": 0.1},
    "num_layers": {"type": "int", "low": 1, "high": 5},
    "max_units": {"type": "int", "low": 64, "high": 1024, "log": True},
    "max_dropout": {"type": "float", "low": 0.0, "high": 1.0},
}
_PARAMS = tuple(LCBENCH_SPACE)  # x_cont columns 1..7, after the epoch
_LOW = np.array([float(LCBENCH_SPACE[p]["low"]) for p in _PARAMS])
_HIGH = np.array([float(LCBENCH_SPACE[p]["high"]) for p in _PARAMS])
_TOL = 1e-6 * np.maximum(np.abs(_LOW), np.abs(_HIGH))

#: Metrics that can be optimized, with their direction.
LCBENCH_METRICS: dict[str, str] = {
    "val_error": "min",
    "val_accuracy": "max",
    "val_cross_entropy": "min",
    "val_balanced_accuracy": "max",
    "test_cross_entropy": "min",
    "test_balanced_accuracy": "max",
}
# Columns of the surrogate's output, and the physical range each is clipped to.
_OUTPUTS = ("time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy",
            "test_cross_entropy", "test_balanced_accuracy")
_CLIP_LOW = np.zeros(6)
_CLIP_HIGH = np.array([np.inf, 100.0, np.inf, 1.0, np.inf, 1.0])
EPOCH_MIN, EPOCH_MAX = 1, 52

# onnxruntime's CPU GEMM (MLAS) computes rows in blocks of 4 and the last 1-3 rows of a batch with a
# different kernel whose float32 rounding differs in the last bit. Padding every batch to a multiple
# of 4 rows (repeating its last row; costs nothing measurable) makes a row's output independent of
# the batch it is in, so single queries, curve() and evaluate_batch() agree bit for bit on the CPUs
# measured (an x86-64 Xeon with AVX-512); elsewhere they agree to float32 rounding.
_ROW_BLOCK = 4

_SINGLE_ROWS = np.zeros(3, dtype=np.int64)

_SESSIONS: dict[tuple[int, str], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding YAHPO's ``lcbench`` files, or raise :class:`BenchmarkDataError`.

    Looked up in order: ``data_dir``; the ``RUNG_LCBENCH_DIR`` environment variable;
    ``<repo root>/../shared/benchmarks/yahpo/lcbench`` (the repo root is the directory above the
    ``trainables`` package); ``../shared/benchmarks/yahpo/lcbench`` relative to the working
    directory. An explicit ``data_dir`` or environment variable is used as given, without fallback.
    """
    if data_dir is not None:
        candidates, how = [Path(data_dir)], "args.data_dir"
    elif os.environ.get(ENV_VAR):
        candidates, how = [Path(os.environ[ENV_VAR])], ENV_VAR
    else:
        repo_root = Path(__file__).resolve().parents[2]
        candidates, how = [repo_root / _RELATIVE, Path.cwd() / _RELATIVE], "default"
    for path in candidates:
        if all((path / f).is_file() for f in _FILES):
            return path.resolve()
    looked = " and ".join(str(p) for p in dict.fromkeys(candidates))
    missing = [f for f in _FILES if not (candidates[0] / f).is_file()]
    raise BenchmarkDataError(
        f"LCBench surrogate data not found in {looked} ({how}; missing {', '.join(missing)}): "
        f"set {ENV_VAR} or the trainable's args.data_dir to YAHPO's lcbench folder")


@functools.lru_cache(maxsize=8)
def _metadata(path: str) -> tuple[dict[str, int], tuple[str, ...], dict[tuple[str, str, str], float]]:
    """(task -> x_cat index, valid tasks in config_space order, (task, target, min|max) -> value)."""
    root = Path(path)
    encoding = {str(k): int(v) for k, v in
                json.loads((root / "encoding.json").read_text())["OpenML_task_id"].items()}
    space = json.loads((root / "config_space.json").read_text())
    tasks = next(tuple(str(c) for c in hp["choices"]) for hp in space["hyperparameters"]
                 if hp["name"] == "OpenML_task_id")
    stats: dict[tuple[str, str, str], float] = {}
    with open(root / "instance_target_statistics_lcbench.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            stats[(str(row["instance"]), row["metric"], row["statistic"])] = float(row["value"])
    return encoding, tasks, stats


def _session(model_path: str) -> Any:
    """One single-threaded onnxruntime session per process and model file, created on first use."""
    key = (os.getpid(), model_path)
    sess = _SESSIONS.get(key)
    if sess is None:
        with _SESSIONS_LOCK:
            sess = _SESSIONS.get(key)
            if sess is None:
                import onnxruntime as ort  # deferred: constructing a blackbox stays cheap

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                sess = ort.InferenceSession(model_path, sess_options=opts,
                                            providers=["CPUExecutionProvider"])
                _SESSIONS[key] = sess
    return sess


def lcbench_tasks(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The 34 OpenML task ids of LCBench (as strings), in the order of YAHPO's config_space.json."""
    return list(_metadata(str(resolve_data_dir(data_dir)))[1])


class LCBench(Blackbox):
    """One LCBench task through the YAHPO Gym surrogate (Pfisterer et al. 2022; Zimmer et al. 2021).

    Args:
        task: OpenML task id, e.g. ``"3945"`` (see :func:`lcbench_tasks`).
        metric: The metric to optimize, a key of :data:`LCBENCH_METRICS`; sets ``mode``.
        data_dir: Directory with YAHPO's lcbench files (see :func:`resolve_data_dir`).
        elapsed: ``"linear"`` (default) or ``"cummax"``: how the surrogate's time becomes a
            non-decreasing cumulative ``elapsed`` (see the module docstring).

    ``optimum`` and ``regret_scale`` come from YAHPO's per-task target statistics (the best value
    and the max - min range of the metric over the LCBench data), so ``normalized_regret`` lies in
    [0, 1] up to the surrogate stepping slightly outside its training data.

    Example::

        bb = lcbench("3945")
        bb({"batch_size": 64, "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 1e-4,
            "num_layers": 3, "max_units": 256, "max_dropout": 0.1}, 52)["val_error"]
    """

    resource_name = "epoch"
    resource_min = EPOCH_MIN
    resource_max = EPOCH_MAX

    def __init__(self, task: str | int = "3945", metric: str = "val_error",
                 data_dir: str | os.PathLike[str] | None = None, elapsed: str = "linear") -> None:
        if metric not in LCBENCH_METRICS:
            raise ValueError(f"unknown LCBench metric {metric!r}; choose one of "
                             f"{', '.join(LCBENCH_METRICS)}")
        if elapsed not in ("linear", "cummax"):
            raise ValueError(f"LCBench elapsed must be 'linear' or 'cummax', got {elapsed!r}")
        root = resolve_data_dir(data_dir)
        encoding, tasks, stats = _metadata(str(root))
        task = str(task)
        if task not in tasks or task not in encoding:
            raise ValueError(f"unknown LCBench task {task!r}; valid tasks include "
                             f"{', '.join(tasks[:6])}, ... ({len(tasks)} in all, see lcbench_tasks())")
        self.task = task
        self.metric = metric
        self.mode = LCBENCH_METRICS[metric]
        self.elapsed_model = elapsed
        self.data_dir = str(root)
        self.name = f"lcbench-{task}"
        self.space = {k: dict(v) for k, v in LCBENCH_SPACE.items()}
        self._model_path = str(root / "model.onnx")
        self._task_index = encoding[task]
        if metric == "val_error":
            lo, hi = stats[(task, "val_accuracy", "min")], stats[(task, "val_accuracy", "max")]
            self.optimum, self.regret_scale = 1.0 - hi / 100.0, (hi - lo) / 100.0
        else:
            lo, hi = stats[(task, metric, "min")], stats[(task, metric, "max")]
            self.optimum, self.regret_scale = (lo if self.mode == "min" else hi), hi - lo

    def evaluate_batch(self, configs: Sequence[Mapping[str, Any]],
                       resources: Sequence[int]) -> list[dict[str, float]]:
        """Evaluate ``configs[i]`` at epoch ``resources[i]`` with one surrogate call for all."""
        n = len(configs)
        if n != len(resources):
            raise ValueError(f"{self.name}: {n} configs but {len(resources)} resources")
        if n == 0:
            return []
        x = self._parse(configs)
        epochs = np.array([self.check_resource(r) for r in resources], dtype=np.int64)
        if n == 1:
            uniq, inverse = x, np.zeros(1, dtype=np.int64)
        else:
            uniq, inverse = np.unique(x, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        out, elapsed = self._predict(uniq, inverse, epochs)
        return [{"val_error": float(1.0 - acc / 100.0), "val_accuracy": float(acc),
                 "val_cross_entropy": float(vce), "val_balanced_accuracy": float(vba),
                 "test_cross_entropy": float(tce), "test_balanced_accuracy": float(tba),
                 "elapsed": float(el)}
                for (_, acc, vce, vba, tce, tba), el in zip(out.tolist(), elapsed.tolist())]

    def curve(self, config: Mapping[str, Any], resources: Sequence[int]) -> list[dict[str, float]]:
        """One config at several epochs in one surrogate call (the simulator's hot path)."""
        if self.elapsed_model != "linear" or not len(resources):
            return super().curve(config, resources)
        x = self._parse([config])
        epochs = np.array([self.check_resource(r) for r in resources], dtype=np.int64)
        row_epochs = np.concatenate([epochs, [EPOCH_MIN, EPOCH_MAX]])
        y = self._run(np.repeat(x, len(row_epochs), axis=0), row_epochs)
        t1, t52 = y[-2, 0], y[-1, 0]
        elapsed = t1 + max(t52 - t1, 0.0) / (EPOCH_MAX - EPOCH_MIN) * (epochs - EPOCH_MIN)
        return [{"val_error": 1.0 - acc / 100.0, "val_accuracy": acc, "val_cross_entropy": vce,
                 "val_balanced_accuracy": vba, "test_cross_entropy": tce,
                 "test_balanced_accuracy": tba, "elapsed": el}
                for (_, acc, vce, vba, tce, tba), el in zip(y[:-2].tolist(), elapsed.tolist())]

    def _predict(self, uniq: np.ndarray, inverse: np.ndarray,
                 epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Surrogate outputs at the queried (config, epoch) pairs, and their ``elapsed``."""
        n, m = len(epochs), len(uniq)
        if self.elapsed_model == "linear":
            # rows: every query, then epoch 1 and epoch 52 of every distinct config
            if n == 1:  # the common single query, without the general bookkeeping
                rows = _SINGLE_ROWS
                row_epochs = np.array([epochs[0], EPOCH_MIN, EPOCH_MAX])
            else:
                rows = np.concatenate([inverse, np.arange(m), np.arange(m)])
                row_epochs = np.concatenate([epochs, np.full(m, EPOCH_MIN),
                                             np.full(m, EPOCH_MAX)])
            y = self._run(uniq[rows], row_epochs)
            t1, t52 = y[n:n + m, 0][inverse], y[n + m:, 0][inverse]
            slope = np.maximum(t52 - t1, 0.0) / (EPOCH_MAX - EPOCH_MIN)
            return y[:n], t1 + slope * (epochs - EPOCH_MIN)
        # cummax: epochs 1..R of every distinct config, R its largest queried epoch
        last = np.zeros(m, dtype=np.int64)
        np.maximum.at(last, inverse, epochs)
        start = np.concatenate([[0], np.cumsum(last)[:-1]])
        rows = np.repeat(np.arange(m), last)
        row_epochs = np.arange(len(rows)) - np.repeat(start, last) + 1
        y = self._run(uniq[rows], row_epochs)
        time = y[:, 0].copy()
        for s, k in zip(start.tolist(), last.tolist()):
            np.maximum.accumulate(time[s:s + k], out=time[s:s + k])
        at = start[inverse] + epochs - 1
        return y[at], time[at]

    def _run(self, x: np.ndarray, epochs: np.ndarray) -> np.ndarray:
        """One ``session.run`` on rows ``(epochs[i], x[i])``, padded to a multiple of _ROW_BLOCK."""
        m = len(x)
        padded = m + (-m) % _ROW_BLOCK
        x_cont = np.empty((padded, 8), dtype=np.float32)
        x_cont[:m, 0] = epochs
        x_cont[:m, 1:] = x
        x_cont[m:] = x_cont[m - 1]
        x_cat = np.full((padded, 1), self._task_index, dtype=np.int32)
        (y,) = _session(self._model_path).run(None, {"x_cat": x_cat, "x_cont": x_cont})
        y = y[:m].astype(np.float64)
        np.maximum(y, _CLIP_LOW, out=y)
        np.minimum(y, _CLIP_HIGH, out=y)
        return y

    def _parse(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        try:
            x = np.array([[float(c[p]) for p in _PARAMS] for c in configs], dtype=np.float64)
        except KeyError as err:
            raise ValueError(f"{self.name}: config lacks parameter {err.args[0]!r}; "
                             f"expected {list(_PARAMS)}") from None
        bad = (x < _LOW - _TOL) | (x > _HIGH + _TOL) | ~np.isfinite(x)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise ValueError(f"{self.name}: {_PARAMS[j]}={x[i, j]!r} is outside "
                             f"[{_LOW[j]:g}, {_HIGH[j]:g}]")
        return x


def lcbench(task: str | int = "3945", metric: str = "val_error",
            data_dir: str | os.PathLike[str] | None = None, elapsed: str = "linear") -> LCBench:
    """LCBench task ``task`` through the YAHPO Gym surrogate; see :class:`LCBench`."""
    return LCBench(task=task, metric=metric, data_dir=data_dir, elapsed=elapsed)
