"""Per-endpoint response-time distribution: Apdex, histograms, percentiles over time.

All three read the exact ``http_req_duration`` values the scan kept, grouped by the
``name`` tag (k6's endpoint: the URL, or the name a script gave the request):

* **Apdex** (apdex.org): with a target time T, a request is *satisfied* when its
  duration is <= T, *tolerating* when <= 4T, *frustrated* above 4T **or when it
  failed** (``expected_response`` false, i.e. ``http_req_failed``: a fast error
  satisfies nobody). Apdex = (satisfied + tolerating / 2) / requests, 0..1. T is per
  endpoint (``apdex_t_ms`` in the scenario config), else the scenario's, else
  :data:`DEFAULT_APDEX_T_MS`. Overall Apdex counts every request against its own
  endpoint's T.
* **Histograms**: every endpoint is counted into the run's log-spaced buckets (the
  ones of the whole-run histogram, so endpoints compare bucket by bucket); a value
  falls in the first bucket whose upper bound is >= it.
* **Percentiles over time**: k6's p50/p95/p99 of each endpoint's samples in each
  time-series window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from novaload.config.models import DEFAULT_APDEX_T_MS
from novaload.results.breakdowns import DURATION, Context
from novaload.results.model import RunResults
from novaload.results.stats import percentiles

APDEX_COLUMNS = ("apdex_t_ms", "apdex", "apdex_satisfied", "apdex_tolerating", "apdex_frustrated")


@dataclass(frozen=True, slots=True)
class Apdex:
    t_ms: float | None  # None for the overall score (each endpoint used its own T)
    satisfied: int
    tolerating: int
    frustrated: int

    @property
    def requests(self) -> int:
        return self.satisfied + self.tolerating + self.frustrated

    @property
    def score(self) -> float | None:
        n = self.requests
        return (self.satisfied + self.tolerating / 2) / n if n else None

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "t_ms": self.t_ms,
            "score": self.score,
            "requests": self.requests,
            "satisfied": self.satisfied,
            "tolerating": self.tolerating,
            "frustrated": self.frustrated,
        }


def _counts(ctx: Context, gids: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values of ``gids`` per bucket of ``edges`` (upper bounds; a value counts in the first
    bucket whose bound is >= it, the last bucket takes the rest), streamed by the engine."""
    if len(gids) == 0:
        return np.zeros(len(edges), dtype=np.int64)
    return ctx.scan.store.histogram_counts(gids, edges).astype(np.int64)


def _duration_rows(ctx: Context) -> pd.DataFrame:
    return ctx.pts[ctx.pts["metric"] == DURATION]


def _names(rows: pd.DataFrame) -> pd.Series:
    return rows["tag:name"].fillna("").astype(str)


def apdex_by_endpoint(
    ctx: Context, targets: Mapping[str, float], default_t_ms: float
) -> tuple[dict[str, Apdex], Apdex]:
    """Apdex of each endpoint (``name`` tag) and overall."""
    rows = _duration_rows(ctx)
    out: dict[str, Apdex] = {}
    if rows.empty:
        return out, Apdex(None, 0, 0, 0)
    failed = (rows["tag:expected_response"].astype(str) == "false").to_numpy()
    for name, part in rows.groupby(_names(rows), sort=True):
        t = float(targets.get(str(name), default_t_ms))
        mask = failed[rows.index.get_indexer(part.index)]
        n_failed = int(part.loc[mask, "n"].sum())
        # <= T, <= 4T, the rest: counted by the engine in chunks (bounded memory)
        zones = _counts(ctx, part.index[~mask].to_numpy(), np.array([t, 4 * t, math.inf]))
        out[str(name)] = Apdex(t, int(zones[0]), int(zones[1]), int(zones[2]) + n_failed)
    overall = Apdex(
        None,
        sum(a.satisfied for a in out.values()),
        sum(a.tolerating for a in out.values()),
        sum(a.frustrated for a in out.values()),
    )
    return out, overall


def endpoint_histograms(ctx: Context, edges: np.ndarray) -> pd.DataFrame:
    """name, le_ms, requests: each endpoint's values counted into ``edges`` (upper bounds)."""
    rows = _duration_rows(ctx)
    cols = ["name", "le_ms", "requests"]
    if rows.empty or len(edges) == 0:
        return pd.DataFrame(columns=cols)
    frames = []
    for name, part in rows.groupby(_names(rows), sort=True):
        counts = _counts(ctx, part.index.to_numpy(), edges)
        frames.append(pd.DataFrame({"name": str(name), "le_ms": edges, "requests": counts}))
    return pd.concat(frames, ignore_index=True)[cols]


def endpoint_latency_timeseries(ctx: Context) -> pd.DataFrame:
    """t, name, requests, p50, p95, p99: each endpoint's exact percentiles per window
    (sparse: only the windows where it had requests); ``t`` as in the time series."""
    cols = ["t", "name", "requests", "p50", "p95", "p99"]
    rows = _duration_rows(ctx)
    rows = rows[rows["win"].notna()]
    if rows.empty or ctx.first_us is None:
        return pd.DataFrame(columns=cols)
    # one pass over (name, window) keys with numpy: a long run has thousands of windows
    names = _names(rows).to_numpy(dtype=object)
    codes, labels = pd.factorize(names, sort=True)
    win = rows["win"].to_numpy(dtype=np.int64)
    order = np.lexsort((win, codes))
    key = np.stack([codes[order], win[order]])
    starts = np.flatnonzero(np.r_[True, (np.diff(key, axis=1) != 0).any(axis=0)])
    counts = np.add.reduceat(rows["n"].to_numpy(dtype=np.int64)[order], starts)
    gids = np.split(rows.index.to_numpy()[order], starts[1:])
    out: dict[str, list] = {c: [] for c in cols}
    for i, start in enumerate(starts):
        got = percentiles(ctx.values_of(gids[i]), (50.0, 95.0, 99.0))
        out["t"].append(ctx.window_t(int(key[1, start])))
        out["name"].append(str(labels[key[0, start]]))
        out["requests"].append(int(counts[i]))
        for p in (50.0, 95.0, 99.0):
            out[f"p{p:g}"].append(got[p])
    return pd.DataFrame(out, columns=cols)


def fill(
    res: RunResults,
    ctx: Context,
    *,
    apdex_targets: Mapping[str, float] | None = None,
    apdex_t_ms: float = DEFAULT_APDEX_T_MS,
) -> None:
    """Add Apdex (endpoints table columns and ``res.apdex``), per-endpoint histograms and
    per-endpoint percentiles over time to ingested results."""
    per, overall = apdex_by_endpoint(ctx, apdex_targets or {}, apdex_t_ms)
    res.apdex = overall
    res.apdex_default_t_ms = apdex_t_ms
    if not res.endpoints.empty:
        ep = res.endpoints
        by = [per.get(str(n)) for n in ep["name"]]
        res.endpoints = ep.assign(
            apdex_t_ms=[a.t_ms if a else None for a in by],
            apdex=[a.score if a else None for a in by],
            apdex_satisfied=[a.satisfied if a else 0 for a in by],
            apdex_tolerating=[a.tolerating if a else 0 for a in by],
            apdex_frustrated=[a.frustrated if a else 0 for a in by],
        )
    edges = res.histogram["le_ms"].to_numpy(dtype=np.float64) if "le_ms" in res.histogram else np.array([])
    res.endpoint_histograms = endpoint_histograms(ctx, edges)
    res.endpoint_latency = endpoint_latency_timeseries(ctx)


__all__ = [
    "APDEX_COLUMNS",
    "Apdex",
    "apdex_by_endpoint",
    "endpoint_histograms",
    "endpoint_latency_timeseries",
    "fill",
]
