"""Orchestration overhead on Ray: rung vs Ray Tune's ASHAScheduler, same function, same machine.

The workload sleeps `epoch_seconds` per epoch (its only "work") and checkpoints a tiny torch
model at rungs, so everything else on a worker's timeline is orchestration: starting the
segment, reporting, checkpointing, and the gap before the next segment starts. For every
method, segments (rung) or trials (Tune) are laid onto the 2 worker slots in start order; a
segment's overhead is (its gap after the slot freed up) + (its duration - its work), and
utilization is total work / (slots x span). Ray Tune is run with its default settings and
with `reuse_actors=True`.

Each method searches for the same `--seconds` of wall time with new trials always available,
so both workers always have something to do and utilization measures the orchestrator, not
the end of a trial budget.

    python benchmarks/bench_ray_overhead.py            # ~4 minutes; writes benchmarks/results/ray_overhead.json
    python benchmarks/bench_ray_overhead.py --seconds 20   # a quick look
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


def read_segments(log_dir: Path) -> list[tuple[float, float, float]]:
    rows = []
    for path in log_dir.glob("*.log"):
        for line in path.read_text().splitlines():
            _, _, start, end, work = line.split(",")
            rows.append((float(start), float(end), float(work)))
    return sorted(rows)


def overheads(segments: list[tuple[float, float, float]], slots: int = SLOTS) -> dict:
    """Per-segment orchestration time (gap before it + its time outside the work) and utilization."""
    free = [segments[0][0]] * slots
    costs = []
    for start, end, work in segments:
        i = min(range(slots), key=lambda k: free[k])
        gap = max(0.0, start - free[i])
        costs.append(gap + max(0.0, (end - start) - work))
        free[i] = max(free[i], end)
    span = max(end for _, end, _ in segments) - segments[0][0]
    work = sum(w for _, _, w in segments)
    return {"segments": len(segments), "overhead_ms_median": 1e3 * statistics.median(costs),
            "overhead_ms_mean": 1e3 * statistics.fmean(costs), "utilization": work / (slots * span),
            "span_seconds": span}


def run_rung(seconds: float, epoch_seconds: float, log_dir: Path, run_dir: Path) -> dict:
    import ray

    from orchestrator.experiment import from_dict
    from orchestrator.runner import start

    spec = {
        "name": "overhead", "metric": "loss", "mode": "min",
        "resource": {"name": "epoch", "min": 1, "max": 9, "reduction_factor": 3},
        "scheduler": {"type": "promotion"}, "searcher": {"type": "random"},
        "stop": {"wall_seconds": seconds}, "workers": SLOTS, "seed": 0,
        "trainable": {"function": "benchmarks.overhead_trainable:rung_train",
                      "args": {"log_dir": str(log_dir), "epoch_seconds": epoch_seconds}},
        "executor": {"type": "ray", "resources_per_trial": {"cpu": 1}},
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    }
    ray.init(address="local", num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        t0 = time.perf_counter()
        start(from_dict(spec, source="<bench>", base_dir=ROOT), run_dir)
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    return {"wall_seconds": wall, **overheads(read_segments(log_dir))}


def run_tune(seconds: float, epoch_seconds: float, log_dir: Path, storage: Path, reuse_actors: bool) -> dict:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    def tune_train(config):
        import torch

        from benchmarks.overhead_trainable import busy, log_segment

        t0 = time.time()
        work = 0.0
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
                work += busy(epoch_seconds)
                with tempfile.TemporaryDirectory() as d:
                    torch.save({"model": model.state_dict(), "epoch": epoch}, Path(d) / "ckpt.pt")
                    tune.report({"loss": (config["x"] - 0.5) ** 2 + 1.0 / epoch},
                                checkpoint=tune.Checkpoint.from_directory(d))
        finally:
            log_segment(str(log_dir), "t", t0, time.time(), work)

    ray.init(address="local", num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        tuner = tune.Tuner(
            tune.with_resources(tune_train, {"cpu": 1}),
            param_space={"x": tune.uniform(0.0, 1.0)},
            tune_config=tune.TuneConfig(
                scheduler=ASHAScheduler(metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3),
                num_samples=100_000, max_concurrent_trials=SLOTS, reuse_actors=reuse_actors,
                time_budget_s=seconds),
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
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-clock budget of each search")
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
                results[method] = run_rung(args.seconds, args.epoch_seconds, log_dir, Path(tmp) / "run")
            else:
                results[method] = run_tune(args.seconds, args.epoch_seconds, log_dir, Path(tmp) / "tune",
                                           reuse_actors=method == "tune-reuse")
        print(method, json.dumps(results[method]), flush=True)
    out = {"machine": machine_info(), "seconds": args.seconds, "epoch_seconds": args.epoch_seconds,
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
