"""Orchestration overhead on Ray: rung vs Ray Tune's ASHAScheduler, same function, same machine.

The workload sleeps `epoch_seconds` per epoch and checkpoints a tiny torch model, so what is
left of the wall time is orchestration. For every method, segments (rung) or trials (Tune)
are laid onto the 2 worker slots in start order; a segment's overhead is the gap between its
slot freeing up and its trainable starting, and utilization is trainable time / (slots x
span). Ray Tune is run with its default settings and with `reuse_actors=True`.

    python benchmarks/bench_ray_overhead.py            # ~4 minutes; writes benchmarks/results/ray_overhead.json
    python benchmarks/bench_ray_overhead.py --trials 10 --epoch-seconds 0.5   # a quick look
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

SLOTS = 2


def read_segments(log_dir: Path) -> list[tuple[float, float]]:
    rows = []
    for path in log_dir.glob("*.log"):
        for line in path.read_text().splitlines():
            _, _, start, end = line.split(",")
            rows.append((float(start), float(end)))
    return sorted(rows)


def overheads(segments: list[tuple[float, float]], slots: int = SLOTS) -> dict:
    """Per-segment gaps (slot free -> trainable start) and utilization over the busy span."""
    free = [segments[0][0]] * slots
    gaps = []
    for start, end in segments:
        i = min(range(slots), key=lambda k: free[k])
        gaps.append(max(0.0, start - free[i]))
        free[i] = max(free[i], end)
    span = max(end for _, end in segments) - segments[0][0]
    busy = sum(end - start for start, end in segments)
    return {"segments": len(segments), "overhead_ms_median": 1e3 * statistics.median(gaps),
            "overhead_ms_mean": 1e3 * statistics.fmean(gaps), "utilization": busy / (slots * span),
            "span_seconds": span}


def run_rung(trials: int, epoch_seconds: float, log_dir: Path, run_dir: Path) -> dict:
    import ray

    from orchestrator.experiment import from_dict
    from orchestrator.runner import start

    spec = {
        "name": "overhead", "metric": "loss", "mode": "min",
        "resource": {"name": "epoch", "min": 1, "max": 9, "reduction_factor": 3},
        "scheduler": {"type": "promotion"}, "searcher": {"type": "random"},
        "stop": {"trials": trials}, "workers": SLOTS, "seed": 0,
        "trainable": {"function": "benchmarks.overhead_trainable:rung_train",
                      "args": {"log_dir": str(log_dir), "epoch_seconds": epoch_seconds}},
        "executor": {"type": "ray", "resources_per_trial": {"cpu": 1}},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    }
    ray.init(num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        t0 = time.perf_counter()
        start(from_dict(spec, source="<bench>", base_dir=ROOT), run_dir)
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    return {"wall_seconds": wall, **overheads(read_segments(log_dir))}


def run_tune(trials: int, epoch_seconds: float, log_dir: Path, storage: Path, reuse_actors: bool) -> dict:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    def tune_train(config):
        import torch

        from benchmarks.overhead_trainable import busy, log_segment

        t0 = time.time()
        model = torch.nn.Linear(4, 1)
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d:
                state = torch.load(Path(d) / "ckpt.pt", weights_only=True)
                model.load_state_dict(state["model"])
                start = state["epoch"]
        try:
            for epoch in range(start + 1, 10):
                busy(epoch_seconds)
                with tempfile.TemporaryDirectory() as d:
                    torch.save({"model": model.state_dict(), "epoch": epoch}, Path(d) / "ckpt.pt")
                    tune.report({"loss": (config["x"] - 0.5) ** 2 + 1.0 / epoch},
                                checkpoint=tune.Checkpoint.from_directory(d))
        finally:
            log_segment(str(log_dir), "t", t0, time.time())

    ray.init(num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        tuner = tune.Tuner(
            tune.with_resources(tune_train, {"cpu": 1}),
            param_space={"x": tune.uniform(0.0, 1.0)},
            tune_config=tune.TuneConfig(
                scheduler=ASHAScheduler(metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3),
                num_samples=trials, max_concurrent_trials=SLOTS, reuse_actors=reuse_actors),
            run_config=tune.RunConfig(storage_path=str(storage), name="overhead", verbose=0),
        )
        t0 = time.perf_counter()
        tuner.fit()
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    return {"wall_seconds": wall, **overheads(read_segments(log_dir))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epoch-seconds", type=float, default=1.0)
    parser.add_argument("--only", choices=["rung", "tune", "tune-reuse"], nargs="*")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ray_overhead.json")
    args = parser.parse_args()
    methods = args.only or ["rung", "tune", "tune-reuse"]
    results = {}
    for method in methods:
        with tempfile.TemporaryDirectory() as tmp:
            log_dir = Path(tmp) / "log"
            log_dir.mkdir()
            if method == "rung":
                results[method] = run_rung(args.trials, args.epoch_seconds, log_dir, Path(tmp) / "run")
            else:
                results[method] = run_tune(args.trials, args.epoch_seconds, log_dir, Path(tmp) / "tune",
                                           reuse_actors=method == "tune-reuse")
        print(method, json.dumps(results[method]), flush=True)
    out = {"machine": machine_info(), "trials": args.trials, "epoch_seconds": args.epoch_seconds,
           "results": results, "command": " ".join(["python", "benchmarks/bench_ray_overhead.py", *sys.argv[1:]])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print("| method | segments | median overhead ms | mean overhead ms | utilization | wall s |")
    print("|---|---|---|---|---|---|")
    for method, r in results.items():
        print(f"| {method} | {r['segments']} | {r['overhead_ms_median']:.1f} | {r['overhead_ms_mean']:.1f} "
              f"| {100 * r['utilization']:.1f}% | {r['wall_seconds']:.1f} |")
    if "rung" in results:
        for method in ("tune", "tune-reuse"):
            if method in results:
                ratio = results[method]["overhead_ms_median"] / max(results["rung"]["overhead_ms_median"], 1e-9)
                print(f"{method} / rung median overhead: {ratio:.1f}x")


if __name__ == "__main__":
    main()
