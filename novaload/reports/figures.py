"""Headline figures of a run and the number formatting shared by the HTML and
Markdown reports, so both show the same values in the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from novaload.results.model import RunResults, ThresholdResult

DASH = "—"


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_int(v: float | None) -> str:
    return DASH if _missing(v) else f"{round(v):,}"  # type: ignore[arg-type]


def fmt_num(v: float | None, digits: int = 2) -> str:
    if _missing(v):
        return DASH
    assert v is not None
    return f"{v:,.{digits}f}"


def fmt_ms(v: float | None) -> str:
    """Latency in ms with about three significant digits; seconds from 10 s up."""
    if _missing(v):
        return DASH
    assert v is not None
    if abs(v) >= 10_000:
        return f"{v / 1000:,.2f} s"
    if abs(v) >= 100:
        return f"{v:,.0f} ms"
    if abs(v) >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def fmt_pct(ratio: float | None) -> str:
    if _missing(ratio):
        return DASH
    assert ratio is not None
    return f"{ratio * 100:.2f} %"


def fmt_bytes(v: float | None) -> str:
    """Decimal units, as k6 prints them (kB = 1000 B)."""
    if _missing(v):
        return DASH
    assert v is not None
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(v) >= size:
            return f"{v / size:,.1f} {unit}"
    return f"{v:,.0f} B"


def fmt_duration(seconds: float | None) -> str:
    if _missing(seconds):
        return DASH
    assert seconds is not None
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m {sec:04.1f}s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h {int(minutes):02d}m {sec:02.0f}s"


def fmt_seconds_tick(seconds: float) -> str:
    """Compact elapsed-time label for chart axes: 45s, 2m, 1m30s, 1h05m."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m" if s == 0 else f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def fmt_observed(value: float | None, unit: str = "") -> str:
    """A threshold's observed value or limit in its unit: "ratio" (also as %), "ms", or none."""
    if _missing(value):
        return "no data"
    assert value is not None
    if unit == "ratio":
        return f"{value:.4g} ({value * 100:.2f} %)"
    if unit == "ms":
        return f"{value:,.6g} ms"
    return f"{value:,.6g}"


def fmt_apdex(score: float | None, t_ms: float | None) -> str:
    """``0.947 (T 500 ms)``; a dash without requests."""
    if _missing(score):
        return DASH
    assert score is not None
    return f"{score:.3f}" + (f" (T {t_ms:g} ms)" if not _missing(t_ms) else "")


def window_note(t: ThresholdResult) -> str:
    """For a windowed threshold: how many windows were judged and where it breached."""
    if t.window is None:
        return ""
    if not t.windows:
        return "no window had samples"
    spans = ", ".join(f"{fmt_seconds_tick(a)}–{fmt_seconds_tick(b)}" for a, b in t.breaches[:5])
    more = f" (+{len(t.breaches) - 5} more)" if len(t.breaches) > 5 else ""
    head = f"worst of {len(t.windows):,} windows"
    return f"{head}; breached {spans}{more}" if t.breaches else f"{head}; none breached"


def threshold_unit(results: RunResults, t: ThresholdResult) -> str:
    """"ratio" for a Rate metric's rate (0..1, not per second), "ms" for a time trend, else ""."""
    sel = t.selector
    m = results.metric(t.metric) or results.metric(sel.name) or results.metric(sel.metric)
    if m is None:
        return ""
    if m.type == "rate" and t.aggregation in ("rate", "value"):
        return "ratio"
    if m.type == "trend" and m.contains == "time":
        return "ms"
    return ""


def rate_value(results: RunResults, metric: str) -> float | None:
    """A Rate metric's ratio: ``value`` in k6's summary export, ``rate`` in handleSummary."""
    m = results.metric(metric)
    if m is None:
        return None
    return m.values.get("value", m.values.get("rate"))


def with_columns(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """``df`` with every listed column present (missing ones empty), so a reporter
    can read rows by attribute even from a results engine that omits a column."""
    missing = [c for c in cols if c not in df.columns]
    return df.assign(**{c: math.nan for c in missing}) if missing else df


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    value: str
    note: str = ""


def headline(results: RunResults) -> list[Figure]:
    """The figures a reader looks at first, in reading order."""
    v = results.value
    failed = v("http_req_failed", "passes")
    vus_max = v("vus_max", "max", v("vus_max", "value", v("vus", "max")))
    source = "k6 summary" if results.duration_source == "k6-summary" else "first-to-last sample span"
    figures = [
        Figure("Requests", fmt_int(v("http_reqs", "count"))),
        Figure("Throughput", f"{fmt_num(v('http_reqs', 'rate'))} req/s"),
        Figure("Failure rate", fmt_pct(rate_value(results, "http_req_failed")),
               f"{fmt_int(failed)} failed" if failed is not None else ""),
        Figure("p50 latency", fmt_ms(v("http_req_duration", "med"))),
        Figure("p95 latency", fmt_ms(v("http_req_duration", "p(95)"))),
        Figure("p99 latency", fmt_ms(v("http_req_duration", "p(99)"))),
        Figure("Max latency", fmt_ms(v("http_req_duration", "max"))),
        Figure("Iterations", fmt_int(v("iterations", "count")),
               f"{fmt_num(v('iterations', 'rate'))}/s" if v("iterations", "rate") is not None else ""),
        Figure("VUs max", fmt_int(vus_max)),
        Figure("Data sent", fmt_bytes(v("data_sent", "count"))),
        Figure("Data received", fmt_bytes(v("data_received", "count"))),
        Figure("Duration", fmt_duration(results.duration_s), f"from {source}"),
    ]
    checks = rate_value(results, "checks")
    if checks is not None:
        figures.append(Figure("Checks passed", fmt_pct(checks)))
    apdex = results.apdex
    if apdex is not None and apdex.score is not None:
        t = results.apdex_default_t_ms
        note = "each endpoint against its T" + (f"; default T {t:g} ms" if t is not None else "")
        figures.append(Figure("Apdex", f"{apdex.score:.3f}", note))
    return figures


__all__ = [
    "Figure",
    "fmt_apdex",
    "fmt_bytes",
    "fmt_duration",
    "fmt_int",
    "fmt_ms",
    "fmt_num",
    "fmt_observed",
    "fmt_pct",
    "fmt_seconds_tick",
    "headline",
    "rate_value",
    "threshold_unit",
    "window_note",
    "with_columns",
]
