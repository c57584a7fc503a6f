"""What a run measured beyond HTTP: gRPC, WebSockets, the browser and custom metrics,
each metric broken down by the tags a user of that protocol reads it by.

k6 gives each protocol its own metrics (``grpc_req_duration``, ``ws_connecting``,
``browser_web_vital_lcp``, ...) and tags every sample with what it was about (the gRPC
method in ``name``, its status code in ``status``, a socket's or page's ``url``, the
``rating`` k6's browser module gives each Web Vital). A :class:`Breakdown` is one
metric's figures per value of such tags: each row holds exactly the values k6 exports
for the submetric ``metric{tag:value,...}`` (a Trend's percentiles, a Counter's count and
rate = count / test-run duration, a Rate's passes and fails, a Gauge's last value, min
and max), computed from the single pass's groups (``scan``) and the value store, so it
costs no second read of the input and memory stays bounded whatever the run's length.

Which protocols a run used is decided by which metrics it has; :attr:`Protocols.lead` is
the one the reports lead with (HTTP when it made HTTP requests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

Protocol = Literal["http", "grpc", "ws", "browser"]

GRPC_DURATION = "grpc_req_duration"
GRPC_STREAMS = ("grpc_streams", "grpc_streams_msgs_sent", "grpc_streams_msgs_received")
WS_METRICS = (
    "ws_sessions",
    "ws_connecting",
    "ws_session_duration",
    "ws_msgs_sent",
    "ws_msgs_received",
    "ws_ping",
)
# k6/browser's Web Vitals (browser_web_vital_<name>), with Google's bands: good up to the
# first bound, poor above the second, needs improvement between (web.dev/articles/vitals;
# the same bounds k6's browser module rates each sample with, its ``rating`` tag).
WEB_VITALS: dict[str, tuple[str, float, float, str]] = {
    "browser_web_vital_lcp": ("LCP", 2500.0, 4000.0, "ms"),
    "browser_web_vital_fcp": ("FCP", 1800.0, 3000.0, "ms"),
    "browser_web_vital_inp": ("INP", 200.0, 500.0, "ms"),
    "browser_web_vital_cls": ("CLS", 0.1, 0.25, ""),
    "browser_web_vital_ttfb": ("TTFB", 800.0, 1800.0, "ms"),
    "browser_web_vital_fid": ("FID", 100.0, 300.0, "ms"),
}
# Google judges a page by each vital's 75th percentile.
VITAL_PERCENTILE = 75.0
BROWSER_HTTP = ("browser_http_req_duration", "browser_http_req_failed")
BROWSER_DATA = ("browser_data_sent", "browser_data_received")
RATINGS = ("good", "needs-improvement", "poor")

# k6's own metrics (internal/metrics/builtin.go, the ws/grpc/browser modules'): anything
# else a script defined, a custom metric.
_BUILTIN = frozenset(
    {
        "vus",
        "vus_max",
        "iterations",
        "iteration_duration",
        "dropped_iterations",
        "data_sent",
        "data_received",
        "checks",
        "group_duration",
        "http_reqs",
        "http_req_failed",
        "http_req_duration",
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
        GRPC_DURATION,
        *GRPC_STREAMS,
        *WS_METRICS,
        *WEB_VITALS,
        *BROWSER_HTTP,
        *BROWSER_DATA,
    }
)
_BUILTIN_PREFIXES = ("browser_", "k6_")
# Tags k6 itself puts on samples: a custom metric is broken down by them only where they
# tell its samples apart (every sample of a run has the same ``scenario`` in most runs).
SYSTEM_TAGS = frozenset(
    {
        "scenario",
        "group",
        "url",
        "name",
        "method",
        "status",
        "proto",
        "subproto",
        "tls_version",
        "service",
        "expected_response",
        "error",
        "error_code",
        "check",
        "ip",
        "vu",
        "iter",
        "testid",
    }
)
MAX_TAG_SETS = 2000  # rows of one breakdown; a tag holding ids would make millions


def is_custom(metric: str) -> bool:
    """A metric the script defined (not one of k6's or its modules')."""
    return metric not in _BUILTIN and not metric.startswith(_BUILTIN_PREFIXES)


def vital_band(metric: str, value: float) -> str:
    """Google's band for a Web Vital's value: good, needs-improvement or poor."""
    _, good, poor, _ = WEB_VITALS[metric]
    return "good" if value <= good else ("poor" if value > poor else "needs-improvement")


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    tags: tuple[tuple[str, str], ...]  # (("name", "/main.X/Get"), ("status", "0")); "" = tag absent
    values: dict[str, float]  # as k6 exports the submetric metric{tags}

    def tag(self, key: str) -> str:
        return dict(self.tags).get(key, "")


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One metric's figures per combination of the tags ``by``."""

    metric: str
    type: str
    by: tuple[str, ...]
    rows: tuple[BreakdownRow, ...]
    truncated: int = 0  # tag sets left out (more than MAX_TAG_SETS), the smallest ones

    def row(self, **tags: str) -> BreakdownRow | None:
        want = tuple((k, tags.get(k, "")) for k in self.by)
        return next((r for r in self.rows if r.tags == want), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "type": self.type,
            "by": list(self.by),
            "rows": [{"tags": dict(r.tags), "values": _clean(r.values)} for r in self.rows],
            **({"truncated": self.truncated} if self.truncated else {}),
        }


@dataclass(frozen=True, slots=True)
class Protocols:
    """The protocols a run used and each one's breakdowns, keyed ``(metric, by)``."""

    used: tuple[Protocol, ...] = ()
    breakdowns: dict[tuple[str, tuple[str, ...]], Breakdown] = field(default_factory=dict)
    custom: tuple[str, ...] = ()  # custom metrics, by name
    # The lead protocol's figures per time-series window, when it is not HTTP (HTTP's are
    # RunResults.timeseries): t, then the columns of ``breakdowns.protocol_timeseries``.
    timeseries: pd.DataFrame | None = None

    @property
    def lead(self) -> Protocol | None:
        """The protocol the reports lead with: HTTP when the run made HTTP requests."""
        return self.used[0] if self.used else None

    def get(self, metric: str, *by: str) -> Breakdown | None:
        return self.breakdowns.get((metric, tuple(by)))

    def of(self, metric: str) -> list[Breakdown]:
        return [b for (m, _), b in self.breakdowns.items() if m == metric]

    def redacted(self, redact: Callable[[str], str]) -> Protocols:
        """A copy whose tag values went through ``redact`` (URLs may carry secrets)."""

        def rows(b: Breakdown) -> tuple[BreakdownRow, ...]:
            return tuple(BreakdownRow(tuple((k, redact(v)) for k, v in r.tags), r.values) for r in b.rows)

        return replace(self, breakdowns={key: replace(b, rows=rows(b)) for key, b in self.breakdowns.items()})

    def to_json(self) -> dict[str, Any]:
        return {
            "used": list(self.used),
            "lead": self.lead,
            "custom_metrics": list(self.custom),
            "breakdowns": [b.to_json() for b in self.breakdowns.values()],
        }


def _clean(values: Mapping[str, float]) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {}
    for k, v in values.items():
        fv = float(v)
        out[k] = (
            None
            if fv != fv or fv in (float("inf"), float("-inf"))
            else (int(fv) if fv.is_integer() and abs(fv) < 2**53 else fv)
        )
    return out


# --------------------------------------------------------------------------- computing

ValuesOf = Callable[[str, pd.DataFrame], dict[str, float]]


@dataclass(slots=True)
class _Tags:
    """Every tag of every group, parsed once per distinct tag set."""

    cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of(self, tg: object) -> dict[str, Any]:
        if not isinstance(tg, str):
            return {}
        got = self.cache.get(tg)
        if got is None:
            try:
                parsed = json.loads(tg)
            except ValueError:
                parsed = {}
            got = self.cache[tg] = parsed if isinstance(parsed, dict) else {}
        return got


def _breakdown(
    rows: pd.DataFrame, metric: str, mtype: str, by: Sequence[str], tags: _Tags, values_of: ValuesOf
) -> Breakdown | None:
    if rows.empty:
        return None
    positions: dict[tuple[str, ...], list[int]] = {}
    sizes: dict[tuple[str, ...], int] = {}
    for pos, (tg, n) in enumerate(zip(rows["tg"].tolist(), rows["n"].tolist(), strict=True)):
        d = tags.of(tg)
        key = tuple("" if d.get(k) is None else str(d.get(k)) for k in by)
        positions.setdefault(key, []).append(pos)
        sizes[key] = sizes.get(key, 0) + int(n)
    # the biggest tag sets when there are too many (ties: in tag order)
    kept = sorted(sorted(sizes), key=lambda k: -sizes[k])[:MAX_TAG_SETS]
    out = [
        BreakdownRow(tuple(zip(by, key, strict=True)), values_of(mtype, rows.iloc[positions[key]]))
        for key in sorted(kept)
    ]
    return Breakdown(metric, mtype, tuple(by), tuple(out), len(sizes) - len(kept))


def _custom_keys(rows: pd.DataFrame, tags: _Tags) -> tuple[str, ...]:
    """The tags a custom metric is broken down by: every tag the script gave it, and
    k6's own tags where they differ between its samples."""
    seen: dict[str, set[str]] = {}
    for tg in rows["tg"].unique().tolist():
        d = tags.of(tg)
        for k in set(seen) | set(d):
            seen.setdefault(k, set()).add("" if d.get(k) is None else str(d.get(k)))
    return tuple(sorted(k for k, vals in seen.items() if k not in SYSTEM_TAGS or len(vals) > 1))


def compute(
    rows_of: Callable[[str], pd.DataFrame],
    types: Mapping[str, str],
    values_of: ValuesOf,
    http_requests: float,
) -> Protocols:
    """Every protocol's breakdowns from the scan's groups: ``rows_of(metric)`` gives a
    metric's groups (columns tg, n, ...), ``values_of(type, rows)`` their k6 values."""
    tags = _Tags()
    found: dict[tuple[str, tuple[str, ...]], Breakdown] = {}

    def add(metric: str, *by: str) -> None:
        mtype = types.get(metric)
        if mtype is None:
            return
        got = _breakdown(rows_of(metric), metric, mtype, by, tags, values_of)
        if got is not None:
            found[(metric, tuple(by))] = got

    used: list[Protocol] = ["http"] if http_requests > 0 else []
    present = {m for m in types if not rows_of(m).empty}
    if GRPC_DURATION in present or present & set(GRPC_STREAMS):
        used.append("grpc")
        for by in (("name",), ("status",), ("name", "status")):
            add(GRPC_DURATION, *by)
        for m in GRPC_STREAMS:
            add(m, "name")
    if present & set(WS_METRICS):
        used.append("ws")
        for m in WS_METRICS:
            add(m, "url")
    if present & (set(WEB_VITALS) | set(BROWSER_HTTP)):
        used.append("browser")
        for m in WEB_VITALS:
            add(m, "url")
            add(m, "url", "rating")
        for m in BROWSER_HTTP:
            add(m, "url")
            add(m, "status")
    custom = tuple(sorted(m for m in present if is_custom(m)))
    for m in custom:
        if keys := _custom_keys(rows_of(m), tags):
            add(m, *keys)
    return Protocols(tuple(used), found, custom)


# What each lead protocol charts over time: (sums, trends) of ``protocol_timeseries``.
CHARTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "grpc": (("grpc_streams",), (GRPC_DURATION,)),
    "ws": (("ws_sessions", "ws_msgs_sent", "ws_msgs_received"), ()),
    "browser": ((), ("browser_http_req_duration",)),
}


def wanted_percentiles(types: Iterable[str]) -> set[float]:
    """Percentiles the breakdowns need beyond k6's trend stats (a Web Vital's p75)."""
    return {VITAL_PERCENTILE} if any(m in WEB_VITALS for m in types) else set()


__all__ = [
    "BROWSER_HTTP",
    "Breakdown",
    "BreakdownRow",
    "GRPC_DURATION",
    "GRPC_STREAMS",
    "Protocols",
    "RATINGS",
    "SYSTEM_TAGS",
    "VITAL_PERCENTILE",
    "WEB_VITALS",
    "WS_METRICS",
    "CHARTED",
    "compute",
    "is_custom",
    "vital_band",
    "wanted_percentiles",
]
