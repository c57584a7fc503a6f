"""End-of-test statistics exactly as k6 computes them (``metrics/sink.go``).

Percentile: n=0 → 0; n=1 → the value; else sort, ``i = p*(n-1)``,
``v[floor(i)] + (v[ceil(i)] - v[floor(i)]) * (i - floor(i))``, with ``p = N/100``.
DuckDB's ``quantile_cont`` interpolates as ``lo*(1-d) + hi*d`` and was measured to
differ in the last digit in ~20 % of cases, so the two order statistics come from
``numpy.partition`` and the interpolation is done here with Go's float expression.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from novaload.thresholds import percentile_key


def percentiles(values: np.ndarray, pcts: Sequence[float]) -> dict[float, float]:
    """k6's ``TrendSink.P(p/100)`` for each ``p`` in ``pcts`` (percent)."""
    n = len(values)
    if n == 0:
        return dict.fromkeys(pcts, 0.0)
    if n == 1:
        return {p: float(values[0]) for p in pcts}
    where = {}
    for p in pcts:
        i = (p / 100) * (n - 1.0)
        where[p] = (i, math.floor(i), math.ceil(i))
    kth = sorted({k for _, lo, hi in where.values() for k in (lo, hi)})
    part = np.partition(values, kth)
    out = {}
    for p, (i, lo, hi) in where.items():
        j, k = float(part[lo]), float(part[hi])
        out[p] = j + (k - j) * (i - math.floor(i))
    return out


def interpolate(ranked: dict[int, float], p: float, n: int) -> float:
    """k6's ``P(p/100)`` from the values at ranks floor(i) and ceil(i) (``ranked``)."""
    if n == 0:
        return 0.0
    if n == 1:
        return ranked[0]
    i = (p / 100) * (n - 1.0)
    j, k = ranked[math.floor(i)], ranked[math.ceil(i)]
    return j + (k - j) * (i - math.floor(i))


def trend_values(
    values: np.ndarray,
    count: int,
    total: float,
    vmin: float,
    vmax: float,
    pcts: Iterable[float],
) -> dict[str, float]:
    """A trend's k6 values: count, avg, min, med, max and every ``p(N)`` asked for."""
    pcts = sorted(set(pcts) | {50.0})
    return trend_from(count, total, vmin, vmax, percentiles(values, pcts))


def trend_from(
    count: int, total: float, vmin: float, vmax: float, got: dict[float, float]
) -> dict[str, float]:
    """A trend's k6 values from its count, sum, extremes and percentiles (``got``,
    which has the median, 50)."""
    out = {
        "count": float(count),
        "avg": total / count if count else 0.0,
        "min": vmin if count else 0.0,
        "med": got[50.0],
        "max": vmax if count else 0.0,
    }
    for p in sorted(got):
        out[percentile_key(p)] = got[p]
    return out


def log_edges(lo_positive: float | None, hi: float, buckets: int) -> np.ndarray:
    """Upper bounds of ``buckets`` log-spaced buckets from the smallest positive value
    (1e-3 when there is none) to the largest value."""
    lo = lo_positive if lo_positive is not None else 1e-3
    hi = max(hi, lo * 1.000001)
    edges = np.geomspace(lo, hi, buckets)
    edges[-1] = hi  # geomspace may round the last edge below the max
    return edges


def log_histogram(values: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(upper bounds, counts) over log-spaced buckets covering all values."""
    if len(values) == 0 or buckets < 1:
        return np.array([]), np.array([], dtype=np.int64)
    positive = values[values > 0]
    edges = log_edges(float(positive.min()) if len(positive) else None, float(values.max()), buckets)
    idx = np.searchsorted(edges, values, side="left")
    counts = np.bincount(np.minimum(idx, buckets - 1), minlength=buckets)
    return edges, counts


__all__ = [
    "interpolate",
    "log_edges",
    "log_histogram",
    "percentile_key",
    "percentiles",
    "trend_from",
    "trend_values",
]
