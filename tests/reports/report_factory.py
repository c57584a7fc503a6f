"""RunResults built from synthetic per-request data, for the reporter tests.

The DataFrames are *derived* here from a table of requests (numpy percentiles
with linear interpolation, which is k6's definition), so every figure a test
asserts on can be recomputed from the same requests. Real k6 runs go through
``novaload.results.ingest`` in the integration tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from novaload.reports import ReportContext
from novaload.results.model import MetricSummary, RunResults, ThresholdResult

T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, float("inf"))

XSS_SCRIPT = "<script>document.title='PWNED'</script>"
XSS_IMG = "\"><img src=x onerror=\"document.title='PWNED'\">"


@dataclass
class Synth:
    """Knobs of a synthetic run; ``requests()`` turns them into one row per request."""

    seconds: int = 60
    rps: int = 20
    endpoints: tuple[str, ...] = ("home", "search", "login")
    fail_endpoint: str | None = "login"
    fail_share: float = 0.3  # of the failing endpoint's requests (of all, when fail_endpoint is None)
    base_ms: float = 20.0
    rising: float = 1.0  # latency multiplier reached at the end of the run
    seed: int = 7
    urls_per_endpoint: int = 1
    groups: tuple[str, ...] = ("",)
    vus: int = 10
    extra: dict = field(default_factory=dict)

    def requests(self) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed)
        n = self.seconds * self.rps
        t = np.sort(rng.uniform(0, self.seconds, n))
        ep_idx = rng.integers(0, len(self.endpoints), n)
        names = np.array(self.endpoints, dtype=object)[ep_idx]
        url_idx = rng.integers(0, self.urls_per_endpoint, n)
        urls = np.array([f"http://127.0.0.1:8080/{nm}/{u}" for nm, u in zip(names, url_idx, strict=True)], dtype=object)
        drift = 1 + (self.rising - 1) * t / self.seconds
        dur = self.base_ms * drift * rng.lognormal(0, 0.5, n)
        on_endpoint = names == self.fail_endpoint if self.fail_endpoint else np.ones(n, dtype=bool)
        failed = on_endpoint & (rng.uniform(0, 1, n) < self.fail_share)
        status = np.where(failed, "500", "200")
        groups = np.array(self.groups, dtype=object)[rng.integers(0, len(self.groups), n)]
        return pd.DataFrame({
            "t": t, "name": names, "url": urls, "method": "GET", "status": status, "duration": dur,
            "failed": failed, "group": groups,
            "error": np.where(failed, "Internal Server Error", ""), "error_code": np.where(failed, "1500", ""),
        })


def _pct(values: np.ndarray, p: float) -> float:
    return float(np.percentile(values, p, method="linear")) if len(values) else float("nan")


def _trend(values: np.ndarray) -> dict[str, float]:
    return {"avg": float(values.mean()), "min": float(values.min()), "med": _pct(values, 50),
            "max": float(values.max()), "p(90)": _pct(values, 90), "p(95)": _pct(values, 95),
            "p(99)": _pct(values, 99)}


def _by(df: pd.DataFrame, keys: list[str], duration_s: float) -> pd.DataFrame:
    g = df.groupby(keys, sort=True)
    out = g.agg(requests=("duration", "size"), failures=("failed", "sum"), avg=("duration", "mean"),
                min=("duration", "min"), max=("duration", "max"))
    for name, p in (("med", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        out[name] = g["duration"].agg(lambda v, p=p: _pct(v.to_numpy(), p))
    out["error_rate"] = out["failures"] / out["requests"]
    out["rps"] = out["requests"] / duration_s
    return out.reset_index()


def build_results(
    synth: Synth,
    *,
    thresholds: list[ThresholdResult] | None = None,
    checks: pd.DataFrame | None = None,
    duration_source: str = "k6-summary",
    window_s: float = 1.0,
) -> RunResults:
    req = synth.requests()
    duration_s = float(synth.seconds)
    dur = req["duration"].to_numpy()
    n, n_failed = len(req), int(req["failed"].sum())
    metrics = {
        "http_reqs": MetricSummary("http_reqs", "counter", "default", {"count": n, "rate": n / duration_s}),
        "http_req_duration": MetricSummary("http_req_duration", "trend", "time", _trend(dur)),
        "http_req_failed": MetricSummary("http_req_failed", "rate", "default",
                                         {"value": n_failed / n, "passes": n_failed, "fails": n - n_failed}),
        "iterations": MetricSummary("iterations", "counter", "default", {"count": n, "rate": n / duration_s}),
        "vus_max": MetricSummary("vus_max", "gauge", "default", {"value": synth.vus, "min": synth.vus, "max": synth.vus}),
        "data_sent": MetricSummary("data_sent", "counter", "data", {"count": n * 120.0, "rate": n * 120.0 / duration_s}),
        "data_received": MetricSummary("data_received", "counter", "data",
                                       {"count": n * 5000.0, "rate": n * 5000.0 / duration_s}),
    }
    endpoints = _by(req, ["name"], duration_s)[
        ["name", "requests", "failures", "error_rate", "rps", "avg", "min", "med", "p90", "p95", "p99", "max"]]
    statuses = req.groupby(["method", "status"]).size().rename("requests").reset_index()
    fails = req[req["failed"]]
    errors = fails.groupby(["status", "error_code", "error"]).size().rename("requests").reset_index()
    failing_urls = (fails.groupby(["url", "name", "method", "status"]).size().rename("requests").reset_index()
                    .sort_values("requests", ascending=False, kind="stable").reset_index(drop=True))
    grp = _by(req, ["group"], duration_s)
    groups = grp.assign(group_duration_avg=grp["avg"] * 1.1)[["group", "requests", "failures", "avg", "p95",
                                                               "group_duration_avg"]]
    sc = _by(req.assign(scenario="default"), ["scenario"], duration_s)
    scenarios = sc.assign(iterations=sc["requests"])[["scenario", "requests", "failures", "iterations", "avg", "p95", "p99"]]
    if checks is None:
        checks = pd.DataFrame({"group": ["", ""], "check": ["status is 200", "body ok"],
                               "passes": [n - n_failed, n], "fails": [n_failed, 0]})
        checks["rate"] = checks["passes"] / (checks["passes"] + checks["fails"])
    req["w"] = (req["t"] // window_s).astype(int)
    tg = req.groupby("w")
    ts = pd.DataFrame({"requests": tg.size(), "failures": tg["failed"].sum()})
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
        ts[name] = tg["duration"].agg(lambda v, p=p: _pct(v.to_numpy(), p))
    ts = ts.reindex(range(int(np.ceil(synth.seconds / window_s))))  # empty windows stay NaN
    ts["requests"] = ts["requests"].fillna(0).astype(int)
    ts["failures"] = ts["failures"].fillna(0).astype(int)
    ts.insert(0, "t", ts.index * window_s)
    ts.insert(1, "time", [T0 + timedelta(seconds=float(x)) for x in ts["t"]])
    ts["rps"] = ts["requests"] / window_s
    ts["vus"] = synth.vus
    ts["iterations"] = ts["requests"]
    ts["data_sent"] = ts["requests"] * 120
    ts["data_received"] = ts["requests"] * 5000
    ts = ts.reset_index(drop=True)
    edges = np.array(BUCKETS_MS)
    idx = np.searchsorted(edges, dur, side="left")
    histogram = pd.DataFrame({"le_ms": edges, "requests": np.bincount(idx, minlength=len(edges))[: len(edges)]})
    names = req["name"].to_numpy(dtype=object)
    ep_hist = pd.concat([pd.DataFrame({"name": nm, "le_ms": edges,
                                       "requests": np.bincount(idx[names == nm], minlength=len(edges))[: len(edges)]})
                         for nm in sorted(set(names))], ignore_index=True)
    lat = req.groupby(["w", "name"])["duration"]
    ep_lat = pd.DataFrame({"requests": lat.size(), **{f"p{p}": lat.agg(lambda v, p=p: _pct(v.to_numpy(), p))
                                                     for p in (50, 95, 99)}}).reset_index()
    ep_lat = ep_lat.assign(t=ep_lat["w"] * window_s)[["t", "name", "requests", "p50", "p95", "p99"]]
    return RunResults(
        metrics=metrics, thresholds=list(thresholds or []), duration_s=duration_s,
        duration_source=duration_source,  # type: ignore[arg-type]
        started_at=T0, ended_at=T0 + timedelta(seconds=duration_s), sources=[Path("results.json")],
        lines=n * 12, points=n * 11, input_bytes=n * 3000, endpoints=endpoints, statuses=statuses,
        errors=errors, failing_urls=failing_urls, scenarios=scenarios, groups=groups, checks=checks,
        timeseries=ts, window_s=window_s, histogram=histogram, endpoint_histograms=ep_hist,
        endpoint_latency=ep_lat)


def threshold(metric: str, expression: str, observed: float | None, ok: bool | None) -> ThresholdResult:
    for op in ("<=", "<", ">=", ">", "===", "==", "!="):
        if op in expression:
            agg, limit = expression.split(op, 1)
            return ThresholdResult(metric, expression, agg.strip(), op, float(limit), observed, ok)
    raise ValueError(expression)


def context(**kw: object) -> ReportContext:
    base = dict(run_id="20261121-100000-abc123", scenario="checkout", verdict="passed", environment="local",
                profile="smoke", k6_version="v1.1.0", git_commit="0123456789abcdef", exit_code=0,
                target_url="http://127.0.0.1:8080", started_at=T0, ended_at=T0 + timedelta(seconds=60))
    base.update(kw)
    return ReportContext(**base)  # type: ignore[arg-type]


