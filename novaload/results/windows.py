"""Windowed thresholds (SLOs over time), judged offline from the run's samples.

A windowed threshold is a k6 threshold plus a window (``novaload.thresholds``):

* ``AGG OP VALUE within D``: the expression is judged on the samples of every
  D-long *sliding* window (it starts at each time-series window and spans the
  ceil(D / window) time-series windows from there; a run shorter than D is one
  window). It fails when any window breaches. "p(95) < 500 within 30s": in every
  30 seconds of the run, p95 stayed under 500 ms.
* ``AGG OP VALUE for D``: the expression is judged on every time-series window
  (``--window``, 1 s by default) and fails when it is broken in consecutive windows
  covering at least D: a *sustained* breach. A window without samples ends a
  streak. "p(95) < 500 for 30s": p95 was not above 500 ms for 30 s in a row.

Each window's figure is exact and computed like k6's end-of-test value over the
window's samples: percentiles with k6's interpolation over the raw values, a Rate's
rate as non-zero / all, a Counter's count (and rate = count / window length), a
Gauge's last value. The samples come from the results engine's per-window groups
(the scan windows every metric a windowed threshold names), never from a second
read of the results file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from novaload.results.breakdowns import Context
from novaload.results.model import ThresholdResult, WindowValue
from novaload.results.stats import percentiles
from novaload.thresholds import Threshold


@dataclass(frozen=True, slots=True)
class _Win:
    """The groups of one time-series window of one (sub)metric."""

    win: int
    gids: np.ndarray
    n: int
    total: float
    nz: int
    vmin: float
    vmax: float
    last: float  # a gauge's last value (NaN unless asked for)


def _per_window(rows: pd.DataFrame, want_last: bool) -> dict[int, _Win]:
    """Per-window sums of the groups, vectorised (a long run has thousands of windows)."""
    rows = rows[rows["win"].notna()]
    if rows.empty:
        return {}
    win = rows["win"].to_numpy(dtype=np.int64)
    order = np.argsort(win, kind="stable")
    wins, starts = np.unique(win[order], return_index=True)

    def summed(col: str, how: np.ufunc = np.add) -> np.ndarray:
        return how.reduceat(rows[col].to_numpy(dtype=np.float64)[order], starts)

    n, total, nz = summed("n"), summed("s"), summed("nz")
    vmin, vmax = summed("mn", np.minimum), summed("mx", np.maximum)
    gids = np.split(rows.index.to_numpy()[order], starts[1:])
    last = np.full(len(wins), np.nan)
    if want_last:  # a gauge: the value of the group written last in each window
        ordered = rows.iloc[order]
        for i, (_, part) in enumerate(ordered.groupby(win[order], sort=True)):
            last[i] = float(part.sort_values("last_us", kind="stable")["last_v"].iloc[-1])
    return {
        int(w): _Win(
            int(w), gids[i], int(n[i]), float(total[i]), int(nz[i]), float(vmin[i]), float(vmax[i]), last[i]
        )
        for i, w in enumerate(wins)
    }


class _Values:
    """Each window's raw values, read from the engine once and kept only while a sliding
    window still covers them (memory stays at one window's worth of samples)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.cache: dict[int, np.ndarray] = {}

    def of(self, members: Sequence[_Win]) -> np.ndarray:
        lowest = members[0].win
        for w in [w for w in self.cache if w < lowest]:
            del self.cache[w]
        parts = []
        for m in members:
            if m.win not in self.cache:
                self.cache[m.win] = self.ctx.values_of(m.gids)
            parts.append(self.cache[m.win])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def aggregate(
    values: _Values, spec: Threshold, mtype: str, members: Sequence[_Win], seconds: float
) -> float | None:
    """The expression's aggregation over the samples of ``members`` (None: no samples)."""
    n = sum(w.n for w in members)
    if n == 0:
        return None
    expr = spec.expr
    if mtype == "rate":
        return sum(w.nz for w in members) / n
    if mtype == "counter":
        count = sum(w.total for w in members)
        return count if expr.aggregation == "count" else count / seconds
    if mtype == "gauge":
        return members[-1].last
    agg = expr.aggregation
    if agg == "min":
        return min(w.vmin for w in members)
    if agg == "max":
        return max(w.vmax for w in members)
    raw = values.of(members)
    if agg == "avg":
        return float(raw.sum()) / n
    pct = 50.0 if agg == "med" else expr.percentile
    if pct is None:  # count/rate/value on a trend: k6 refuses these; the caller checked
        return None
    return percentiles(raw, [pct])[pct]


def _worst(spec: Threshold, values: Sequence[WindowValue]) -> float | None:
    seen = [v.observed for v in values if v.observed is not None]
    if not seen:
        return None
    op = spec.expr.operator
    if op in ("<", "<="):
        return max(seen)
    if op in (">", ">="):
        return min(seen)
    failing = [v.observed for v in values if v.ok is False and v.observed is not None]
    return failing[0] if failing else seen[0]


def _merge(spans: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    for t0, t1 in sorted(spans):
        if out and t0 <= out[-1][1] + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], t1))
        else:
            out.append((t0, t1))
    return tuple(out)


def judge_windowed(ctx: Context, spec: Threshold, mtype: str, rows: pd.DataFrame) -> ThresholdResult:
    """One windowed threshold on the groups ``rows`` of its (sub)metric."""
    window = spec.window
    assert window is not None
    per = _per_window(rows, want_last=mtype == "gauge")
    values_of = _Values(ctx)
    step = ctx.window_s
    values: list[WindowValue] = []
    breaches: list[tuple[float, float]] = []

    if per and ctx.first_us is not None:
        lo, hi = min(per), max(per)
        if window.kind == "within":
            k = max(1, math.ceil(window.seconds / step - 1e-9))
            for w0 in range(lo, max(lo, hi - k + 1) + 1):
                members = [per[w] for w in range(w0, w0 + k) if w in per]
                observed = aggregate(values_of, spec, mtype, members, k * step) if members else None
                if observed is None:
                    continue
                ok = spec.expr.holds(observed)
                values.append(WindowValue(ctx.window_t(w0), ctx.window_t(w0 + k), observed, ok))
                if not ok:
                    breaches.append((ctx.window_t(w0), ctx.window_t(w0 + k)))
        else:
            streak: list[int] = []

            def close() -> None:
                if streak and len(streak) * step >= window.seconds - 1e-9:
                    breaches.append((ctx.window_t(streak[0]), ctx.window_t(streak[-1] + 1)))
                streak.clear()

            for w in range(lo, hi + 1):
                observed = aggregate(values_of, spec, mtype, [per[w]], step) if w in per else None
                if observed is None:
                    close()
                    continue
                ok = spec.expr.holds(observed)
                values.append(WindowValue(ctx.window_t(w), ctx.window_t(w + 1), observed, ok))
                if ok:
                    close()
                else:
                    streak.append(w)
            close()
    judged = bool(values)
    return ThresholdResult(
        spec.metric,
        spec.expression,
        spec.expr.aggregation,
        spec.expr.operator,
        spec.expr.limit,
        _worst(spec, values),
        (not breaches) if judged else None,
        spec.abort_on_fail,
        spec.source,
        window=str(window),
        windows=tuple(values),
        breaches=_merge(breaches),
    )


__all__ = ["aggregate", "judge_windowed"]
