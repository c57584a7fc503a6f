"""Recommendations derived from a run's data: each rule looks at one pattern
(errors concentrated on one endpoint, latency drifting up, a long tail, a
threshold nobody fed...) and says what it saw, with the numbers, in plain text.
Reporters escape the text; rules never produce markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from novaload.reports.figures import fmt_ms, fmt_pct, rate_value
from novaload.results.model import RunResults

CONCENTRATION = 0.5  # share of all failures on one endpoint that counts as "concentrated"
DRIFT_RATIO = 1.5  # last-third p95 / first-third p95 that counts as "rising"
DRIFT_MIN_WINDOWS = 9  # fewer windows than this cannot be split into meaningful thirds
TAIL_RATIO = 5.0  # p99 / p50 that counts as a long tail
TAIL_MIN_P99_MS = 50.0  # below this a long tail rarely matters to a user
FAILURE_RATE_NOTICE = 0.01


@dataclass(frozen=True, slots=True)
class Recommendation:
    severity: Literal["critical", "warning", "info"]
    title: str
    detail: str


Rule = Callable[[RunResults], "Recommendation | None"]


def _col_sum(df: pd.DataFrame, col: str) -> float:
    return float(df[col].sum()) if col in df.columns and len(df) else 0.0


def failures_concentrated(r: RunResults) -> Recommendation | None:
    ep = r.endpoints
    total = _col_sum(ep, "failures")
    if total <= 0 or len(ep) < 2:
        return None
    top = ep.loc[ep["failures"].idxmax()]
    share = float(top["failures"]) / total
    if share <= CONCENTRATION:
        return None
    return Recommendation(
        "critical", f"Failures concentrate on endpoint {top['name']}",
        f"{int(top['failures']):,} of {int(total):,} failed requests ({share:.0%}) came from "
        f"'{top['name']}' (its error rate: {fmt_pct(float(top.get('error_rate', math.nan)))}). "
        "Investigate that endpoint first; the others are comparatively healthy.")


def _thirds_p95(ts: pd.DataFrame) -> tuple[float, float] | None:
    if "p95" not in ts.columns:
        return None
    p95 = ts["p95"].dropna()
    if len(p95) < DRIFT_MIN_WINDOWS:
        return None
    third = len(p95) // 3
    return float(p95.iloc[:third].median()), float(p95.iloc[-third:].median())


def latency_rising(r: RunResults) -> Recommendation | None:
    thirds = _thirds_p95(r.timeseries)
    if thirds is None:
        return None
    first, last = thirds
    if first <= 0 or last / first < DRIFT_RATIO:
        return None
    return Recommendation(
        "warning", "Latency rose during the run",
        f"The median per-window p95 went from {fmt_ms(first)} in the first third of the run to "
        f"{fmt_ms(last)} in the last third ({last / first:.1f}x). Look for saturation, queueing, "
        "memory growth or connection-pool exhaustion; a longer soak run will show whether it keeps rising.")


def thresholds_without_data(r: RunResults) -> Recommendation | None:
    empty = r.thresholds_no_data
    if not empty:
        return None
    names = ", ".join(sorted({f"{t.metric}: {t.expression}" for t in empty}))
    return Recommendation(
        "warning", f"{len(empty)} threshold(s) received no data",
        f"No samples reached {names}. k6 may report such a threshold as passed; check the metric "
        "name and tag selector (e.g. the request's `name` tag) against the script.")


def long_tail(r: RunResults) -> Recommendation | None:
    p50 = r.value("http_req_duration", "med")
    p99 = r.value("http_req_duration", "p(99)")
    if not p50 or not p99 or p99 < TAIL_MIN_P99_MS or p99 / p50 < TAIL_RATIO:
        return None
    return Recommendation(
        "warning", "Long latency tail",
        f"p99 ({fmt_ms(p99)}) is {p99 / p50:.1f}x the median ({fmt_ms(p50)}): one request in a "
        "hundred is much slower than typical. Look at the slowest endpoints' p99 below, GC pauses, "
        "lock contention, cold caches or retries.")


def high_failure_rate(r: RunResults) -> Recommendation | None:
    rate = rate_value(r, "http_req_failed")
    if rate is None or rate < FAILURE_RATE_NOTICE:
        return None
    return Recommendation(
        "critical" if rate >= 0.05 else "warning", f"{fmt_pct(rate)} of requests failed",
        "See the status/error breakdown and the top failing URLs. Failures that start mid-run "
        "usually mean the target ran out of a resource; failures from the start usually mean a "
        "script or environment problem.")


def checks_failing(r: RunResults) -> Recommendation | None:
    ch = r.checks
    fails = _col_sum(ch, "fails")
    if fails <= 0:
        return None
    worst = ch.loc[ch["fails"].idxmax()]
    return Recommendation(
        "warning", f"{int(fails):,} check(s) failed",
        f"The check failing most is '{worst['check']}' ({int(worst['fails']):,} fails). Checks do "
        "not fail a k6 run on their own; add a threshold on `checks` if they should.")


def duration_from_span(r: RunResults) -> Recommendation | None:
    if r.duration_source != "sample-span":
        return None
    return Recommendation(
        "info", "Duration estimated from samples",
        "No k6 summary was available, so the test duration (and every per-second rate) comes "
        "from the first-to-last sample span, which is slightly shorter than k6's own figure. "
        "Let novaload run k6, or pass the summary file, for k6's exact duration.")


def input_problems(r: RunResults) -> Recommendation | None:
    warned = len(r.warnings) - (1 if r.endpoints_capped_from else 0)  # the cap has its own rule
    if not r.skipped_lines and not warned:
        return None
    return Recommendation(
        "info", "The input had problems",
        f"{r.skipped_lines:,} invalid line(s) were skipped and {warned} warning(s) were "
        "raised while reading the results; see Run metadata.")


def unnamed_requests(r: RunResults) -> Recommendation | None:
    if not r.endpoints_capped_from:
        return None
    return Recommendation(
        "warning", "Name your requests",
        f"The run had {r.endpoints_capped_from:,} endpoints (distinct name tags): k6 names a request by "
        "its URL when the script gives no name tag, so ids in URLs make an endpoint each. The ones with "
        "fewest requests are one '(other)' row (--max-endpoints). Give such requests a name tag "
        "(tags: { name: 'item' }) or build their URLs with http.url``.")


RULES: tuple[Rule, ...] = (
    unnamed_requests,
    high_failure_rate,
    failures_concentrated,
    latency_rising,
    long_tail,
    checks_failing,
    thresholds_without_data,
    duration_from_span,
    input_problems,
)

_ORDER = {"critical": 0, "warning": 1, "info": 2}


def recommend(results: RunResults) -> list[Recommendation]:
    """Every rule's finding, most severe first (rule order breaks ties)."""
    found = [rec for rule in RULES if (rec := rule(results)) is not None]
    return sorted(found, key=lambda rec: _ORDER[rec.severity])


__all__ = ["RULES", "Recommendation", "recommend"]
