"""k6 summary files in and ``summary.json`` out.

In: :func:`load_k6_summary` reads either k6's ``--summary-export`` JSON or the
``data`` object ``handleSummary`` receives, for what the JSON output lacks: the
exact test-run duration (counter rates), the ``summaryTrendStats`` asked for, the
thresholds on submetrics and k6's own verdicts. In ``--summary-export`` a threshold
value ``true`` means *failed* (k6 issue #1498); ``handleSummary`` says ``{ok: bool}``.

Out: :func:`summary_document` is the content of ``summary.json``: a ``metrics``
object shaped like k6's ``--summary-export`` (same names, same value keys) with
``thresholds: {EXPR: {"ok": true|false|null}}``, plus ``novaload`` metadata.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novaload.errors import InputError
from novaload.fileio import write_atomic
from novaload.results.model import RunResults, ThresholdResult

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

    @property
    def duration_s(self) -> float | None:
        # Go: float64(ns) / float64(time.Second)
        return None if self.duration_ns is None else self.duration_ns / 1e9


def load_k6_summary(path: Path | str) -> K6Summary:
    """Read a ``--summary-export`` file or a ``handleSummary`` ``data`` JSON."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: k6 summary file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a k6 summary JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise InputError(f"{path}: not a k6 summary (no 'metrics' object)")
    if "state" in doc or any(isinstance(m, dict) and "values" in m for m in doc["metrics"].values()):
        return _from_handle_summary(path, doc)
    return _from_summary_export(path, doc)


def _from_handle_summary(path: Path, doc: dict) -> K6Summary:
    ms = (doc.get("state") or {}).get("testRunDurationMs")
    duration_ns = None if ms is None else round(float(ms) * 1e6)
    stats = tuple((doc.get("options") or {}).get("summaryTrendStats") or DEFAULT_TREND_STATS)
    types, verdicts, values = {}, {}, {}
    for name, m in doc["metrics"].items():
        types[name] = str(m.get("type", ""))
        values[name] = dict(m.get("values") or {})
        th = m.get("thresholds") or {}
        verdicts[name] = {expr: bool(v.get("ok")) for expr, v in th.items()}
    return K6Summary(path, "handleSummary", duration_ns, stats, types, verdicts, values)


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
    return K6Summary(path, "summary-export", duration_ns, ordered, types, verdicts, values)


def _type_from_keys(vals: dict) -> str:
    if "count" in vals:
        return "counter"
    if "passes" in vals:
        return "rate"
    if "avg" in vals or "med" in vals or any(k.startswith("p(") for k in vals):
        return "trend"
    if "value" in vals:
        return "gauge"
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
    """``{"ok": ...}`` like k6's; a windowed threshold adds its window, the worst window's
    value and the breached stretches (seconds since the run's first sample)."""
    if t.window is None:
        return {"ok": t.ok}
    return {
        "ok": t.ok,
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


def summary_document(results: RunResults) -> dict:
    """The ``summary.json`` content (see module docstring)."""
    metrics: dict[str, dict] = {}
    for name, m in results.metrics.items():
        entry: dict = {k: _num(v) for k, v in m.values.items()}
        if m.thresholds:
            entry["thresholds"] = {t.expression: _threshold_entry(t) for t in m.thresholds}
        metrics[name] = entry
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
            "types": {name: m.type for name, m in results.metrics.items()},
            **({"load_generator": results.load_generator.to_json()} if results.load_generator else {}),
            **({"apdex": _apdex(results)} if results.apdex is not None else {}),
        },
    }


def write_summary(results: RunResults, path: Path | str, extra: dict | None = None) -> Path:
    """Write ``summary.json``; ``extra`` adds top-level sections (e.g. ``analyses``)."""
    document = {**summary_document(results), **(extra or {})}
    return write_atomic(Path(path), json.dumps(document, indent=2) + "\n")


__all__ = ["K6Summary", "load_k6_summary", "summary_document", "write_summary"]
