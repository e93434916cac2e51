"""The YAHPO Gym LCBench surrogate blackbox (Pfisterer et al. 2022; Zimmer et al. 2021).

Needs YAHPO's lcbench files (see trainables/blackboxes/lcbench.py::resolve_data_dir); every test
that reads them skips with a reason where they are absent.
"""

from __future__ import annotations

import math
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from trainables.blackboxes import (
    LCBENCH_METRICS,
    LCBENCH_SPACE,
    BenchmarkDataError,
    lcbench,
    lcbench_tasks,
)
from trainables.blackboxes.lcbench import ENV_VAR, resolve_data_dir


@pytest.fixture(scope="module")
def data_dir() -> Path:
    try:
        return resolve_data_dir()
    except BenchmarkDataError as err:
        pytest.skip(f"LCBench surrogate data absent: {err}")


def random_configs(n: int, seed: int = 0) -> list[dict[str, float | int]]:
    """Uniform configs from LCBENCH_SPACE (log-uniform where log: true)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        cfg: dict[str, float | int] = {}
        for name, p in LCBENCH_SPACE.items():
            lo, hi = p["low"], p["high"]
            v = (math.exp(rng.uniform(math.log(lo), math.log(hi))) if p.get("log")
                 else rng.uniform(lo, hi))
            cfg[name] = int(round(v)) if p["type"] == "int" else float(v)
        out.append(cfg)
    return out


def test_missing_data_dir_raises_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BenchmarkDataError) as err:
        lcbench(data_dir=tmp_path / "nowhere")
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "\n" not in msg and str(tmp_path / "nowhere") in msg
    assert ENV_VAR in msg and "args.data_dir" in msg
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(BenchmarkDataError, match=ENV_VAR):
        lcbench_tasks()


def test_partial_data_dir_names_missing_file(data_dir: Path, tmp_path: Path) -> None:
    for name in ("encoding.json", "config_space.json", "instance_target_statistics_lcbench.csv"):
        (tmp_path / name).write_bytes((data_dir / name).read_bytes())
    with pytest.raises(BenchmarkDataError, match="model.onnx"):
        lcbench(data_dir=tmp_path)


def test_env_var_is_honoured(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(data_dir))
    assert lcbench().data_dir == str(data_dir)


def test_tasks(data_dir: Path) -> None:
    tasks = lcbench_tasks(data_dir)
    assert len(tasks) == 34 and len(set(tasks)) == 34 and "3945" in tasks
    assert "167083" not in tasks  # in encoding.json but not part of YAHPO's LCBench space


def test_unknown_task_and_metric(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown LCBench task '999'.*3945") as err:
        lcbench("999", data_dir=data_dir)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown LCBench metric"):
        lcbench(metric="time", data_dir=data_dir)
    assert lcbench(3945, data_dir=data_dir).task == "3945"  # int ids are fine


def test_attributes_and_space(data_dir: Path) -> None:
    bb = lcbench(data_dir=data_dir)
    assert (bb.name, bb.metric, bb.mode) == ("lcbench-3945", "val_error", "min")
    assert (bb.resource_name, bb.resource_min, bb.resource_max) == ("epoch", 1, 52)
    assert bb.space == LCBENCH_SPACE == {
        "batch_size": {"type": "int", "low": 16, "high": 512, "log": True},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
        "momentum": {"type": "float", "low": 0.1, "high": 0.99},
        "weight_decay": {"type": "float", "low": 1e-5, "high": 0.1},
        "num_layers": {"type": "int", "low": 1, "high": 5},
        "max_units": {"type": "int", "low": 64, "high": 1024, "log": True},
        "max_dropout": {"type": "float", "low": 0.0, "high": 1.0},
    }
    for metric, mode in LCBENCH_METRICS.items():
        other = lcbench(metric=metric, data_dir=data_dir)
        assert other.mode == mode and other.regret_scale > 0
    assert math.isclose(lcbench(metric="val_accuracy", data_dir=data_dir).optimum, 99.62601,
                        rel_tol=1e-6)
    assert math.isclose(bb.optimum, 1 - 0.9962601, abs_tol=1e-7)
    clone = pickle.loads(pickle.dumps(bb))
    cfg = random_configs(1)[0]
    assert clone(cfg, 5) == bb(cfg, 5)


@pytest.mark.parametrize("elapsed", ["linear", "cummax"])
def test_outputs_finite_in_range_and_monotone(data_dir: Path, elapsed: str) -> None:
    tasks = lcbench_tasks(data_dir)
    for i, task in enumerate(tasks):
        bb = lcbench(task, data_dir=data_dir, elapsed=elapsed)
        for cfg in random_configs(6, seed=i):
            curve = bb.curve(cfg, range(1, 53))
            for out in curve:
                assert set(out) == {"val_error", "val_accuracy", "val_cross_entropy",
                                    "val_balanced_accuracy", "test_cross_entropy",
                                    "test_balanced_accuracy", "elapsed"}
                assert all(type(v) is float and math.isfinite(v) for v in out.values())
                assert 0.0 <= out["val_accuracy"] <= 100.0
                assert math.isclose(out["val_error"], 1 - out["val_accuracy"] / 100, abs_tol=1e-12)
                assert 0.0 <= out["val_balanced_accuracy"] <= 1.0
                assert 0.0 <= out["test_balanced_accuracy"] <= 1.0
                assert out["val_cross_entropy"] >= 0.0 and out["test_cross_entropy"] >= 0.0
                assert out["elapsed"] > 0.0
            times = [o["elapsed"] for o in curve]
            assert all(b >= a for a, b in zip(times, times[1:])), (task, cfg)


@pytest.mark.parametrize("elapsed", ["linear", "cummax"])
def test_curve_equals_single_calls(data_dir: Path, elapsed: str) -> None:
    bb = lcbench("7593", data_dir=data_dir, elapsed=elapsed)
    for cfg in random_configs(5, seed=1):
        resources = [52, 1, 3, 9, 27, 9, 17]
        curve = bb.curve(cfg, resources)
        single = [bb(cfg, r) for r in resources]
        for c, s in zip(curve, single):
            assert c.keys() == s.keys()
            for k in c:  # bit-identical on the CPUs measured; float32 rounding is the bound
                assert math.isclose(c[k], s[k], rel_tol=1e-5, abs_tol=1e-6), k


def test_evaluate_batch_mixed_configs(data_dir: Path) -> None:
    bb = lcbench("3945", data_dir=data_dir)
    configs = random_configs(40, seed=2)
    configs = configs + configs[:10]  # duplicates at other epochs
    rng = np.random.default_rng(0)
    resources = [int(r) for r in rng.integers(1, 53, len(configs))]
    batch = bb.evaluate_batch(configs, resources)
    for cfg, r, out in zip(configs, resources, batch):
        ref = bb(cfg, r)
        for k in out:
            assert math.isclose(out[k], ref[k], rel_tol=1e-5, abs_tol=1e-6)
    assert bb.evaluate_batch([], []) == []
    with pytest.raises(ValueError):
        bb.evaluate_batch(configs, resources[:-1])


def test_linear_elapsed_matches_surrogate_at_ends(data_dir: Path) -> None:
    lin = lcbench("3945", data_dir=data_dir)
    cum = lcbench("3945", data_dir=data_dir, elapsed="cummax")
    for cfg in random_configs(10, seed=3):
        a, b = lin.curve(cfg, range(1, 53)), cum.curve(cfg, range(1, 53))
        assert a[0]["elapsed"] == b[0]["elapsed"]  # both the surrogate's epoch-1 time
        steps = np.diff([o["elapsed"] for o in a])
        assert np.allclose(steps, steps[0])  # constant per-epoch cost after the first epoch
        assert a[20]["val_accuracy"] == b[20]["val_accuracy"]  # only elapsed differs


def test_regret_in_unit_interval(data_dir: Path) -> None:
    for metric in LCBENCH_METRICS:
        for task in ("3945", "34539", "189909"):
            bb = lcbench(task, metric=metric, data_dir=data_dir)
            outs = bb.evaluate_batch(random_configs(200, seed=4), [52] * 100 + [1] * 100)
            regrets = np.array([bb.normalized_regret(o[metric]) for o in outs])
            assert regrets.min() >= -0.02 and regrets.max() <= 1.05, (metric, task)


def test_bad_inputs(data_dir: Path) -> None:
    bb = lcbench(data_dir=data_dir)
    cfg = random_configs(1)[0]
    for r in (0, 53, 1.5):
        with pytest.raises(ValueError):
            bb(cfg, r)
    with pytest.raises(ValueError, match="lacks parameter 'momentum'"):
        bb({k: v for k, v in cfg.items() if k != "momentum"}, 3)
    with pytest.raises(ValueError, match="learning_rate"):
        bb({**cfg, "learning_rate": 0.5}, 3)


def test_throughput_report(data_dir: Path) -> None:
    """Throughput is printed (run with -s), never asserted: timings are machine-dependent."""
    bb = lcbench(data_dir=data_dir)
    configs = random_configs(2000, seed=5)
    bb(configs[0], 1)  # session creation
    t0 = time.perf_counter()
    for cfg in configs:
        bb(cfg, 27)
    single = len(configs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    bb.evaluate_batch(configs * 5, [27] * (5 * len(configs)))
    batched = 5 * len(configs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for cfg in configs[:200]:
        bb.curve(cfg, range(1, 53))
    curves = 200 / (time.perf_counter() - t0)
    print(f"\nLCBench: {single:,.0f} single queries/s, {batched:,.0f} batched queries/s, "
          f"{curves:,.0f} full 52-epoch curves/s")
