"""A run reduced to what a comparison needs: per endpoint (``name`` tag) and
overall, request and failure counts, exact p50/p95/p99, the (sorted, at most
``max_samples``) raw latencies, and requests per full time window: overall, and
per endpoint as requests/s over at most ``MAX_RATE_BINS`` bins of those windows.

A snapshot is small (a few hundred KB at most), so the history store keeps one
per run: comparisons keep working after a run folder was moved or deleted, as
in CI where only the history store survives between pipeline runs.

Endpoint names are masked by the redactor once, when the snapshot is built (a token in a
URL's query string is the endpoint's name): every snapshot of a run, whether kept in the
history store or built again from its folder, names its endpoints as the reports do, so
two runs of one script compare endpoint by endpoint and the store never holds the secret.
Endpoints whose names mask alike (``?key=A`` and ``?key=B``) are one endpoint then.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from novaload.compare.stats import k6_percentile
from novaload.redact import redact
from novaload.results.model import LatencyDigest, RunResults
from novaload.runfolder import RunRecord

OVERALL = "(all requests)"  # cannot collide with a k6 `name` tag in practice: it is the key
SNAPSHOT_VERSION = 2  # 2: per-endpoint window_rates (absent in 1: throughput not judged)
# Per-endpoint request rates are kept per bin of consecutive full windows, at most this
# many bins per endpoint: a snapshot of a run with hundreds of endpoints stays small, and
# the bootstrap over bins still sees the rate's variation along the run.
MAX_RATE_BINS = 240


@dataclass(frozen=True, slots=True)
class EndpointData:
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    latencies: np.ndarray  # sorted ms; a uniform random subsample when the run was large
    # requests/s per bin of full windows (see MAX_RATE_BINS); empty when unknown
    window_rates: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def from_values(
        cls,
        values: np.ndarray,
        requests: int,
        failures: int,
        max_samples: int,
        rng: np.random.Generator,
        window_rates: np.ndarray | None = None,
    ) -> EndpointData:
        ordered = np.sort(np.asarray(values, dtype=np.float64))
        p50, p95, p99 = (k6_percentile(ordered, q) for q in (0.50, 0.95, 0.99))
        kept = ordered
        if len(ordered) > max_samples:  # a uniform subsample keeps the distribution's shape
            kept = np.sort(rng.choice(ordered, size=max_samples, replace=False))
        rates = np.zeros(0) if window_rates is None else np.asarray(window_rates, dtype=np.float64)
        return cls(
            requests=requests,
            failures=failures,
            p50=p50,
            p95=p95,
            p99=p99,
            latencies=kept,
            window_rates=rates,
        )

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else math.nan

    def quantile(self, stat: str) -> float:
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99}[stat]


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """One side of a comparison."""

    label: str  # run id, or the results file name
    duration_s: float
    endpoints: Mapping[str, EndpointData]  # includes OVERALL
    window_requests: np.ndarray = field(default_factory=lambda: np.zeros(0))
    window_s: float = 1.0
    run_id: str | None = None
    scenario: str | None = None
    environment: str | None = None
    git_branch: str | None = None
    git_commit: str | None = None
    started_at: str | None = None
    # The run's identity (novaload.compare.identity); None where unknown (a results file).
    target_id: str | None = None
    load: str | None = None
    load_key: str | None = None
    runner: str | None = None
    parallelism: int | None = None

    @property
    def overall(self) -> EndpointData | None:
        return self.endpoints.get(OVERALL)

    def rps(self, name: str) -> float:
        ep = self.endpoints.get(name)
        if ep is None or self.duration_s <= 0:
            return math.nan
        return ep.requests / self.duration_s

    # --- serialisation (history store) -------------------------------------------------------

    def to_blob(self) -> bytes:
        doc = {
            "version": SNAPSHOT_VERSION,
            "label": self.label,
            "duration_s": self.duration_s,
            "window_s": self.window_s,
            "window_requests": _pack(self.window_requests),
            "run_id": self.run_id,
            "scenario": self.scenario,
            "environment": self.environment,
            "git_branch": self.git_branch,
            "git_commit": self.git_commit,
            "started_at": self.started_at,
            **{k: getattr(self, k) for k in _IDENTITY},
            "endpoints": {
                k: {
                    "requests": e.requests,
                    "failures": e.failures,
                    "p50": _num(e.p50),
                    "p95": _num(e.p95),
                    "p99": _num(e.p99),
                    "latencies": _pack(e.latencies),
                    "window_rates": _pack(e.window_rates),
                }
                for k, e in self.endpoints.items()
            },
        }
        return zlib.compress(redact(json.dumps(doc)).encode("utf-8"), 6)  # stored in history

    @classmethod
    def from_blob(cls, blob: bytes) -> RunSnapshot:
        doc = json.loads(zlib.decompress(blob))
        endpoints = {
            k: EndpointData(
                requests=int(e["requests"]),
                failures=int(e["failures"]),
                p50=_unnum(e["p50"]),
                p95=_unnum(e["p95"]),
                p99=_unnum(e["p99"]),
                latencies=_unpack(e["latencies"]),
                window_rates=_unpack(e.get("window_rates", "")),
            )
            for k, e in doc["endpoints"].items()
        }
        return cls(
            label=doc["label"],
            duration_s=float(doc["duration_s"]),
            endpoints=endpoints,
            window_requests=_unpack(doc["window_requests"]),
            window_s=float(doc["window_s"]),
            run_id=doc.get("run_id"),
            scenario=doc.get("scenario"),
            environment=doc.get("environment"),
            git_branch=doc.get("git_branch"),
            git_commit=doc.get("git_commit"),
            started_at=doc.get("started_at"),
            **{k: doc.get(k) for k in _IDENTITY},
        )


_IDENTITY = ("target_id", "load", "load_key", "runner", "parallelism")


def _pack(values: np.ndarray) -> str:
    # float32 is ample for the statistics (7 digits of a millisecond figure); the exact
    # quantiles are stored separately as float64.
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64)


def _num(v: float) -> float | None:
    return None if math.isnan(v) else v


def _unnum(v: float | None) -> float:
    return math.nan if v is None else float(v)


def snapshot_from_results(
    results: RunResults,
    samples: pd.DataFrame,
    *,
    label: str,
    record: RunRecord | None = None,
    max_samples: int = 20_000,
    seed: int = 0,
) -> RunSnapshot:
    """Build a snapshot from ingested results and the raw ``http_req_duration`` samples
    (a DataFrame with columns ``name`` and ``value``, as ``load_latency_samples`` returns)."""
    rng = np.random.default_rng(seed)
    failures = _failures_by_name(results)
    rates = _endpoint_rates(results)
    endpoints: dict[str, EndpointData] = {}
    if not samples.empty:
        samples = samples.assign(name=samples["name"].fillna("").astype(str).map(_masked))
        for name, values in samples.groupby("name", sort=True)["value"]:
            arr = values.to_numpy(dtype=np.float64)
            endpoints[str(name)] = EndpointData.from_values(
                arr, len(arr), failures.get(str(name), 0), max_samples, rng, window_rates=rates.get(str(name))
            )
    all_values = samples["value"].to_numpy(dtype=np.float64) if not samples.empty else np.zeros(0)
    total_failures = (
        sum(failures.values()) if failures else int(results.value("http_req_failed", "passes", 0) or 0)
    )
    endpoints[OVERALL] = EndpointData.from_values(
        all_values, len(all_values), total_failures, max_samples, rng
    )
    return _snapshot(results, endpoints, label, record)


def _snapshot(
    results: RunResults,
    endpoints: dict[str, EndpointData],
    label: str,
    record: RunRecord | None,
) -> RunSnapshot:
    return RunSnapshot(
        label=label,
        duration_s=float(results.duration_s),
        endpoints=endpoints,
        window_requests=_full_windows(results),
        window_s=float(results.window_s or 1.0),
        run_id=record.run_id if record else None,
        scenario=(record.scenario or None) if record else None,
        environment=record.environment if record else None,
        git_branch=record.git_branch if record else None,
        git_commit=record.git_commit if record else None,
        started_at=(record.started_at if record else None)
        or (results.started_at.isoformat() if results.started_at else None),
        **({k: getattr(record, k) for k in _IDENTITY} if record else {}),
    )


def snapshot_from_digest(
    results: RunResults,
    digest: Mapping[str | None, LatencyDigest],
    *,
    label: str,
    record: RunRecord | None = None,
) -> RunSnapshot:
    """Build a snapshot from the ingest's latency digest (``RunResults.latency_digest``:
    exact percentiles and a bounded uniform subsample per endpoint, read from the value
    store), so a run of any length is reduced in bounded memory."""
    failures = _failures_by_name(results)
    rates = _endpoint_rates(results)
    endpoints: dict[str, EndpointData] = {}
    masked: dict[str, LatencyDigest] = {}
    for name, d in digest.items():
        if name is not None:
            key = _masked(name)
            masked[key] = _merged(masked[key], d) if key in masked else d
    for name, d in masked.items():
        endpoints[name] = _from_digest(d, failures.get(name, 0), rates.get(name))
    total_failures = (
        sum(failures.values()) if failures else int(results.value("http_req_failed", "passes", 0) or 0)
    )
    overall = digest.get(None)
    if overall is not None:
        endpoints[OVERALL] = _from_digest(overall, total_failures, None)
    return _snapshot(results, endpoints, label, record)


def _from_digest(d: LatencyDigest, failures: int, window_rates: np.ndarray | None) -> EndpointData:
    nan = math.nan
    return EndpointData(
        requests=d.requests,
        failures=failures,
        p50=d.p50 if d.requests else nan,
        p95=d.p95 if d.requests else nan,
        p99=d.p99 if d.requests else nan,
        latencies=d.latencies,
        window_rates=np.zeros(0) if window_rates is None else np.asarray(window_rates, dtype=np.float64),
    )


def _masked(name: str) -> str:
    """An endpoint's name as every report and snapshot shows it (see the module docstring)."""
    return redact(name)


def _merged(a: LatencyDigest, b: LatencyDigest) -> LatencyDigest:
    """Two endpoints whose names mask alike, as one (percentiles from their latencies)."""
    latencies = np.sort(np.concatenate([a.latencies, b.latencies]))
    p50, p95, p99 = (k6_percentile(latencies, q) for q in (0.50, 0.95, 0.99))
    return LatencyDigest(a.requests + b.requests, p50, p95, p99, latencies)


def _failures_by_name(results: RunResults) -> dict[str, int]:
    df = results.endpoints
    if df is None or df.empty or "name" not in df.columns or "failures" not in df.columns:
        return {}
    out: dict[str, int] = {}
    for n, f in zip(df["name"], df["failures"].fillna(0), strict=True):
        key = _masked(str(n))
        out[key] = out.get(key, 0) + int(f)
    return out


def _endpoint_rates(results: RunResults) -> dict[str, np.ndarray]:
    """Per endpoint, requests/s in bins of consecutive full windows (the windows of
    :func:`_full_windows`, an endpoint's idle window counting as 0)."""
    ts, per = results.timeseries, results.endpoint_timeseries
    if ts is None or per is None or ts.empty or per.empty or len(ts) < 3 or "t" not in ts.columns:
        return {}
    full_us = _micros(ts["t"])[1:-1]  # sorted: the time series is in window order
    size = max(1, math.ceil(len(full_us) / MAX_RATE_BINS))
    bins = len(full_us) // size
    if bins == 0:
        return {}
    t_us = _micros(per["t"])
    pos = np.searchsorted(full_us, t_us)
    hit = (pos < len(full_us)) & (full_us[np.minimum(pos, len(full_us) - 1)] == t_us)
    keep = hit & (pos < bins * size)  # the last, incomplete bin is dropped
    frame = pd.DataFrame(
        {
            "name": per["name"].astype(str).to_numpy()[keep],
            "bin": pos[keep] // size,
            "requests": per["requests"].to_numpy(dtype=np.float64)[keep],
        }
    )
    bin_s = size * float(results.window_s or 1.0)
    out: dict[str, np.ndarray] = {}
    for name, part in frame.groupby("name", sort=False):
        counts = np.bincount(part["bin"].to_numpy(), weights=part["requests"].to_numpy(), minlength=bins)
        key = _masked(str(name))
        out[key] = out[key] + counts / bin_s if key in out else counts / bin_s
    return out


def _micros(t: pd.Series) -> np.ndarray:
    # window starts in whole microseconds: the same window computed twice compares equal
    return np.round(t.to_numpy(dtype=np.float64) * 1e6).astype(np.int64)


def _full_windows(results: RunResults) -> np.ndarray:
    """Requests per time window without the first and last (partial) windows."""
    ts = results.timeseries
    if ts is None or ts.empty or "requests" not in ts.columns or len(ts) < 3:
        return np.zeros(0)
    return ts["requests"].fillna(0).to_numpy(dtype=np.float64)[1:-1]


__all__ = ["EndpointData", "OVERALL", "RunSnapshot", "snapshot_from_results"]
