"""What every scenario analysis shares: its result (:class:`Analysis`), its input
context (:class:`AnalysisContext`), SLOs read from thresholds, and per-step
aggregation of the ingested per-window timeseries.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from novaload.config.models import Profile, Scenario
from novaload.errors import ConfigError
from novaload.thresholds import Threshold, as_thresholds

# Per-window percentiles the ingested timeseries carries.
_WINDOW_PERCENTILES = {50.0: "p50", 95.0: "p95", 99.0: "p99"}


@dataclass(frozen=True, slots=True)
class Analysis:
    """The outcome of one analysis, ready for reports and summary.json.

    ``title``/``html``/``markdown`` match the reports' ``ExtraSection`` fields,
    so an Analysis can be handed to reporters as a section; ``html`` has every
    user-controlled string escaped.
    """

    name: str
    title: str
    verdict: str  # one line, e.g. "thresholds first broke at step 4 (200 VUs)"
    flagged: bool  # the analysis found a problem (a break, degradation, no recovery)
    figures: dict[str, Any]  # JSON-able numbers for summary.json
    markdown: str
    html: str

    def to_section(self) -> Any:
        from novaload.reports.base import ExtraSection

        return ExtraSection(title=self.title, html=self.html, markdown=self.markdown)


@dataclass(frozen=True, slots=True)
class Slo:
    """Limits a window or step must meet: a latency percentile and an error rate."""

    latency_ms: float | None = None
    percentile: float = 95.0  # of http_req_duration
    error_rate: float | None = None  # of http_req_failed

    @property
    def column(self) -> str:
        """The timeseries column that carries this percentile per window."""
        best = min(_WINDOW_PERCENTILES, key=lambda p: abs(p - self.percentile))
        return _WINDOW_PERCENTILES[best]

    def describe(self) -> str:
        parts = []
        if self.latency_ms is not None:
            parts.append(f"p({self.percentile:g}) < {self.latency_ms:g} ms")
        if self.error_rate is not None:
            parts.append(f"error rate < {100 * self.error_rate:g} %")
        return ", ".join(parts) or "no SLOs"

    def broken_by(self, latency_ms: float, error_rate: float) -> list[str]:
        """Which limits a (latency, error rate) pair breaks, as short phrases."""
        out = []
        if self.latency_ms is not None and latency_ms > self.latency_ms:
            out.append(f"{self.column} {latency_ms:.0f} ms > {self.latency_ms:g} ms")
        if self.error_rate is not None and error_rate > self.error_rate:
            out.append(f"errors {100 * error_rate:.2f} % > {100 * self.error_rate:g} %")
        return out


def slo_from_thresholds(
    thresholds: Mapping[str, Sequence[Threshold | str | Mapping[str, Any]]],
    overrides: Mapping[str, Any] | None = None,
) -> Slo:
    """The strictest upper bound ``p(N) < X`` (or ``med``) on http_req_duration and
    ``rate < X`` on http_req_failed.

    ``thresholds``: parsed (a scenario's) or as written (``{"m": ["p(95)<500"]}``).
    ``overrides`` (scenario params) may set ``slo_latency_ms``, ``slo_percentile``
    and ``slo_error_rate`` directly.
    """
    latency: tuple[float, float] | None = None  # (percentile, limit)
    error: float | None = None
    for t in as_thresholds(thresholds):
        expr = t.expr
        if t.parsed_metric.is_submetric or not expr.is_upper_bound():
            continue
        if t.metric == "http_req_duration":
            pct = (
                expr.percentile
                if expr.percentile is not None
                else (50.0 if expr.aggregation == "med" else None)
            )
            # Prefer p95 (what the windows carry best), else the tightest one given.
            if pct is not None and (latency is None or abs(pct - 95) < abs(latency[0] - 95)):
                latency = (pct, expr.limit)
        elif t.metric == "http_req_failed" and expr.aggregation == "rate":
            error = expr.limit if error is None else min(error, expr.limit)
    o = overrides or {}
    return Slo(
        latency_ms=float(o["slo_latency_ms"]) if "slo_latency_ms" in o else (latency[1] if latency else None),
        percentile=float(o.get("slo_percentile", latency[0] if latency else 95.0)),
        error_rate=float(o["slo_error_rate"]) if "slo_error_rate" in o else error,
    )


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """What an analysis knows besides the results: the load plan and the SLOs."""

    scenario: str = ""
    # The k6 scenario object whose plan drove the load (executor + stages).
    executor: Mapping[str, Any] | None = None
    thresholds: Mapping[str, Sequence[Threshold | str | Mapping[str, Any]]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)  # the analysis' own params

    @classmethod
    def for_run(cls, scenario: Scenario, profile: Profile | None, analysis: str) -> AnalysisContext:
        from novaload.scenario.options import executor_for

        params = scenario.params.get(analysis, {})
        if not isinstance(params, Mapping):
            raise ConfigError("must be a mapping", key=f"params.{analysis}", value=params)
        return cls(
            scenario=scenario.name,
            executor=executor_for(profile) if profile is not None else None,
            thresholds=scenario.all_thresholds,
            params=params,
        )

    @property
    def slo(self) -> Slo:
        return slo_from_thresholds(self.thresholds, self.params)

    def param(self, key: str, default: float) -> float:
        value = self.params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError("must be a number", key=f"params.{key}", value=value)
        return float(value)


# --------------------------------------------------------------------------- windows


def windows(results_ts: pd.DataFrame) -> pd.DataFrame:
    """The timeseries with ``error_rate`` added and empty windows kept (requests 0)."""
    ts = results_ts.copy()
    if ts.empty:
        return ts
    req = ts["requests"].astype(float)
    ts["error_rate"] = (ts["failures"].astype(float) / req.where(req > 0)).fillna(0.0)
    return ts


def in_interval(
    ts: pd.DataFrame, start: float, end: float, window_s: float, margin_s: float = 0.0
) -> pd.DataFrame:
    """Windows lying entirely inside ``[start + margin, end]``."""
    if ts.empty:
        return ts
    t = ts["t"].astype(float)
    mask = (t >= start + margin_s - 1e-9) & (t + window_s <= end + 1e-9)
    return ts[mask]


@dataclass(frozen=True, slots=True)
class StepStats:
    """Aggregated windows of one constant-load step."""

    index: int  # 1-based
    start_s: float
    end_s: float
    level: float  # planned VUs or iterations per time unit
    windows: int
    requests: int
    failures: int
    rps: float
    # The SLO's percentile over every request of the step (exact, k6's interpolation);
    # without raw values, the request-weighted mean of the windows' percentile.
    latency_ms: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def step_stats(
    ts: pd.DataFrame,
    steps: Sequence[tuple[float, float, float]],
    window_s: float,
    column: str,
    values_between: Callable[[float, float], Any] | None = None,
    percentile: float = 95.0,
) -> list[StepStats]:
    """Aggregate windows per step, skipping each step's first window (transition).

    ``values_between(t0, t1)`` (``RunResults.latency_between``) gives the step's raw
    latencies, so its percentile is exact rather than an average of window percentiles.
    """
    out = []
    for i, (start, end, level) in enumerate(steps, 1):
        margin = window_s if end - start > 2 * window_s else 0.0
        part = in_interval(ts, start, end, window_s, margin)
        requests = int(part["requests"].sum()) if not part.empty else 0
        failures = int(part["failures"].sum()) if not part.empty else 0
        latency = _step_percentile(part, window_s, values_between, percentile, column)
        span = len(part) * window_s
        out.append(
            StepStats(
                index=i,
                start_s=start,
                end_s=end,
                level=level,
                windows=len(part),
                requests=requests,
                failures=failures,
                rps=requests / span if span else 0.0,
                latency_ms=latency,
            )
        )
    return out


def _step_percentile(
    part: pd.DataFrame,
    window_s: float,
    values_between: Callable[[float, float], Any] | None,
    percentile: float,
    column: str,
) -> float:
    values = None
    if values_between is not None and not part.empty:
        t = part["t"].astype(float)
        values = values_between(float(t.min()), float(t.max()) + window_s)
    if values is None:
        return _weighted_mean(part, column)
    if len(values) == 0:
        return math.nan
    from novaload.results.stats import percentiles

    return float(percentiles(values, [percentile])[percentile])


def _weighted_mean(part: pd.DataFrame, column: str) -> float:
    if part.empty or column not in part:
        return math.nan
    values = part[column].astype(float)
    weights = part["requests"].astype(float)
    ok = values.notna() & (weights > 0)
    if not ok.any():
        return math.nan
    return float((values[ok] * weights[ok]).sum() / weights[ok].sum())


# --------------------------------------------------------------------------- rendering


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], flagged_rows: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="flagged"' if i in flagged_rows else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_para(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def clean(value: float | None, digits: int = 4) -> float | None:
    """A JSON-safe rounded number (NaN/inf become None)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


__all__ = [
    "Analysis",
    "AnalysisContext",
    "Slo",
    "StepStats",
    "clean",
    "fmt",
    "html_para",
    "html_table",
    "in_interval",
    "md_table",
    "slo_from_thresholds",
    "step_stats",
    "windows",
]
