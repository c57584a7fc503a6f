"""k6 summary files in and ``summary.json`` out.

In: :func:`load_k6_summary` reads either k6's ``--summary-export`` JSON or the
``data`` object ``handleSummary`` receives, for what the JSON output lacks: the
exact test-run duration (counter rates), the ``summaryTrendStats`` asked for, the
thresholds on submetrics and k6's own verdicts. In ``--summary-export`` a threshold
value ``true`` means *failed* (k6 issue #1498); ``handleSummary`` says ``{ok: bool}``.

Out: :func:`summary_document` is the content of ``summary.json``: a ``metrics``
object equal to k6's ``--summary-export`` key for key (the metrics k6 exports, a
Trend's ``summaryTrendStats`` as written, ``count`` included when asked for) with
``thresholds: {EXPR: {"ok": k6's verdict, "no_data": true when no samples}}``, and a
``novaload`` section with everything novaload adds (metadata, other percentiles).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novaload.errors import InputError
from novaload.fileio import write_atomic
from novaload.inputs import K6_SUMMARY, load_json, read_text
from novaload.results.exemplars import to_json as exemplar_json
from novaload.results.model import MetricSummary, RunResults, ThresholdResult
from novaload.thresholds import percentile_key

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")


@dataclass(frozen=True, slots=True)
class K6Summary:
    """What a k6 end-of-test summary tells that the JSON output does not."""

    path: Path
    kind: str  # "summary-export" | "handleSummary"
    duration_ns: int | None  # test-run duration, integer nanoseconds (Go time.Duration)
    trend_stats: tuple[str, ...]  # e.g. ("avg", ..., "p(99)", "p(99.9)")
    metric_types: dict[str, str] = field(default_factory=dict)
    # metric name (as k6 names it) -> {expression: passed?}
    verdicts: dict[str, dict[str, bool]] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    # Whether ``trend_stats`` came from the file (handleSummary's options, or the keys of
    # an exported Trend) rather than k6's default standing in.
    trend_stats_known: bool = False

    @property
    def duration_s(self) -> float | None:
        # Go: float64(ns) / float64(time.Second)
        return None if self.duration_ns is None else self.duration_ns / 1e9


def load_k6_summary(path: Path | str) -> K6Summary:
    """Read a ``--summary-export`` file or a ``handleSummary`` ``data`` JSON."""
    path = Path(path)
    text = read_text(path, K6_SUMMARY, what="k6 summary file")
    doc = load_json(text, str(path), K6_SUMMARY, what="k6 summary JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise InputError(f"{path}: not a k6 summary (no 'metrics' object)")
    if "state" in doc or any(isinstance(m, dict) and "values" in m for m in doc["metrics"].values()):
        return _from_handle_summary(path, doc)
    return _from_summary_export(path, doc)


def _from_handle_summary(path: Path, doc: dict) -> K6Summary:
    ms = (doc.get("state") or {}).get("testRunDurationMs")
    duration_ns = None if ms is None else round(float(ms) * 1e6)
    asked = (doc.get("options") or {}).get("summaryTrendStats")
    stats = tuple(asked or DEFAULT_TREND_STATS)
    types, verdicts, values = {}, {}, {}
    for name, m in doc["metrics"].items():
        types[name] = str(m.get("type", ""))
        values[name] = dict(m.get("values") or {})
        th = m.get("thresholds") or {}
        verdicts[name] = {expr: bool(v.get("ok")) for expr, v in th.items()}
    return K6Summary(path, "handleSummary", duration_ns, stats, types, verdicts, values, bool(asked))


def _from_summary_export(path: Path, doc: dict) -> K6Summary:
    duration_ns = None
    stats: list[str] = []
    types, verdicts, values = {}, {}, {}
    for name, m in doc["metrics"].items():
        vals = {k: v for k, v in m.items() if k != "thresholds"}
        values[name] = vals
        types[name] = _type_from_keys(vals)
        # true means FAILED in --summary-export (k6 issue #1498)
        verdicts[name] = {e: not bool(f) for e, f in (m.get("thresholds") or {}).items()}
        if types[name] == "trend" and not stats:
            stats = list(vals)
        if duration_ns is None and types[name] == "counter" and vals.get("rate"):
            duration_ns = round(vals["count"] / vals["rate"] * 1e9)
    ordered = _order_stats(stats) if stats else DEFAULT_TREND_STATS
    return K6Summary(path, "summary-export", duration_ns, ordered, types, verdicts, values, bool(stats))


def _type_from_keys(vals: dict) -> str:
    keys = set(vals)
    if keys & {"passes", "fails"}:
        return "rate"
    if "rate" in keys and keys <= {"count", "rate"}:
        return "counter"
    if "value" in keys and keys <= {"value", "min", "max"}:
        return "gauge"
    # A Trend's keys are its summaryTrendStats: avg/min/med/max/count/p(N) in any mix.
    if keys & {"avg", "min", "med", "max", "count"} or any(k.startswith("p(") for k in keys):
        return "trend"
    return ""


def _order_stats(stats: list[str]) -> tuple[str, ...]:
    known = [s for s in DEFAULT_TREND_STATS if s in stats]
    pcts = sorted((s for s in stats if s.startswith("p(") and s not in known), key=lambda s: float(s[2:-1]))
    rest = [s for s in stats if s not in known and s not in pcts]
    return tuple(known + pcts + rest)


def _num(x: float) -> float | int:
    """JSON-friendly: integral floats as ints like k6 prints them, NaN/inf as null."""
    if not math.isfinite(x):
        return None  # type: ignore[return-value]
    return int(x) if x == int(x) and abs(x) < 2**53 else x


def _threshold_entry(t: ThresholdResult) -> dict[str, Any]:
    """``{"ok": ...}`` like k6's (plus ``"no_data": true`` when no samples reached the
    metric); a windowed threshold adds its window, the worst window's
    value and the breached stretches (seconds since the run's first sample)."""
    flag = {"no_data": True} if (t.no_data or t.ok is None) else {}
    if t.window is None:
        return {"ok": t.ok, **flag}
    return {
        "ok": t.ok,
        **flag,
        "window": t.window,
        "observed": t.observed,
        "windows_judged": len(t.windows),
        "windows_breached": sum(1 for w in t.windows if w.ok is False),
        "breaches": [{"from_s": a, "to_s": b} for a, b in t.breaches],
    }


def _apdex(results: RunResults) -> dict[str, Any]:
    """Overall and per-endpoint Apdex (T in ms; score null without requests)."""
    assert results.apdex is not None
    endpoints: dict[str, Any] = {}
    ep = results.endpoints
    if not ep.empty and "apdex" in ep.columns:
        for r in ep.itertuples(index=False):
            n = int(r.apdex_satisfied + r.apdex_tolerating + r.apdex_frustrated)
            endpoints[str(r.name)] = {
                "t_ms": r.apdex_t_ms,
                "score": None if n == 0 else float(r.apdex),
                "requests": n,
                "satisfied": int(r.apdex_satisfied),
                "tolerating": int(r.apdex_tolerating),
                "frustrated": int(r.apdex_frustrated),
            }
    return {
        "default_t_ms": results.apdex_default_t_ms,
        "overall": results.apdex.to_json(),
        "endpoints": endpoints,
    }


def k6_values(m: MetricSummary, trend_stats: tuple[str, ...]) -> dict[str, float]:
    """The values k6 exports for ``m``: a Trend's ``summaryTrendStats`` (keys as written,
    ``count`` included), a Counter's count and rate, a Rate's passes, fails and value, a
    Gauge's value, min and max."""
    keys = _K6_KEYS.get(m.type)
    if m.type == "trend":
        return {st: m.values[_stat_key(st)] for st in trend_stats if _stat_key(st) in m.values}
    if keys is None:
        return dict(m.values)
    return {k: m.values[k] for k in keys if k in m.values}


_K6_KEYS = {
    "counter": ("count", "rate"),
    "rate": ("passes", "fails", "value"),
    "gauge": ("value", "min", "max"),
}


def _stat_key(stat: str) -> str:
    """``p(99.990)`` and ``p(99.99)`` are the same percentile: the key novaload computed."""
    if stat.startswith("p(") and stat.endswith(")"):
        try:
            return percentile_key(float(stat[2:-1]))
        except ValueError:
            return stat
    return stat


def summary_document(results: RunResults) -> dict:
    """The ``summary.json`` content (see module docstring)."""
    metrics: dict[str, dict] = {}
    extra: dict[str, dict] = {}
    exported = results.k6_metric_names
    for name, m in results.metrics.items():
        k6 = k6_values(m, results.trend_stats)
        covered = set(k6) | {_stat_key(st) for st in k6}
        more = {k: _num(v) for k, v in m.values.items() if k not in covered}
        if exported is not None and name not in exported and not m.thresholds:
            extra[name] = {k: _num(v) for k, v in m.values.items()}
            continue
        entry: dict = {k: _num(v) for k, v in k6.items()}
        if m.thresholds:
            entry["thresholds"] = {t.expression: _threshold_entry(t) for t in m.thresholds}
        metrics[name] = entry
        if more:
            extra[name] = more
    return {
        "metrics": metrics,
        "novaload": {
            "duration_s": results.duration_s,
            "duration_source": results.duration_source,
            "started_at": results.started_at.isoformat() if results.started_at else None,
            "ended_at": results.ended_at.isoformat() if results.ended_at else None,
            "sources": [str(p) for p in results.sources],
            "lines": results.lines,
            "points": results.points,
            "input_bytes": results.input_bytes,
            "skipped_lines": results.skipped_lines,
            "warnings": list(results.warnings),
            "thresholds_failed": results.thresholds_failed,
            "thresholds_no_data": [f"{t.metric}: {t.expression}" for t in results.thresholds_no_data],
            "no_data_fails": results.no_data_fails,
            "summary_trend_stats": list(results.trend_stats),
            "types": {name: m.type for name, m in results.metrics.items()},
            **({"load_generator": results.load_generator.to_json()} if results.load_generator else {}),
            **({"apdex": _apdex(results)} if results.apdex is not None else {}),
            # Traced requests: each endpoint's slowest, then its first failed ones
            "exemplars": [exemplar_json(e) for e in results.exemplars],
            # gRPC, WebSocket, browser and custom metrics per tag (results.protocols): each
            # row holds k6's values for the submetric metric{tag:value,...}
            "protocols": results.protocols.to_json(),
            # Figures novaload computes beyond k6's export (other percentiles, a Trend's
            # count when k6 was not asked for it, submetrics k6 did not export).
            "values": extra,
        },
    }


def write_summary(
    results: RunResults, path: Path | str, extra: dict | None = None, notes: dict | None = None
) -> Path:
    """Write ``summary.json``; ``extra`` adds top-level sections (e.g. ``analyses``),
    ``notes`` entries of the ``novaload`` section (e.g. ``k6_abort``)."""
    document = {**summary_document(results), **(extra or {})}
    document["novaload"].update(notes or {})
    return write_atomic(Path(path), json.dumps(document, indent=2) + "\n")


__all__ = ["K6Summary", "k6_values", "load_k6_summary", "summary_document", "write_summary"]
