"""Breakdown tables of a run (the DataFrames on :class:`RunResults`).

They are computed from the aggregated groups of the single pass (``scan``): one
row per (metric, tag set, window) with counts and sums, plus the exact values of
trend groups for percentiles. Columns are those documented in ``model.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

import numpy as np
import pandas as pd

from novaload.results.model import LatencyDigest, RunResults
from novaload.results.scan import ScanResult
from novaload.results.stats import log_edges, percentiles

TAG_COLUMNS = (
    "name",
    "method",
    "status",
    "scenario",
    "group",
    "url",
    "expected_response",
    "check",
    "error",
    "error_code",
)
DURATION = "http_req_duration"


@dataclass(slots=True)
class Context:
    scan: ScanResult
    pts: pd.DataFrame  # Point groups (index = gid) with tag:* columns
    duration_s: float
    window_s: float
    origin_us: int
    first_us: int | None
    # each metric's rows, split once: the tables ask for the same few metrics many times
    by_metric: dict[str, pd.DataFrame] = field(default_factory=dict)

    @overload
    def window_start_us(self, win: int) -> float: ...
    @overload
    def window_start_us(self, win: np.ndarray) -> np.ndarray: ...
    def window_start_us(self, win: int | np.ndarray) -> float | np.ndarray:
        """When time-series window ``win`` (an index, or an array of them) starts, in µs
        since the epoch: the scan numbers ``window_s``-wide windows from ``origin_us``.
        Every table's and windowed threshold's time comes from here, so they align."""
        return self.origin_us + win * (self.window_s * 1e6)

    @overload
    def window_t(self, win: int) -> float: ...
    @overload
    def window_t(self, win: np.ndarray) -> np.ndarray: ...
    def window_t(self, win: int | np.ndarray) -> float | np.ndarray:
        """When window ``win`` starts, in seconds since the run's first sample: the time
        series' ``t``. Only for a run with samples (``first_us`` set)."""
        assert self.first_us is not None
        return (self.window_start_us(win) - self.first_us) / 1e6

    def rows_of(self, metric: str) -> pd.DataFrame:
        if not self.by_metric and len(self.pts):
            self.by_metric.update((str(k), v) for k, v in self.pts.groupby("metric", sort=False))
        got = self.by_metric.get(metric)
        return self.pts.iloc[0:0] if got is None else got

    def values_of(self, gids: Iterable[int]) -> np.ndarray:
        """Every value of the groups ``gids``, in memory: for small sets (a window, a
        stretch of the run); whole-run figures use the store's bounded-memory methods."""
        return self.scan.store.read(np.fromiter(gids, dtype=np.int64))

    def percentiles_of(self, gids: Iterable[int], pcts: Sequence[float]) -> dict[float, float]:
        """k6 percentiles of the groups' values, exact, in bounded memory."""
        return self.scan.store.percentiles(np.fromiter(gids, dtype=np.int64), pcts)


def select(rows: pd.DataFrame, selector: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """Groups whose tags contain every (key, value) pair of ``selector``."""
    mask = np.ones(len(rows), dtype=bool)
    for k, v in selector:
        col = f"tag:{k}"
        if col not in rows:
            return rows.iloc[0:0]
        mask &= (rows[col] == v).to_numpy()
    return rows[mask]


def _metric(ctx: Context, name: str) -> pd.DataFrame:
    return ctx.rows_of(name)


def _key(frame: pd.DataFrame, tag: str, default: str = "") -> pd.Series:
    return frame[f"tag:{tag}"].fillna(default).astype(str)


def _latency(ctx: Context, rows: pd.DataFrame, pcts: Sequence[float]) -> dict[str, Any]:
    n = int(rows["n"].sum())
    got = ctx.percentiles_of(rows.index, pcts)
    out = {f"p{p:g}" if p != 50 else "med": got[p] for p in pcts}
    out["avg"] = float(rows["s"].sum()) / n if n else 0.0
    out["min"] = float(rows["mn"].min()) if n else 0.0
    out["max"] = float(rows["mx"].max()) if n else 0.0
    return out


def _by(ctx: Context, metric: str, keys: list[str], value: str) -> pd.Series:
    rows = _metric(ctx, metric)
    if rows.empty:
        return pd.Series(dtype=float)
    frame = pd.DataFrame({k: _key(rows, k) for k in keys})
    frame["_v"] = rows[value].astype(float)
    return frame.groupby(keys, sort=False)["_v"].sum()


def endpoints(ctx: Context) -> pd.DataFrame:
    rows = _metric(ctx, DURATION)
    cols = [
        "name",
        "requests",
        "failures",
        "error_rate",
        "rps",
        "avg",
        "min",
        "med",
        "p90",
        "p95",
        "p99",
        "max",
    ]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    fails = _by(ctx, "http_req_failed", ["name"], "nz")
    out = []
    for name, part in rows.groupby(_key(rows, "name"), sort=True):
        n = int(part["n"].sum())
        f = int(fails.get(name, 0))
        lat = _latency(ctx, part, (50.0, 90.0, 95.0, 99.0))
        out.append(
            {
                "name": name,
                "requests": n,
                "failures": f,
                "error_rate": f / n if n else 0.0,
                "rps": n / ctx.duration_s if ctx.duration_s else 0.0,
                **lat,
            }
        )
    return pd.DataFrame(out, columns=cols)


def latency_samples(ctx: Context) -> pd.DataFrame:
    """Every ``http_req_duration`` value with its ``name`` tag (columns name, value),
    from the values the scan already holds: baselines need the raw samples, and
    reading the results file again for them would double the cost of a big run."""
    rows = _metric(ctx, DURATION)
    if rows.empty:
        return pd.DataFrame({"name": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    names, values = [], []
    for name, part in rows.groupby(_key(rows, "name"), sort=True):
        vals = ctx.values_of(part.index)
        names.append(np.full(len(vals), name, dtype=object))
        values.append(vals)
    return pd.DataFrame({"name": np.concatenate(names), "value": np.concatenate(values)})


def latency_digest(ctx: Context, max_samples: int, seed: int) -> dict[str | None, LatencyDigest]:
    """Per endpoint (sorted by name) and overall (key None): count, exact percentiles
    and a uniform subsample of at most ``max_samples`` values. The subsample's positions
    are drawn first and the values gathered while the store streams them, so memory is
    ``max_samples`` values whatever the number of requests."""
    rows = _metric(ctx, DURATION)
    rng = np.random.default_rng(seed)
    sets: list[tuple[str | None, np.ndarray]] = []
    if not rows.empty:
        names = _key(rows, "name")
        sets = [(str(n), part.index.to_numpy()) for n, part in rows.groupby(names, sort=True)]
    sets.append((None, rows.index.to_numpy()))
    out: dict[str | None, LatencyDigest] = {}
    store = ctx.scan.store
    for name, gids in sets:
        n = store.count(gids)
        got = store.percentiles(gids, (50.0, 95.0, 99.0), n)
        if n <= max_samples:
            kept = store.read(gids)
        else:
            want = np.sort(rng.choice(n, size=max_samples, replace=False))
            parts, start = [], 0
            for chunk in store.chunks(gids):
                lo, hi = np.searchsorted(want, [start, start + len(chunk)])
                parts.append(chunk[want[lo:hi] - start].copy())
                start += len(chunk)
            kept = np.concatenate(parts) if parts else np.zeros(0)
        kept.sort()
        out[name] = LatencyDigest(n, got[50.0], got[95.0], got[99.0], kept)
    return out


def latency_between(ctx: Context, t0: float, t1: float) -> np.ndarray:
    """``http_req_duration`` values of the windows whose start (seconds since the first
    sample, like the time series' ``t``) lies in [t0, t1)."""
    rows = _metric(ctx, DURATION)
    rows = rows[rows["win"].notna()]
    if rows.empty or ctx.first_us is None:
        return np.empty(0)
    t = ctx.window_t(rows["win"].to_numpy(dtype=np.float64))
    return ctx.values_of(rows.index[(t >= t0 - 1e-9) & (t < t1 - 1e-9)])


def statuses(ctx: Context) -> pd.DataFrame:
    s = _by(ctx, "http_reqs", ["method", "status"], "s")
    frame = (
        s.rename("requests").reset_index()
        if len(s)
        else pd.DataFrame(columns=["method", "status", "requests"])
    )
    frame["requests"] = frame["requests"].astype("int64")
    return frame.sort_values(["method", "status"], ignore_index=True)


def _failed(ctx: Context) -> pd.DataFrame:
    rows = _metric(ctx, "http_req_failed")
    return rows[rows["nz"] > 0]


def errors(ctx: Context) -> pd.DataFrame:
    rows = _failed(ctx)
    cols = ["status", "error_code", "error", "requests"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame({k: _key(rows, k) for k in cols[:3]})
    frame["requests"] = rows["nz"].astype("int64")
    out = frame.groupby(cols[:3], sort=False)["requests"].sum().reset_index()
    return out.sort_values("requests", ascending=False, ignore_index=True, kind="stable")


def failing_urls(ctx: Context, top: int) -> pd.DataFrame:
    rows = _failed(ctx)
    cols = ["url", "name", "method", "status", "requests"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame({k: _key(rows, k) for k in cols[:4]})
    frame["requests"] = rows["nz"].astype("int64")
    out = frame.groupby(cols[:4], sort=False)["requests"].sum().reset_index()
    out = out.sort_values(["requests", "url"], ascending=[False, True], ignore_index=True)
    return out.head(top)


def scenarios(ctx: Context) -> pd.DataFrame:
    cols = ["scenario", "requests", "failures", "iterations", "avg", "p95", "p99"]
    rows = _metric(ctx, DURATION)
    reqs = _by(ctx, "http_reqs", ["scenario"], "s")
    fails = _by(ctx, "http_req_failed", ["scenario"], "nz")
    iters = _by(ctx, "iterations", ["scenario"], "s")
    names = sorted(set(reqs.index) | set(iters.index))
    out = []
    for sc in names:
        part = rows[_key(rows, "scenario") == sc] if not rows.empty else rows
        lat = _latency(ctx, part, (95.0, 99.0))
        out.append(
            {
                "scenario": sc,
                "requests": int(reqs.get(sc, 0)),
                "failures": int(fails.get(sc, 0)),
                "iterations": int(iters.get(sc, 0)),
                "avg": lat["avg"],
                "p95": lat["p95"],
                "p99": lat["p99"],
            }
        )
    return pd.DataFrame(out, columns=cols)


def groups(ctx: Context) -> pd.DataFrame:
    cols = ["group", "requests", "failures", "avg", "p95", "group_duration_avg"]
    rows = _metric(ctx, DURATION)
    fails = _by(ctx, "http_req_failed", ["group"], "nz")
    gd = _metric(ctx, "group_duration")
    gd_key = _key(gd, "group") if not gd.empty else pd.Series(dtype=str)
    names = sorted(set(_key(rows, "group")) | set(gd_key)) if not rows.empty or not gd.empty else []
    out = []
    for grp in names:
        part = rows[_key(rows, "group") == grp] if not rows.empty else rows
        lat = _latency(ctx, part, (95.0,))
        gpart = gd[gd_key == grp] if not gd.empty else gd
        gn = int(gpart["n"].sum()) if not gpart.empty else 0
        out.append(
            {
                "group": grp,
                "requests": int(part["n"].sum()) if not part.empty else 0,
                "failures": int(fails.get(grp, 0)),
                "avg": lat["avg"],
                "p95": lat["p95"],
                "group_duration_avg": float(gpart["s"].sum()) / gn if gn else None,
            }
        )
    return pd.DataFrame(out, columns=cols)


def checks(ctx: Context) -> pd.DataFrame:
    cols = ["group", "check", "passes", "fails", "rate"]
    rows = _metric(ctx, "checks")
    if rows.empty:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(
        {
            "group": _key(rows, "group"),
            "check": _key(rows, "check"),
            "passes": rows["nz"].astype("int64"),
            "n": rows["n"].astype("int64"),
        }
    )
    out = frame.groupby(["group", "check"], sort=True)[["passes", "n"]].sum().reset_index()
    out["fails"] = out["n"] - out["passes"]
    out["rate"] = out["passes"] / out["n"]
    return out[cols]


def timeseries(ctx: Context) -> pd.DataFrame:
    """One row per window that has any time-series sample (vectorised over windows:
    a long run has thousands of windows, a per-window pandas loop cost seconds)."""
    cols = [
        "t",
        "time",
        "requests",
        "failures",
        "rps",
        "p50",
        "p95",
        "p99",
        "vus",
        "vus_peak",
        "iterations",
        "data_sent",
        "data_received",
        "dropped_iterations",
    ]
    win_col = ctx.pts["win"].dropna()
    if win_col.empty or ctx.first_us is None:
        return pd.DataFrame(columns=cols)
    wins = np.sort(win_col.astype("int64").unique())
    frame = pd.DataFrame(index=pd.Index(wins, name="win"))

    def windowed(metric: str) -> pd.DataFrame:
        rows = _metric(ctx, metric)
        return rows[rows["win"].notna()]

    def per_win(metric: str, col: str, how: str = "sum") -> pd.Series:
        """Per window (NaN where the metric has no sample), with numpy: pandas' fixed
        cost per groupby was most of the report's time after k6 ended."""
        rows = windowed(metric)
        out = np.full(len(wins), np.nan)
        if len(rows):
            idx = np.searchsorted(wins, rows["win"].to_numpy(dtype=np.int64))
            vals = rows[col].to_numpy(dtype=np.float64)
            seen = np.bincount(idx, minlength=len(wins)) > 0
            if how == "sum":  # these columns hold whole numbers: any order gives the exact sum
                out[seen] = np.bincount(idx, weights=vals, minlength=len(wins))[seen]
            else:
                best = np.full(len(wins), -np.inf)
                np.maximum.at(best, idx, vals)
                out[seen] = best[seen]
        return pd.Series(out, index=wins)

    reqs = per_win("http_reqs", "s").fillna(0).astype("int64")
    frame["t"] = ctx.window_t(wins)
    frame["time"] = [datetime.fromtimestamp(u / 1e6, tz=UTC) for u in ctx.window_start_us(wins)]
    frame["requests"] = reqs.to_numpy()
    frame["failures"] = per_win("http_req_failed", "nz").fillna(0).astype("int64").to_numpy()
    frame["rps"] = reqs.to_numpy() / ctx.window_s
    lat = _window_percentiles(ctx, windowed(DURATION), wins, (50.0, 95.0, 99.0))
    for p in (50.0, 95.0, 99.0):
        frame[f"p{p:g}"] = lat[p]
    vus = windowed("vus")
    if vus.empty:
        frame["vus"] = None
        frame["vus_peak"] = None
    else:
        last = vus.sort_values("last_us", kind="stable").groupby(vus["win"].astype("int64"))
        frame["vus"] = last["last_v"].last().reindex(wins).to_numpy()
        frame["vus_peak"] = per_win("vus", "mx", "max").to_numpy()
    frame["iterations"] = per_win("iterations", "s").fillna(0).astype("int64").to_numpy()
    frame["data_sent"] = per_win("data_sent", "s").fillna(0.0).to_numpy()
    frame["data_received"] = per_win("data_received", "s").fillna(0.0).to_numpy()
    frame["dropped_iterations"] = per_win("dropped_iterations", "s").fillna(0).astype("int64").to_numpy()
    return frame.reset_index(drop=True)[cols]


def endpoint_timeseries(ctx: Context) -> pd.DataFrame:
    """Requests per (window, ``name``), sparse: a window where an endpoint had no request
    has no row. ``t`` is computed as in :func:`timeseries`, so the two align exactly."""
    cols = ["t", "name", "requests"]
    rows = _metric(ctx, DURATION)
    rows = rows[rows["win"].notna()]
    if rows.empty or ctx.first_us is None:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(
        {
            "win": rows["win"].astype("int64"),
            "name": _key(rows, "name"),
            "requests": rows["n"].astype("int64"),
        }
    )
    out = frame.groupby(["win", "name"], sort=True)["requests"].sum().reset_index()
    out["t"] = ctx.window_t(out["win"].to_numpy())
    return out[cols]


def protocol_timeseries(ctx: Context, sums: Sequence[str], trends: Sequence[str]) -> pd.DataFrame:
    """Per window (sparse: only windows where one of the metrics had a sample): ``t``, the
    sum of each of ``sums`` and, for each of ``trends``, its sample count ``<m> n`` and
    ``<m> p50/p95/p99`` (k6's percentiles of the window's values). A gRPC trend also gets
    ``<m> non-ok``: its samples whose status tag is not 0."""
    rows = {m: _metric(ctx, m) for m in (*sums, *trends)}
    rows = {m: r[r["win"].notna()] for m, r in rows.items()}
    present = [r["win"].to_numpy(dtype=np.int64) for r in rows.values() if len(r)]
    if not present or ctx.first_us is None:
        return pd.DataFrame(columns=["t"])
    wins = np.unique(np.concatenate(present))
    frame = pd.DataFrame({"t": ctx.window_t(wins)})

    def per_win(part: pd.DataFrame, col: str) -> np.ndarray:
        out = np.zeros(len(wins))
        if len(part):
            idx = np.searchsorted(wins, part["win"].to_numpy(dtype=np.int64))
            out += np.bincount(idx, weights=part[col].to_numpy(dtype=np.float64), minlength=len(wins))
        return out

    for m in sums:
        frame[m] = per_win(rows[m], "s")
    for m in trends:
        part = rows[m]
        frame[f"{m} n"] = per_win(part, "n")
        if m.startswith("grpc_") and len(part):
            frame[f"{m} non-ok"] = per_win(part[_key(part, "status") != "0"], "n")
        got = _window_percentiles(ctx, part, wins, (50.0, 95.0, 99.0))
        for p in (50.0, 95.0, 99.0):
            frame[f"{m} p{p:g}"] = pd.array(got[p], dtype="Float64").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    return frame


def _window_percentiles(
    ctx: Context, rows: pd.DataFrame, wins: np.ndarray, pcts: Sequence[float]
) -> dict[float, list[float | None]]:
    """k6 percentiles of each window's values (None where a window has none)."""
    out: dict[float, list[float | None]] = {p: [None] * len(wins) for p in pcts}
    if rows.empty:
        return out
    pos = {int(w): i for i, w in enumerate(wins)}
    for win, part in rows.groupby(rows["win"].astype("int64"), sort=False):
        got = percentiles(ctx.values_of(part.index), pcts)
        for p in pcts:
            out[p][pos[int(win)]] = got[p]
    return out


def histogram(ctx: Context, buckets: int, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Log-spaced histogram of ``http_req_duration`` (or of ``rows``' values), streamed
    from the store: the same buckets and counts as ``stats.log_histogram``."""
    rows = _metric(ctx, DURATION) if rows is None else rows
    n = int(rows["n"].sum()) if len(rows) else 0
    if n == 0 or buckets < 1:
        edges, counts = np.array([]), np.array([], dtype=np.int64)
    else:
        gids = rows.index.to_numpy()
        edges = log_edges(ctx.scan.store.min_positive(gids), float(rows["mx"].max()), buckets)
        counts = ctx.scan.store.histogram_counts(gids, edges)
    return pd.DataFrame({"le_ms": edges, "requests": counts.astype("int64")})


def fill(res: RunResults, ctx: Context, *, top_urls: int, histogram_buckets: int) -> None:
    res.endpoints = endpoints(ctx)
    res.statuses = statuses(ctx)
    res.errors = errors(ctx)
    res.failing_urls = failing_urls(ctx, top_urls)
    res.scenarios = scenarios(ctx)
    res.groups = groups(ctx)
    res.checks = checks(ctx)
    res.timeseries = timeseries(ctx)
    res.endpoint_timeseries = endpoint_timeseries(ctx)
    res.histogram = histogram(ctx, histogram_buckets)


__all__ = ["Context", "TAG_COLUMNS", "fill", "latency_between", "latency_digest", "latency_samples", "select"]
