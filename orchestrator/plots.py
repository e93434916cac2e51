"""The figures of `rung report`, one function per PNG, all drawn from `report_data.SearchData`.

Each function takes the columns and a target path, draws with vectorised matplotlib primitives
(LineCollection, one step line per rung) so a 100,000-trial search plots in seconds, and
returns a one-line caption for report.md. Callers select the Agg backend first (`report.py`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from orchestrator.report_data import SearchData, choice_labels, normalized_params, unit_scale

MAX_CURVES = 2000  # learning curves drawn at most (the best trials always among them)
TOP_K = 20  # configurations in the parallel-coordinates view
DPI = 110


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI)
    _plt().close(fig)


def _fmt_level(level: float) -> str:
    return f"{level:g}"


def _empty(path: Path, title: str, message: str) -> str:
    """A figure that says why there is nothing to plot (rather than a blank or missing PNG)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    _save(fig, path)
    return f"Nothing to plot: {message}"


def _log_x_if_wide(ax, values: np.ndarray) -> None:
    pos = values[values > 0]
    if pos.size and pos.max() / pos.min() >= 10:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")  # "60", not "6 x 10^1"
        ax.xaxis.set_major_formatter(plain)
        if pos.max() / pos.min() < 1000:  # few decades: label minor ticks 2 and 5, the rest would crowd
            def two_and_five(v: float, _: object) -> str:
                if v <= 0:
                    return ""
                lead = round(v / 10 ** np.floor(np.log10(v)))
                return f"{v:g}" if lead in (2, 5) else ""

            ax.xaxis.set_minor_formatter(FuncFormatter(two_and_five))


def _log_y_if_wide(ax, lo: float, hi: float) -> bool:
    """Log y when the plotted values are positive and span more than a decade and a half (an
    error rate falling from 0.5 to 0.004 is unreadable on a linear axis)."""
    if lo > 0 and hi / lo >= 30:
        ax.set_yscale("log")
        ax.set_ylim(lo / 1.15, hi * 1.15)
        return True
    return False


def _time_label(data: SearchData) -> str:
    return f"experiment clock ({data.clock} seconds)"


def level_colors(n: int):
    cmap = _plt().get_cmap("viridis")
    return [cmap(0.9 * i / max(1, n - 1)) for i in range(n)]


# --------------------------------------------------------------------------- best so far
def best_so_far(data: SearchData, path: Path) -> str:
    """Running best of the metric against the experiment clock, one step line per rung level
    r: the best value among results recorded at levels >= r (the top line is the real best)."""
    title = f"Best {data.metric} so far ({data.spec['mode']})"
    mask = data.res_at_rung
    if not mask.any():
        return _empty(path, title, "no result at a rung level yet")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    times, res, signed = data.res_time[mask], data.res_resource[mask], data.sign * data.res_value[mask]
    end = float(times.max())
    order = np.argsort(times, kind="stable")
    times, res, signed = times[order], res[order], signed[order]
    colors = level_colors(len(data.levels))
    all_steps: list[np.ndarray] = []
    for level, color in zip(data.levels, colors):
        sel = res >= level
        if not sel.any():
            continue
        t, v = times[sel], np.minimum.accumulate(signed[sel])
        change = np.flatnonzero(np.r_[True, v[1:] < v[:-1]])
        t, v = np.r_[t[change], end], np.r_[v[change], v[-1]] * data.sign
        all_steps.append(v)
        top = level == data.levels[-1]
        ax.step(t, v, where="post", color=color, lw=2.4 if top else 1.3,
                label=f"results at {data.resource_name} >= {_fmt_level(level)}" + (" (max)" if top else ""))
    _log_x_if_wide(ax, times)
    # y range: from the best value to where the curves are after their first few steps, so a
    # terrible first result does not flatten the interesting part
    steps = np.concatenate(all_steps)
    lo, hi = float(steps.min()), float(steps.max())
    tail = np.concatenate([s[min(len(s) - 1, 2):] for s in all_steps])
    hi = min(hi, float(tail.max())) if data.sign > 0 else hi
    lo = max(lo, float(tail.min())) if data.sign < 0 else lo
    if not _log_y_if_wide(ax, lo, hi):
        pad = 0.06 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
        ax.set_ylim(lo - pad, hi + pad)
    best = data.summary["best"]
    if best is not None:
        ax.axhline(best["value"], color="0.5", lw=0.8, ls=":")
        ax.annotate(f"best {best['value']:.5g} (trial {best['trial']})", xy=(0, best["value"]),
                    xycoords=("axes fraction", "data"), xytext=(4, 3 if data.sign > 0 else -11),
                    textcoords="offset points", ha="left", fontsize=8, color="0.3")
    ax.set_xlabel(_time_label(data))
    ax.set_ylabel(data.metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right" if data.sign > 0 else "lower right")
    fig.tight_layout()
    _save(fig, path)
    return (f"Running best {data.metric} against the experiment clock; one line per rung level r, "
            f"counting results at levels >= r (thick: {data.resource_name} = max)")


# --------------------------------------------------------------------------- learning curves
def learning_curves(data: SearchData, path: Path) -> str:
    """Metric against resource, one line per trial, coloured by the highest rung it reached."""
    title = f"Learning curves: {data.metric} vs {data.resource_name}"
    if data.res_row.size == 0:
        return _empty(path, title, "no result reported yet")
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    plt = _plt()
    rows, res, val = data.res_row, data.res_resource, data.res_value
    order = np.lexsort((res, rows))
    rows, res, val = rows[order], res[order], val[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:], rows.size]
    trial_rows = rows[starts]
    reached = res[ends - 1]
    n_trials = trial_rows.size
    chosen = np.arange(n_trials)
    n_top = 0
    if n_trials > MAX_CURVES:
        ranked = data.ranking()[0]
        position = {int(r): i for i, r in enumerate(trial_rows)}
        keep_top = [position[int(r)] for r in ranked[: MAX_CURVES // 4] if int(r) in position]
        n_top = len(keep_top)
        rest = np.setdiff1d(np.arange(n_trials), keep_top)
        rng = np.random.default_rng(0)
        chosen = np.sort(np.r_[keep_top, rng.choice(rest, MAX_CURVES - len(keep_top), replace=False)]).astype(int)
    level_index = np.clip(np.searchsorted(data.levels, reached, side="right") - 1, 0, len(data.levels) - 1)
    colors = level_colors(len(data.levels))
    # draw low-rung curves first so the few long curves stay on top
    chosen = chosen[np.argsort(level_index[chosen], kind="stable")]
    segments, seg_colors = [], []
    dots_x, dots_y, dot_colors = [], [], []  # trials with a single result: a dot, not a line
    for i in chosen:
        a, b = starts[i], ends[i]
        if b - a == 1:
            dots_x.append(res[a])
            dots_y.append(val[a])
            dot_colors.append(colors[level_index[i]])
        else:
            segments.append(np.column_stack([res[a:b], val[a:b]]))
            seg_colors.append(colors[level_index[i]])
    fig, ax = plt.subplots(figsize=(8, 5))
    alpha = 0.7 if len(chosen) < 100 else 0.35
    ax.add_collection(LineCollection(segments, colors=seg_colors, linewidths=0.8, alpha=alpha))
    if dots_x:
        ax.scatter(dots_x, dots_y, c=dot_colors, s=6, alpha=alpha, lw=0)
    shown = val[np.isin(rows, trial_rows[chosen])]
    # robust range (a diverged trial must not squash the rest) that still shows the best value
    lo, hi = (float(q) for q in np.percentile(shown, [0.5, 99.5]))
    if data.sign > 0:
        lo = float(shown.min())
    else:
        hi = float(shown.max())
    if not _log_y_if_wide(ax, lo, hi):
        pad = 0.04 * (hi - lo) if hi > lo else 1.0
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(float(res.min()) * (0.9 if res.min() > 0 else 1), float(res.max()) * 1.05)
    if data.levels[-1] / data.levels[0] >= 10 and res.min() > 0:
        ax.set_xscale("log")
        ax.set_xticks(data.levels)
        ax.set_xticklabels([_fmt_level(v) for v in data.levels])
        ax.minorticks_off()
    handles = [Line2D([], [], color=c, lw=2, label=f"reached {_fmt_level(l)} ({int((level_index == k).sum())} trials)")
               for k, (l, c) in enumerate(zip(data.levels, colors)) if (level_index == k).any()]
    ax.legend(handles=handles, title="highest rung", fontsize=8, title_fontsize=8)
    sub = f"{len(chosen)} of {n_trials} trials" + \
        (f" (the {n_top} best always, the rest a random sample)" if len(chosen) < n_trials else "")
    ax.set_title(f"{title}\n{sub}", fontsize=11)
    ax.set_xlabel(data.resource_name)
    ax.set_ylabel(data.metric)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    return f"The reported {data.metric} against {data.resource_name} for {sub}, coloured by the highest rung each reached"


# --------------------------------------------------------------------------- rung occupancy
def rung_occupancy(data: SearchData, path: Path) -> str:
    """Results recorded at each rung level against the experiment clock (cumulative counts)."""
    title = "Rung occupancy: results recorded at each rung"
    mask = data.res_at_rung
    if not mask.any():
        return _empty(path, title, "no result at a rung level yet")
    plt = _plt()
    times, res = data.res_time[mask], data.res_resource[mask]
    fig, ax = plt.subplots(figsize=(8, 4.8))
    end = float(times.max())
    for level, color in zip(data.levels, level_colors(len(data.levels))):
        t = np.sort(times[res == level])
        if t.size == 0:
            continue
        # one point per distinct time is enough for a step line (keeps 100k results cheap)
        t_unique, last = np.unique(t, return_index=False, return_counts=True)
        counts = np.cumsum(last)
        ax.step(np.r_[t_unique, end], np.r_[counts, counts[-1]], where="post", color=color, lw=1.6,
                label=f"{data.resource_name} {_fmt_level(level)}: {t.size}")
    ax.set_yscale("log")
    _log_x_if_wide(ax, times)
    ax.set_xlabel(_time_label(data))
    ax.set_ylabel("results recorded (cumulative, log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, title="rung: total", title_fontsize=8, loc="upper left")
    fig.tight_layout()
    _save(fig, path)
    return "The cumulative number of results recorded at each rung level against the experiment clock (log scale)"


# --------------------------------------------------------------------------- top configs
def top_configs(data: SearchData, path: Path, k: int = TOP_K) -> str:
    """Parallel coordinates of the k best trials at one rung (the highest with k results) on each
    parameter's own [0, 1] scale, coloured by their value there; a grey sample of the other
    trials at that rung gives the context."""
    title = f"Top {k} configurations (parallel coordinates)"
    # one rung, so the colours compare like with like: the highest with k results (or the fullest)
    top_level = data.reference_level(k)
    if top_level is None:
        return _empty(path, title, "no result at a rung level yet")
    plt = _plt()
    ranked, values = data.results_at(top_level)
    k = min(k, ranked.size)
    title = f"Top {k} configurations (parallel coordinates)"
    names, top = normalized_params(data, ranked[:k])
    peers = ranked[k:]
    if peers.size > 200:
        peers = np.random.default_rng(0).choice(peers, 200, replace=False)
    _, context = normalized_params(data, peers)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(names) + 2.5), 5.2))
    # a line skips the axes of parameters inactive in its configuration (no marker there)
    for row in context:
        on = np.isfinite(row)
        ax.plot(x[on], row[on], color="0.75", lw=0.6, alpha=0.5, zorder=1)
    vals = values[:k]
    norm = plt.Normalize(vals.min(), vals.max() if vals.max() > vals.min() else vals.min() + 1e-12)
    cmap = plt.get_cmap("plasma_r" if data.sign > 0 else "plasma")
    for i in range(k - 1, -1, -1):  # best drawn last, on top
        on = np.isfinite(top[i])
        ax.plot(x[on], top[i][on], color=cmap(norm(vals[i])), lw=2.4 if i == 0 else 1.3, marker="o", ms=3,
                zorder=2 + (k - i))
    for j, name in enumerate(names):
        ax.axvline(j, color="0.3", lw=0.8, zorder=0)
        p = data.param_specs[name]
        labels = choice_labels(p)
        if labels and len(labels) > 1:
            for i, lab in enumerate(labels):
                ax.text(j + 0.04, i / (len(labels) - 1), lab[:14], fontsize=7, va="center", color="0.1", zorder=100,
                        bbox={"facecolor": "white", "alpha": 0.75, "linewidth": 0, "pad": 0.6})
        elif p.get("type") in ("float", "int"):
            ax.text(j, -0.06, f"{p['low']:g}", fontsize=7, ha="center", va="top", color="0.3")
            ax.text(j, 1.04, f"{p['high']:g}" + (" log" if p.get("log") else ""), fontsize=7, ha="center", va="bottom", color="0.3")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30 if len(names) > 5 else 0, ha="right" if len(names) > 5 else "center", fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.3, len(names) - 0.5)
    ax.set_ylim(-0.14, 1.12)
    ax.set_ylabel("position in the parameter's range (low to high)")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=f"{data.metric} at {data.resource_name} {_fmt_level(top_level)}", pad=0.01)
    gaps = "\n(a line without a marker on an axis: that parameter is inactive in its configuration)" \
        if np.isnan(top).any() else ""
    ax.set_title(f"{title} at {data.resource_name} {_fmt_level(top_level)}; grey: {peers.size} other trials "
                 f"there{gaps}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return (f"The {k} best trials at {data.resource_name} {_fmt_level(top_level)} across every parameter "
            f"(each axis its range, log where the space says so), coloured by {data.metric}")


# --------------------------------------------------------------------------- importance
def importance(data: SearchData, path: Path, min_results: int = 10) -> str:
    """|Spearman rank correlation| between each parameter (one-hot per choice value) and the
    metric at the highest rung with >= `min_results` results: a marginal, model-free measure."""
    level = data.reference_level(min_results)
    title = "Parameter importance"
    if level is None:
        return _empty(path, title, "no result at a rung level yet")
    rows, vals = data.results_at(level)
    if rows.size < 3:
        return _empty(path, title, f"only {rows.size} result(s) at {data.resource_name} {_fmt_level(level)}: too few to rank")
    bars = _correlations(data, rows, vals, min_n=min(min_results, rows.size))
    if not bars:
        return _empty(path, title, "no parameter varies among these results")
    bars.sort(key=lambda b: abs(b[1]), reverse=True)
    bars = bars[:25]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(bars) + 1.8))
    labels = [f"{name}  (n={n})" if n < rows.size else name for name, _, n in bars]
    # rho > 0: larger parameter, larger metric; "better" depends on the mode
    better = [(rho < 0) == (data.sign > 0) for _, rho, _ in bars]
    colors = ["tab:green" if b else "tab:red" for b in better]
    y = np.arange(len(bars))[::-1]
    ax.barh(y, [abs(r) for _, r, _ in bars], color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(0, max(0.05, max(abs(r) for _, r, _ in bars) * 1.15))
    ax.set_xlabel(f"|Spearman rank correlation| with {data.metric}")
    ax.set_title(f"Which parameters mattered: |Spearman rho| with {data.metric}\n"
                 f"at {data.resource_name} {_fmt_level(level)} (n={rows.size} trials; choices one-hot)\n"
                 "green: a larger value (or this choice) is better; red: worse", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    top = ", ".join(f"{name} ({abs(rho):.2f})" for name, rho, _ in bars[:3])
    return (f"The absolute Spearman rank correlation of each parameter with {data.metric} at {data.resource_name} "
            f"{_fmt_level(level)} over the {rows.size} trials that reached it (a population the scheduler "
            f"already selected, so a marginal, not causal, measure); strongest: {top}")


def _correlations(data: SearchData, rows: np.ndarray, vals: np.ndarray, min_n: int) -> list[tuple[str, float, int]]:
    """(label, rho, n) per numeric parameter and per choice value. A conditional parameter is
    ranked over the trials where it is active, and only with `min_n` of them; a choice value
    needs 3 trials with it and 3 without: fewer give correlations that are mostly noise."""
    out: list[tuple[str, float, int]] = []
    for name, p in data.param_specs.items():
        kind = p.get("type")
        raw = [data.configs[i].get(name) for i in rows]
        if kind == "choice":
            for value in p.get("values", []):
                active = np.asarray([v is not None for v in raw])
                x = np.asarray([v == value and type(v) is type(value) for v in raw], dtype=float)
                hits = int(x[active].sum())
                if active.sum() < min_n or min(hits, int(active.sum()) - hits) < 3:
                    continue
                rho = _spearman(x[active], vals[active])
                if rho is not None:
                    out.append((f"{name}={value}", rho, int(active.sum())))
        elif kind in ("float", "int", "ordinal", "bool"):
            x = unit_scale(p, raw)
            active = np.isfinite(x)
            if active.sum() < min_n:
                continue
            rho = _spearman(x[active], vals[active])
            if rho is not None:
                out.append((name, rho, int(active.sum())))
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    return rho if math.isfinite(rho) else None
