"""Tests of benchmarks/compare/analyze.py on small handmade results in run_compare's exact format.

Why: the analysis turns runs into the claims of the comparison (who is faster, by how much,
where rung loses); these tests pin its definitions on curves whose answers are known by hand.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

COMPARE = Path(__file__).resolve().parents[1] / "benchmarks" / "compare"
sys.path.insert(0, str(COMPARE))

import analyze  # noqa: E402

FIELDS = ["time", "trial", "resource", "value", "best_max", "regret_max", "best_any", "regret_any"]
BUDGET = 100.0
N_BOOT = 200
GRID = 51


def write_run(root: Path, bench: str, method: str, workers: int, seed: int, records: list[tuple[float, float]],
              charged: bool = False, ended: str = "budget", end_time: float = BUDGET, ask_ms: float = 0.1,
              pre: list[float] = (), machine: str | None = None, libraries: str | None = None) -> None:
    """One run's CSV + JSON as run_compare.write_csv writes them.

    ``records``: (time, regret_max) of results at the maximum resource; ``pre``: times of earlier
    low-fidelity results (regret_max empty, regret_any set).
    """
    out = root / bench
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{method}_w{workers}_s{seed}{'_charged' if charged else ''}"
    rows = [[f"{t:.6g}", i, 1, "1.0", "", "", "1.0", "0.9"] for i, t in enumerate(pre)]
    rows += [[f"{t:.6g}", len(pre) + i, 81, f"{r:.10g}", f"{r:.10g}", f"{r:.6g}", f"{r:.10g}", f"{r / 2:.6g}"]
             for i, (t, r) in enumerate(records)]
    with (out / f"{stem}.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        w.writerows(rows)
    finals = [r for _, r in records]
    summary = {"benchmark": bench, "method": method, "workers": workers, "seed": seed, "budget": BUDGET,
               "charged": charged, "trials": len(rows), "results": len(rows), "ended": ended, "end_time": end_time,
               "final_regret_max": finals[-1] if finals else None,
               "final_regret_any": finals[-1] / 2 if finals else None, "wall_seconds": 0.1, "asks": len(rows),
               "ask_ms_mean": ask_ms, "tell_ms_mean": ask_ms / 2, "method_info": {"method": method}}
    if machine is not None:
        summary["machine"] = machine
    if libraries is not None:
        summary["method_info"]["libraries"] = libraries
    (out / f"{stem}.json").write_text(json.dumps(summary, indent=1))


BASE = "rung-random-asha"


def make_results(root: Path) -> Path:
    """Hand-made results whose answers are known (see the comments)."""
    # bench-a, 2 workers: target 0.2 (baseline reaches it at 80 s); peer-fast at 40 s (factor 2),
    # rung-gp at 60 s (factor 4/3): the peer beats rung here by 1.5x; peer-never never reaches.
    for s in range(3):
        write_run(root, "bench-a", BASE, 2, s, [(10, 0.5), (80, 0.2)], pre=[2.0, 3.0])
        write_run(root, "bench-a", "rung-gp", 2, s, [(10, 0.5), (60, 0.2), (90, 0.15)], ask_ms=5.0)
        write_run(root, "bench-a", "peer-fast", 2, s, [(5, 0.5), (40, 0.2), (70, 0.1)], ask_ms=2.0)
    for s in range(2):  # few seeds, one run ended idle early
        write_run(root, "bench-a", "peer-never", 2, s, [(10, 0.5)], ended="idle" if s else "budget",
                  end_time=30.0 if s else BUDGET)
    # bench-b, 2 workers: target 0.3 (baseline at 50 s); rung-gp and peer-fast identical (tie), factor 2.
    for s in range(2):
        write_run(root, "bench-b", BASE, 2, s, [(10, 0.5), (50, 0.3)])
        write_run(root, "bench-b", "rung-gp", 2, s, [(10, 0.4), (25, 0.3), (60, 0.1)], ask_ms=5.0)
        write_run(root, "bench-b", "peer-fast", 2, s, [(10, 0.4), (25, 0.3), (60, 0.1)], ask_ms=2.0)
        write_run(root, "bench-b", "peer-never", 2, s, [(10, 0.5)], ended="idle", end_time=30.0)
    # bench-a, 1 worker, no baseline: regret only.
    write_run(root, "bench-a", "rung-gp", 1, 0, [(50, 0.3)])
    write_run(root, "bench-a", "peer-fast", 1, 0, [(50, 0.2)])
    # bench-a, 2 workers, charged clock: its own group.
    write_run(root, "bench-a", BASE, 2, 0, [(20, 0.4)], charged=True)
    write_run(root, "bench-a", "rung-gp", 2, 0, [(10, 0.4)], charged=True)
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("compare"))


@pytest.fixture(scope="module")
def analysis(results: Path) -> analyze.Analysis:
    runs = analyze.load_runs(results)
    return analyze.analyze(runs, baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)


def row(an: analyze.Analysis, bench: str, method: str, workers: int = 2, clock: str = "simulated") -> pd.Series:
    s = an.summary
    r = s[(s["benchmark"] == bench) & (s["method"] == method) & (s["workers"] == workers) & (s["clock"] == clock)]
    assert len(r) == 1
    return r.iloc[0]


def test_iqm_and_inf_tolerant_median_on_known_sets() -> None:
    assert analyze.iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert analyze.iqm([1, 2, 3, 100]) == pytest.approx(2.5)  # trims one each end
    assert analyze.iqm([1, 2, 3]) == pytest.approx(2.0)  # n < 4: the mean
    assert analyze.iqm([7.0]) == 7.0
    assert analyze.median_inf([1, 2, 3, 4]) == 2.5  # numpy's median on finite data
    assert analyze.median_inf([3, math.inf]) == 3  # exactly half reach: finite
    assert analyze.median_inf([3, math.inf, math.inf]) == math.inf  # more than half never reach
    assert analyze.speedup(80, 40) == 2 and analyze.speedup(80, math.inf) == 0
    assert analyze.speedup(math.inf, 5) == math.inf and math.isnan(analyze.speedup(math.inf, math.inf))


def test_curve_is_one_before_first_value_and_holds_after_last() -> None:
    grid = np.array([0.0, 5.0, 10.0, 50.0, 100.0])
    c = analyze.curve_on_grid(np.array([10.0, 30.0]), np.array([0.5, 0.2]), grid)
    assert c.tolist() == [1.0, 1.0, 0.5, 0.2, 0.2]
    assert analyze.time_to_target(np.array([10.0, 30.0]), np.array([0.5, 0.2]), 0.2) == 30.0
    assert analyze.time_to_target(np.array([10.0]), np.array([0.5]), 0.2) == math.inf


def test_target_time_to_target_and_factor(analysis: analyze.Analysis) -> None:
    base = row(analysis, "bench-a", BASE)
    assert base["target"] == pytest.approx(0.2) and base["ttt_median"] == 80
    assert base["factor"] == 1 and (base["factor_lo"], base["factor_hi"]) == (1, 1)
    fast = row(analysis, "bench-a", "peer-fast")
    assert fast["ttt_median"] == 40 and fast["reached_frac"] == 1
    assert fast["factor"] == pytest.approx(2.0)  # reaches the baseline's target in half the time
    assert (fast["factor_lo"], fast["factor_hi"]) == (pytest.approx(2.0), pytest.approx(2.0))  # identical seeds
    assert row(analysis, "bench-a", "rung-gp")["factor"] == pytest.approx(80 / 60)
    never = row(analysis, "bench-a", "peer-never")
    assert never["ttt_median"] == math.inf and never["reached_frac"] == 0 and never["factor"] == 0
    assert never["idle_runs"] == 1 and never["final_iqm"] == pytest.approx(0.5)  # idle run holds its value
    assert fast["final_iqm"] == pytest.approx(0.1) and fast["final_median"] == pytest.approx(0.1)
    assert fast["ask_ms_mean"] == pytest.approx(2.0) and fast["tell_ms_median"] == pytest.approx(1.0)
    charged = row(analysis, "bench-a", "rung-gp", clock="charged")
    assert charged["target"] == pytest.approx(0.4) and charged["factor"] == pytest.approx(2.0)


def test_average_ranks_with_a_tie(analysis: analyze.Analysis) -> None:
    b = row(analysis, "bench-b", "rung-gp")
    assert b["rank_final"] == 1.5 and b["rank_time"] == 1.5 and b["first_to_target"]
    assert row(analysis, "bench-b", "peer-fast")["first_to_target"]
    rk = analysis.ranks[(analysis.ranks["workers"] == 2) & (analysis.ranks["clock"] == "simulated")]
    rk = rk.set_index("method")
    assert rk.loc["peer-fast", "avg_rank_final"] == pytest.approx(1.25)  # ranks 1 and 1.5
    assert rk.loc["rung-gp", "avg_rank_final"] == pytest.approx(1.75)  # ranks 2 and 1.5
    assert rk.loc["peer-never", "avg_rank_time"] == pytest.approx(4.0)
    assert rk.loc["peer-fast", "first_count"] == 2 and rk.loc["rung-gp", "first_count"] == 1
    assert rk.loc["peer-fast", "median_factor"] == pytest.approx(2.0)
    assert rk.loc["rung-gp", "median_factor"] == pytest.approx((80 / 60 + 2) / 2)
    assert rk.index[0] == "peer-fast"  # the fastest method comes first


def test_answer_lines_say_where_rung_loses(analysis: analyze.Analysis) -> None:
    text = "\n".join(analyze.answer_lines(analysis, 2, "simulated"))
    assert "**Fastest to the target**" in text and "**peer-fast**" in text
    assert "1.25x as fast as rung-gp" in text  # median of 60/40 and 25/25
    assert "Where rung loses" in text
    assert "bench-a: peer-fast reaches the target 1.50x faster than rung-gp (40 s vs 60 s)" in text
    assert "rung-gp +0.05" in text  # final regret IQM 0.15 vs 0.1
    assert "bench-b:" not in text  # a tie is not a loss
    no_base = "\n".join(analyze.answer_lines(analysis, 1, "simulated"))
    assert "no target" in no_base and "bench-a (no target): final regret IQM 0.2 (peer-fast) vs 0.3" in no_base


def test_a_loss_where_neither_reaches_the_target_is_said_plainly() -> None:
    # Neither median run reaches the target: the loss is on final regret alone, not "as fast or faster".
    rung = pd.Series({"method": "rung-gp", "final_iqm": 0.04, "target": 0.03, "ttt_median": math.inf})
    peer = pd.Series({"method": "peer-fast", "final_iqm": 0.02, "target": 0.03, "ttt_median": math.inf})
    text = analyze._loss_text("bench-x", rung, peer)
    assert text.startswith("bench-x: neither reaches the target (median) and rung-gp ends worse: ")
    assert "as fast or faster" not in text
    swapped = (pd.Series({**peer.to_dict(), "method": "rung-gp"}), pd.Series({**rung.to_dict(), "method": "peer-fast"}))
    assert analyze._loss_text("bench-x", *swapped) is None  # rung ends lower: no loss


def test_times_in_answer_lines_carry_their_unit_except_never() -> None:
    assert analyze.fmt_secs(40.0) == "40 s"
    assert analyze.fmt_secs(math.inf) == "never"  # not "never s"
    assert analyze.fmt_secs(math.nan) == "–"


def test_outputs_written_and_report_printed(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "summary"
    analyze.main(["--results", str(results), "--out", str(out), "--bootstrap", str(N_BOOT), "--grid", str(GRID)])
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert printed.strip() == report.strip() and "Where rung loses" in report
    assert "| peer-fast | 1.25 | 1.25 | 2/2 | 2.00x |" in report
    for name in ["summary.csv", "ranks.csv", "curves.csv", "curves_w2_simulated.png", "curves_w1_simulated.png",
                 "curves_w2_charged.png", "rank_over_time_simulated.png", "rank_over_time_charged.png"]:
        assert (out / name).stat().st_size > 0, name
    assert (out / "curves_w2_simulated.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == ["benchmark", "workers", "clock", "method", "time", "iqm", "median", "lo", "hi"]
    first = curves[(curves["method"] == "rung-gp") & (curves["benchmark"] == "bench-a") & (curves["time"] == 0)]
    assert (first["iqm"] == 1.0).all()  # no value yet: regret 1.0
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 + 4 + 2 + 2  # group x method rows


def test_bootstrap_is_deterministic_given_the_seed() -> None:
    gen = np.random.default_rng(123)
    runs = []
    for method in (BASE, "peer-x"):
        for s in range(8):  # eight seeds with spread-out values, so resamples differ
            t1, t2 = sorted(gen.uniform(5, 95, 2))
            runs.append(analyze.Run("b", method, 2, s, "simulated", BUDGET, "budget", BUDGET, 10, 0.1, 0.1,
                                    np.array([t1, t2]), np.array(sorted(gen.uniform(0.01, 0.9, 2))[::-1])))
    a = analyze.analyze(runs, BASE, n_boot=N_BOOT, seed=3, grid_points=GRID)
    b = analyze.analyze(list(reversed(runs)), BASE, n_boot=N_BOOT, seed=3, grid_points=GRID)
    c = analyze.analyze(runs, BASE, n_boot=N_BOOT, seed=4, grid_points=GRID)
    pd.testing.assert_frame_equal(a.curves, b.curves)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not a.curves[["lo", "hi"]].equals(c.curves[["lo", "hi"]])
    assert not a.summary[["factor_lo", "factor_hi"]].equals(c.summary[["factor_lo", "factor_hi"]])


def test_regret_any_column(results: Path) -> None:
    an = analyze.analyze(analyze.load_runs(results, regret="any"), BASE, n_boot=0, seed=0, grid_points=GRID,
                         regret="any")
    base = row(an, "bench-a", BASE)
    assert base["target"] == pytest.approx(0.1)  # regret_any is half regret_max in these files
    assert base["ttt_median"] == 80 and math.isnan(base["final_iqm_lo"])  # no resamples: no interval


def test_methods_are_compared_on_the_seeds_they_all_have(tmp_path: Path) -> None:
    # A suite stopped part-way: the baseline has seeds 0-2, rung-gp only 0-1. Seed 2 of the
    # baseline (a much better run) must not move the target or the baseline's median.
    for s in range(2):
        write_run(tmp_path, "bench-c", BASE, 2, s, [(10, 0.5), (80, 0.2)])
        write_run(tmp_path, "bench-c", "rung-gp", 2, s, [(10, 0.5), (60, 0.2)])
    write_run(tmp_path, "bench-c", BASE, 2, 2, [(5, 0.01)])
    an = analyze.analyze(analyze.load_runs(tmp_path), baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)
    assert row(an, "bench-c", BASE)["seeds"] == 2 and row(an, "bench-c", "rung-gp")["seeds"] == 2
    assert row(an, "bench-c", BASE)["target"] == pytest.approx(0.2)
    assert an.unbalanced == {("bench-c", 2, "simulated"): 1}
    assert "1 run(s) on bench-c" in analyze.report_markdown(an)


def test_machines_are_counted_and_a_charged_seed_split_across_machines_is_flagged(tmp_path: Path) -> None:
    # Charged clock: seed 0 all on CPU A; seed 1's baseline on CPU A but rung-gp on CPU B (its
    # decision time was charged at another speed). Pure clock: CPUs may differ, results do not.
    for s in range(2):
        write_run(tmp_path, "bench-d", BASE, 2, s, [(50, 0.2)], charged=True, machine="CPU A")
        write_run(tmp_path, "bench-d", "rung-gp", 2, s, [(40, 0.2)], charged=True, machine="CPU A" if s == 0 else "CPU B")
        write_run(tmp_path, "bench-d", BASE, 2, s, [(50, 0.2)], machine="CPU A")
        write_run(tmp_path, "bench-d", "rung-gp", 2, s, [(40, 0.2)], machine=None if s == 0 else "CPU B")
    an = analyze.analyze(analyze.load_runs(tmp_path), baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)
    assert an.machines[2, "charged"] == {"CPU A": 3, "CPU B": 1}
    assert an.machines[2, "simulated"] == {"CPU A": 2, "CPU B": 1, analyze.NOT_RECORDED: 1}
    assert an.mixed == {("bench-d", 2, "charged"): {1: ["CPU A", "CPU B"]}}  # the pure clock is never flagged
    report = analyze.report_markdown(an)
    assert "3 run(s) on CPU A; 1 run(s) on CPU B." in report and "1 run(s) whose machine was not recorded" in report
    assert report.count("Mixed machines within a seed") == 1 and "bench-d seed 1 (CPU A / CPU B)" in report


def test_the_report_names_the_libraries_behind_rungs_runs_and_not_the_peers(tmp_path: Path) -> None:
    # rung's .venv is not pinned, so each rung run records its libraries; a peer's env is pinned.
    for s in range(2):
        write_run(tmp_path, "bench-f", BASE, 2, s, [(50, 0.2)], libraries="rung 0.1.0; numpy 2.4.6")
        write_run(tmp_path, "bench-f", "rung-gp", 2, s, [(40, 0.2)],
                  libraries=None if s == 0 else "rung 0.1.0; botorch 0.18.1, numpy 2.4.6")
        write_run(tmp_path, "bench-f", "optuna", 2, s, [(45, 0.2)], libraries="optuna 5.0.0")
    an = analyze.analyze(analyze.load_runs(tmp_path), baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)
    assert an.libraries[2, "simulated"] == {"rung 0.1.0; numpy 2.4.6": 2, "rung 0.1.0; botorch 0.18.1, numpy 2.4.6": 1,
                                            analyze.NOT_RECORDED: 1}
    line = next(ln for ln in analyze.report_markdown(an).splitlines() if ln.startswith("- rung's libraries"))
    assert line.endswith("2 run(s) with rung 0.1.0; numpy 2.4.6; 1 run(s) with rung 0.1.0; botorch 0.18.1, numpy 2.4.6; "
                         "1 run(s) made before runs recorded them.")
    assert "optuna 5.0.0" not in line


def test_decision_time_by_machine_is_relative_to_the_machine_with_most_runs(tmp_path: Path) -> None:
    # CPU A made seeds 0-2 of both methods, CPU B seed 3: its rung-gp asks took 2x A's median,
    # its baseline asks 3x (median of A's 0.1, 0.1, 0.4 is 0.1). Pure clock, so no seed is flagged.
    for s, (base_ms, gp_ms) in enumerate([(0.1, 4.0), (0.1, 5.0), (0.4, 6.0)]):
        write_run(tmp_path, "bench-e", BASE, 2, s, [(50, 0.2)], ask_ms=base_ms, machine="CPU A")
        write_run(tmp_path, "bench-e", "rung-gp", 2, s, [(40, 0.2)], ask_ms=gp_ms, machine="CPU A")
    write_run(tmp_path, "bench-e", BASE, 2, 3, [(50, 0.2)], ask_ms=0.3, machine="CPU B")
    write_run(tmp_path, "bench-e", "rung-gp", 2, 3, [(40, 0.2)], ask_ms=10.0, machine="CPU B")
    an = analyze.analyze(analyze.load_runs(tmp_path), baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)
    ratios = an.ask_ratios[2, "simulated"]
    assert ratios["reference"] == "CPU A"
    b = ratios["machines"]["CPU B"]
    assert b["runs"] == 2 and b["by_method"] == pytest.approx({BASE: 3.0, "rung-gp": 2.0})
    assert b["median"] == pytest.approx(2.5)
    report = analyze.report_markdown(an)
    assert ("Decision time by machine (a run's mean ask ms over the median of CPU A for the same benchmark and "
            "method): CPU B: 2.50x (median over 2 run(s); 2.00x-3.00x by method).") in report
    assert an.mixed == {}


def test_one_machine_gives_no_decision_time_ratio(tmp_path: Path) -> None:
    make_results(tmp_path)
    an = analyze.analyze(analyze.load_runs(tmp_path), baseline=BASE, n_boot=N_BOOT, seed=0, grid_points=GRID)
    assert an.ask_ratios == {} and "- Decision time by machine" not in analyze.report_markdown(an)
