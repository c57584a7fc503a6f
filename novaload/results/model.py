"""The typed result of ingesting one k6 run: what every reporter, analysis and
comparison reads. Produced only by :func:`novaload.results.ingest.ingest`.

Naming follows k6: a *metric* has a *type* (counter, gauge, rate, trend) and
*values* keyed exactly as in k6's ``--summary-export`` (``avg``, ``p(95)``,
``count``, ``rate``, ``passes``, ``fails``, a Rate's ``value`` ...). A
*submetric* is named like k6 names it: ``http_req_duration{name:index}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from novaload.results.protocols import Protocols
from novaload.thresholds import MetricSelector, parse_selector

if TYPE_CHECKING:
    from novaload.results.completeness import Arrived
    from novaload.results.distribution import Apdex
    from novaload.results.generator import GeneratorHealth


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    RATE = "rate"
    TREND = "trend"


@dataclass(frozen=True, slots=True)
class WindowValue:
    """A windowed threshold's expression judged on one window of the run.

    ``t0``/``t1`` are seconds since the run's first sample (like the time series' ``t``);
    ``observed`` is the aggregation over the window's samples (None: no samples)."""

    t0: float
    t1: float
    observed: float | None
    ok: bool | None


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """One threshold expression judged against the whole run.

    ``ok`` is k6's verdict. When the (sub)metric received no samples, k6 still judges:
    a Counter, Gauge or Trend on its zero values, a Rate not at all (it passes; k6 issue
    #4283). ``no_data`` flags those, so reports can say "no data" instead of a silent
    pass; ``ok`` is ``None`` only when not even the metric's type is known.
    """

    metric: str  # as written: "http_req_duration{name:index}"
    expression: str  # as written: "p(95)<500"
    aggregation: str  # "p(95)", "avg", "rate", "count", "value", ...
    operator: str  # one of <= < >= > === == !=
    limit: float
    observed: float | None
    ok: bool | None
    abort_on_fail: bool = False
    source: Literal["script", "file", "config"] = "script"
    # A windowed threshold (``for 30s`` / ``within 1m``): its window as text, every window
    # judged, and the breached stretches (t0, t1) merged; ``observed`` is the worst window.
    window: str | None = None
    windows: tuple[WindowValue, ...] = ()
    breaches: tuple[tuple[float, float], ...] = ()
    no_data: bool = False  # the (sub)metric received no samples

    @property
    def status(self) -> Literal["passed", "failed", "no data"]:
        if self.ok is False:
            return "failed"
        return "no data" if (self.no_data or self.ok is None) else "passed"

    @property
    def selector(self) -> MetricSelector:
        """The (sub)metric judged, parsed (a malformed name stands for itself)."""
        try:
            return parse_selector(self.metric)
        except ValueError:
            return MetricSelector(self.metric, (), self.metric)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """End-of-test figures of one metric or submetric, equal to k6's own."""

    name: str  # "http_req_duration" or "http_req_duration{name:index}"
    type: str  # a MetricType value, or an unknown type carried as written
    contains: str  # "time", "data" or "default"
    values: dict[str, float]  # keys as in k6 --summary-export
    thresholds: tuple[ThresholdResult, ...] = ()
    parent: str | None = None  # "http_req_duration" for a submetric
    selector: tuple[tuple[str, str], ...] = ()  # (("name", "index"),) for a submetric

    @property
    def is_submetric(self) -> bool:
        return self.parent is not None


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One traced request kept as an example of its endpoint: one of its slowest, or one
    of its first failed ones (``results.exemplars`` chooses them)."""

    endpoint: str  # the endpoint's name as the report shows it
    trace_id: str  # the request's trace id (its samples' ``trace_id`` metadata)
    duration_ms: float  # http_req_duration
    status: str  # k6's status tag ("0": no response)
    time: datetime  # the sample's time, when k6 saw the response end (UTC)
    kind: Literal["slowest", "failed"]


@dataclass(frozen=True, slots=True)
class LatencyDigest:
    """A set of latencies reduced for comparisons: exact figures, bounded sample."""

    requests: int
    p50: float
    p95: float
    p99: float
    latencies: np.ndarray  # sorted; all of them, or a uniform random subsample


@dataclass(slots=True)
class RunResults:
    """Everything ingested from one run (one or several k6 result files).

    DataFrames (pandas) hold the breakdowns; their columns are documented on
    each field and are the columns of the matching CSV files.
    """

    metrics: dict[str, MetricSummary]
    thresholds: list[ThresholdResult]
    # Test-run duration in seconds, as k6 defines it (setup start to teardown end),
    # when a k6 summary provided it; otherwise the first-to-last sample span.
    duration_s: float
    duration_source: Literal["k6-summary", "sample-span"]
    started_at: datetime | None  # first sample time (UTC)
    ended_at: datetime | None  # last sample time (UTC)
    sources: list[Path]
    lines: int  # lines read over all sources
    points: int  # Point samples read
    input_bytes: int  # uncompressed bytes read
    warnings: list[str] = field(default_factory=list)
    skipped_lines: int = 0  # invalid lines skipped with --lenient

    # name, requests, failures, error_rate, rps, avg, min, med, p90, p95, p99, max
    # (latencies in ms, from http_req_duration, grouped by the `name` tag), then
    # apdex_t_ms, apdex, apdex_satisfied, apdex_tolerating, apdex_frustrated
    endpoints: pd.DataFrame = field(default_factory=pd.DataFrame)
    # method, status, requests
    statuses: pd.DataFrame = field(default_factory=pd.DataFrame)
    # status, error_code, error, requests   (failed requests only)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    # url, name, method, status, requests   (top failing URLs, most first)
    failing_urls: pd.DataFrame = field(default_factory=pd.DataFrame)
    # scenario, requests, failures, iterations, avg, p95, p99   ("" = setup/teardown)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)
    # group, requests, failures, avg, p95, group_duration_avg
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    # group, check, passes, fails, rate
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    # t (seconds since first sample, window start), time (UTC), requests, failures,
    # rps, p50, p95, p99 (ms), vus, vus_peak, iterations, data_sent, data_received,
    # dropped_iterations
    timeseries: pd.DataFrame = field(default_factory=pd.DataFrame)
    window_s: float = 1.0
    # t (as in timeseries), name, requests: requests of each endpoint per window (only
    # the windows where it had any), for per-endpoint throughput in comparisons
    endpoint_timeseries: pd.DataFrame = field(default_factory=pd.DataFrame)
    # le_ms (bucket upper bound), requests   (http_req_duration histogram)
    histogram: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Builds the raw http_req_duration samples (name, value) on demand from what the
    # ingest already read; None when the results did not come from an ingest.
    latency_source: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    # http_req_duration values of the windows starting in [t0, t1) seconds (the
    # timeseries' ``t``), for exact percentiles over a stretch of the run.
    latency_window_source: Callable[[float, float], np.ndarray] | None = field(default=None, repr=False)
    # (max_samples, seed) -> per endpoint and overall: exact percentiles and a uniform
    # subsample, read from the value store in bounded memory (see ``latency_digest``)
    latency_digest_source: Callable[[int, int], dict[str | None, LatencyDigest]] | None = field(
        default=None, repr=False
    )
    # Load-generator health (k6's CPU/memory, dropped iterations, VU ceilings), when judged.
    load_generator: GeneratorHealth | None = None
    # Apdex over every request (each endpoint against its own T; per endpoint: the
    # apdex* columns of ``endpoints``), and the T of endpoints without their own.
    apdex: Apdex | None = None
    apdex_default_t_ms: float | None = None
    # name, le_ms, requests: each endpoint's http_req_duration histogram (the buckets of
    # ``histogram``)
    endpoint_histograms: pd.DataFrame = field(default_factory=pd.DataFrame)
    # t, name, requests, p50, p95, p99: each endpoint's percentiles per window (sparse)
    endpoint_latency: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The stats k6 exports for each Trend (its summaryTrendStats), as written: summary.json's
    # trends carry exactly these keys.
    trend_stats: tuple[str, ...] = ("avg", "min", "med", "max", "p(90)", "p(95)")
    # `--no-data fail`: a threshold whose (sub)metric got no samples fails the run.
    no_data_fails: bool = False
    # Submetrics k6's JSON output lists (k6 makes one only for a threshold) whose
    # thresholds it did not write, and that nothing else (a k6 summary, --thresholds)
    # judged: k6's verdict on them is unknown (ExitCode.THRESHOLDS_INCOMPLETE for report).
    thresholds_incomplete: list[str] = field(default_factory=list)
    # distinct endpoint names when there were more than --max-endpoints (results.endpoint_cap)
    endpoints_capped_from: int | None = None
    # The metrics k6's own summary exported (None without a k6 summary): summary.json
    # lists exactly these, like k6.
    k6_metric_names: frozenset[str] | None = None
    # Traced requests (samples with trace_id metadata): the slowest of each endpoint, then
    # the first failed ones, slowest first (``results.exemplars``); empty for an untraced run.
    exemplars: list[Exemplar] = field(default_factory=list)
    # What each results file held (lines, bytes, a cut last line, samples per metric), for
    # ``results.completeness`` to hold against k6's own counts.
    arrived: dict[Path, Arrived] = field(default_factory=dict)
    # One line for each k6 instance whose results did not all arrive (set by the run
    # pipeline, which knows the instances): such a run is never "passed".
    incomplete: list[str] = field(default_factory=list)
    # gRPC, WebSocket, browser and custom metrics broken down by their tags
    # (``results.protocols``); which protocols the run used, the one to lead with.
    protocols: Protocols = field(default_factory=Protocols)

    def latency_samples(self) -> pd.DataFrame | None:
        """Raw ``http_req_duration`` values with their ``name`` tag, or None."""
        return None if self.latency_source is None else self.latency_source()

    def latency_digest(self, max_samples: int, seed: int = 0) -> dict[str | None, LatencyDigest] | None:
        """``http_req_duration`` per endpoint (``name`` tag; key None = every request):
        count, k6's exact p50/p95/p99 and at most ``max_samples`` values drawn uniformly
        without replacement (sorted), in bounded memory whatever the run's length; None
        when the results did not come from an ingest."""
        src = self.latency_digest_source
        return None if src is None else src(max_samples, seed)

    def latency_between(self, t0: float, t1: float) -> np.ndarray | None:
        """Raw ``http_req_duration`` values of the windows starting in [t0, t1), or None."""
        src = self.latency_window_source
        return None if src is None else src(t0, t1)

    @property
    def thresholds_failed(self) -> bool:
        """k6's verdict; with ``no_data_fails`` a threshold without samples fails too."""
        return any(t.ok is False for t in self.thresholds) or (
            self.no_data_fails and bool(self.thresholds_no_data)
        )

    @property
    def thresholds_no_data(self) -> list[ThresholdResult]:
        return [t for t in self.thresholds if t.no_data or t.ok is None]

    def metric(self, name: str) -> MetricSummary | None:
        return self.metrics.get(name)

    def value(self, metric: str, key: str, default: float | None = None) -> float | None:
        m = self.metrics.get(metric)
        return default if m is None else m.values.get(key, default)


__all__ = [
    "Exemplar",
    "LatencyDigest",
    "MetricSummary",
    "MetricType",
    "RunResults",
    "ThresholdResult",
    "WindowValue",
]
