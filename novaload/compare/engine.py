"""Compare two :class:`RunSnapshot` s metric by metric and decide regressions.

Per endpoint and overall: p50/p95/p99 latency (bootstrap CI of the relative
change, plus a Mann–Whitney p-value for information), error rate (Newcombe
interval of the difference, in percentage points) and requests per second
(bootstrap CI of the mean over full time windows; per endpoint over the bins of
those windows that the snapshot keeps).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from novaload.compare.comparison import Comparison, EndpointComparison, MetricChange, Status, side_info
from novaload.compare.config import CompareConfig
from novaload.compare.identity import RunIdentity
from novaload.compare.snapshot import OVERALL, EndpointData, RunSnapshot
from novaload.compare.stats import Interval, mann_whitney_p, mean_change, proportion_change, quantile_change

LATENCY_STATS = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def compare_snapshots(
    baseline: RunSnapshot,
    current: RunSnapshot,
    config: CompareConfig | None = None,
    *,
    trend: Sequence[object] = (),
) -> Comparison:
    """The full comparison; ``trend`` (history entries, oldest first) only feeds the chart."""
    config = config or CompareConfig()
    names = [OVERALL] + sorted((set(baseline.endpoints) | set(current.endpoints)) - {OVERALL})
    tests = sum(_tests(n, baseline, current, config) for n in names)
    # Bonferroni: with many endpoints x metrics, 95 % per test would flag noise somewhere
    # in most comparisons; the family of all tests keeps the configured confidence.
    per_test = 1.0 - (1.0 - config.confidence) / max(tests, 1)
    endpoints = [_endpoint(name, baseline, current, config, per_test) for name in names]
    differences = (
        RunIdentity.of(current).differences(RunIdentity.of(baseline))
        if current.runner is not None and baseline.run_id is not None
        else []
    )
    return Comparison(
        baseline=side_info(baseline),
        current=side_info(current),
        config=config,
        endpoints=endpoints,
        trend=list(trend),
        tests=tests,
        confidence_per_test=per_test,
        differences=differences,
    )


def _tests(name: str, base: RunSnapshot, cur: RunSnapshot, config: CompareConfig) -> int:
    """How many metrics of this endpoint get a statistical test."""
    old, new = base.endpoints.get(name), cur.endpoints.get(name)
    if old is None or new is None:
        return 0
    n = 3 if min(len(old.latencies), len(new.latencies)) >= config.min_samples else 0
    n += 1 if min(old.requests, new.requests) >= config.min_samples else 0
    n += 1 if _rates_ok(name, base, cur, config) else 0
    return n


def _windows_ok(base: RunSnapshot, cur: RunSnapshot, config: CompareConfig) -> bool:
    return (
        min(len(base.window_requests), len(cur.window_requests)) >= config.min_windows
        and base.window_s == cur.window_s
    )


def _rates_ok(name: str, base: RunSnapshot, cur: RunSnapshot, config: CompareConfig) -> bool:
    """Whether requests/s of this endpoint (or overall) gets a statistical test."""
    if name == OVERALL:
        return _windows_ok(base, cur, config)
    old, new = base.endpoints[name], cur.endpoints[name]
    return (
        min(len(old.window_rates), len(new.window_rates)) >= config.min_windows
        and min(old.requests, new.requests) >= config.min_samples
        and old.window_rates.mean() > 0
    )


def _rng(config: CompareConfig, name: str, metric: str) -> np.random.Generator:
    # Seeded per (endpoint, metric): a result does not depend on which other endpoints exist.
    return np.random.default_rng([config.seed, zlib.crc32(name.encode()), zlib.crc32(metric.encode())])


def _endpoint(
    name: str, base: RunSnapshot, cur: RunSnapshot, config: CompareConfig, confidence: float
) -> EndpointComparison:
    old, new = base.endpoints.get(name), cur.endpoints.get(name)
    if old is None or new is None:
        return EndpointComparison(
            name=name,
            old_requests=old.requests if old else 0,
            new_requests=new.requests if new else 0,
            metrics=[],
            presence="new" if old is None else "missing",
        )
    metrics = [_latency(name, stat, q, old, new, config, confidence) for stat, q in LATENCY_STATS]
    metrics.append(_error_rate(old, new, config, confidence))
    metrics.append(_throughput(name, base, cur, config, confidence))
    return EndpointComparison(
        name=name, old_requests=old.requests, new_requests=new.requests, metrics=metrics
    )


def _latency(
    name: str,
    stat: str,
    q: float,
    old: EndpointData,
    new: EndpointData,
    config: CompareConfig,
    confidence: float,
) -> MetricChange:
    o, n = old.quantile(stat), new.quantile(stat)
    min_effect = config.min_latency_pct(stat) / 100
    if min(len(old.latencies), len(new.latencies)) < config.min_samples:
        return MetricChange(stat, o, n, _rel(o, n), None, Status.INSUFFICIENT, min_effect)
    ci = quantile_change(
        old.latencies,
        new.latencies,
        q,
        confidence=confidence,
        resamples=config.resamples,
        rng=_rng(config, name, stat),
    )
    # the estimate shown is the exact quantiles' change, the interval the bootstrap's
    ci = Interval(_rel(o, n), ci.low, ci.high)
    p = mann_whitney_p(*_capped(old.latencies, new.latencies, config)) if stat == "p50" else None
    return MetricChange(
        stat, o, n, ci.estimate, ci, _judge(ci, min_effect, higher_is_worse=True), min_effect, p_value=p
    )


def _capped(a: np.ndarray, b: np.ndarray, config: CompareConfig) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(config.seed)
    cap = config.max_samples

    def cut(x: np.ndarray) -> np.ndarray:
        return x if len(x) <= cap else rng.choice(x, size=cap, replace=False)

    return cut(a), cut(b)


def _error_rate(
    old: EndpointData, new: EndpointData, config: CompareConfig, confidence: float
) -> MetricChange:
    o, n = old.error_rate, new.error_rate
    min_effect = config.error_rate_pp / 100
    if min(old.requests, new.requests) < config.min_samples:
        return MetricChange("error_rate", o, n, n - o, None, Status.INSUFFICIENT, min_effect)
    ci = proportion_change(old.failures, old.requests, new.failures, new.requests, confidence=confidence)
    return MetricChange(
        "error_rate", o, n, ci.estimate, ci, _judge(ci, min_effect, higher_is_worse=True), min_effect
    )


def _throughput(
    name: str, base: RunSnapshot, cur: RunSnapshot, config: CompareConfig, confidence: float
) -> MetricChange:
    o, n = base.rps(name), cur.rps(name)
    min_effect = config.throughput_pct / 100
    old, new = base.endpoints[name], cur.endpoints[name]
    if name != OVERALL and not (len(old.window_rates) and len(new.window_rates)):
        # a snapshot from before per-endpoint rates were kept (history format 1)
        return MetricChange("rps", o, n, _rel(o, n), None, Status.NOT_JUDGED, min_effect)
    if not _rates_ok(name, base, cur, config):
        return MetricChange("rps", o, n, _rel(o, n), None, Status.INSUFFICIENT, min_effect)
    a, b = (
        (base.window_requests, cur.window_requests)
        if name == OVERALL
        else (old.window_rates, new.window_rates)
    )
    ci = mean_change(a, b, confidence=confidence, resamples=config.resamples, rng=_rng(config, name, "rps"))
    ci = Interval(_rel(o, n), ci.low, ci.high)
    return MetricChange(
        "rps", o, n, ci.estimate, ci, _judge(ci, min_effect, higher_is_worse=False), min_effect
    )


def _rel(old: float, new: float) -> float:
    if math.isnan(old) or math.isnan(new) or old <= 0:
        return math.nan
    return new / old - 1.0


def _judge(ci: Interval, min_effect: float, *, higher_is_worse: bool) -> Status:
    """Regressed only when the change is both large enough and statistically significant."""
    worse = ci.estimate if higher_is_worse else -ci.estimate
    significant_worse = ci.low > 0 if higher_is_worse else ci.high < 0
    significant_better = ci.high < 0 if higher_is_worse else ci.low > 0
    if not math.isnan(worse) and worse > min_effect and significant_worse:
        return Status.REGRESSED
    if not math.isnan(worse) and -worse > min_effect and significant_better:
        return Status.IMPROVED
    return Status.UNCHANGED


__all__ = ["LATENCY_STATS", "compare_snapshots"]
