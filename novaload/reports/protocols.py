"""The protocol sections of the reports: gRPC, WebSockets, the browser and custom
metrics, each shown when its metrics exist, in the words a k6 user of it reads.

Every figure comes from :attr:`RunResults.protocols` (``results.protocols``: k6's own
values for each submetric) or from :attr:`RunResults.metrics`; this module only chooses
and formats them. It returns plain :class:`Section` objects (figures and tables of
text); ``html.py``, ``markdown.py`` and the terminal summary render them with their own
escaping, so a tag value is escaped exactly where it lands.

A run that made no HTTP request leads with the protocol it used: :func:`headline` gives
that protocol's figures in place of the HTTP ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from novaload.reports import k6format
from novaload.reports.figures import (
    DASH,
    Figure,
    fmt_bytes,
    fmt_duration,
    fmt_int,
    fmt_ms,
    fmt_num,
    fmt_pct,
    headline as http_headline,
    rate_value,
)
from novaload.results.model import MetricSummary, RunResults
from novaload.results.protocols import (
    GRPC_DURATION,
    RATINGS,
    VITAL_PERCENTILE,
    WEB_VITALS,
    WS_METRICS,
    Breakdown,
    BreakdownRow,
    vital_band,
)
from novaload.thresholds import percentile_key

MAX_ROWS = 100  # per table; every row is in summary.json
TITLES = {"grpc": "gRPC", "ws": "WebSockets", "browser": "Browser", "custom": "Custom metrics"}
# google.golang.org/grpc/codes: k6's ``status`` tag holds the number
GRPC_CODES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
P75 = percentile_key(VITAL_PERCENTILE)  # "p(75)"
BAND_WORDS = {"good": "good", "needs-improvement": "needs improvement", "poor": "poor"}


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: frozenset[int]  # right-aligned columns
    total: int  # rows before the cap
    url_columns: frozenset[int] = frozenset()  # long text that may break anywhere


@dataclass(frozen=True, slots=True)
class Section:
    sid: str  # "grpc", "ws", "browser", "custom"
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def grpc_status(code: str) -> str:
    """``5 NOT_FOUND`` for k6's status tag ``5``."""
    try:
        return f"{code} {GRPC_CODES[int(code)]}"
    except (ValueError, IndexError):
        return code or DASH


def _fmt(m: MetricSummary | None, key: str, values: dict[str, float] | None = None) -> str:
    """A value of metric ``m`` (or of one of its breakdown rows) in the metric's unit."""
    vals = values if values is not None else (m.values if m is not None else {})
    v = vals.get(key)
    if v is None:
        return DASH
    if m is not None and m.type == "trend" and m.contains == "time" and key != "count":
        return fmt_ms(v)
    if m is not None and m.contains == "data" and key in ("count", "value", "min", "max"):
        return fmt_bytes(v)
    if m is not None and m.type == "rate" and key == "value":
        return fmt_pct(v)
    if key == "rate":
        return f"{fmt_num(v)}/s"
    if key in ("count", "passes", "fails"):
        return fmt_int(v)
    return f"{v:,.6g}"


def _table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[tuple[str, ...]],
    numeric_from: int,
    url_columns: Sequence[int] = (0,),
) -> Table:
    shown = list(rows[:MAX_ROWS])
    return Table(
        title,
        tuple(headers),
        shown,
        frozenset(range(numeric_from, len(headers))),
        len(rows),
        frozenset(url_columns),
    )


def _busiest(b: Breakdown | None, key: str = "count") -> list[BreakdownRow]:
    if b is None:
        return []
    return sorted(b.rows, key=lambda r: (-r.values.get(key, 0.0), r.tags))


# --------------------------------------------------------------------------- gRPC


def _grpc(results: RunResults) -> Section:
    p, m = results.protocols, results.metric(GRPC_DURATION)
    by_status = p.get(GRPC_DURATION, "status")
    total = m.values.get("count", 0.0) if m is not None else 0.0
    not_ok = sum(
        r.values.get("count", 0.0) for r in (by_status.rows if by_status else ()) if r.tag("status") != "0"
    )
    streams = results.metric("grpc_streams")
    figures = [
        Figure(
            "gRPC calls",
            fmt_int(total),
            f"{fmt_num(total / results.duration_s)}/s" if results.duration_s else "",
        ),
        Figure("Non-OK status", fmt_pct(not_ok / total) if total else DASH, f"{fmt_int(not_ok)} calls"),
        Figure("p50 grpc_req_duration", _fmt(m, "med")),
        Figure("p95 grpc_req_duration", _fmt(m, "p(95)")),
        Figure("p99 grpc_req_duration", _fmt(m, "p(99)")),
        Figure("Max grpc_req_duration", _fmt(m, "max")),
    ]
    if streams is not None:
        figures += [
            Figure("Streams", _fmt(streams, "count"), _fmt(streams, "rate")),
            Figure("Stream messages sent", _fmt(results.metric("grpc_streams_msgs_sent"), "count")),
            Figure("Stream messages received", _fmt(results.metric("grpc_streams_msgs_received"), "count")),
        ]
    stats = ("avg", "med", "p(90)", "p(95)", "p(99)", "max")
    heads = ("avg", "p50", "p90", "p95", "p99", "max")
    by_name_status = p.get(GRPC_DURATION, "name", "status")
    non_ok_of: dict[str, float] = {}
    for r in by_name_status.rows if by_name_status else ():
        if r.tag("status") != "0":
            non_ok_of[r.tag("name")] = non_ok_of.get(r.tag("name"), 0.0) + r.values.get("count", 0.0)
    tables = [
        _table(
            "Per method (name tag)",
            ("Method", "Calls", "Non-OK", *heads),
            [
                (
                    r.tag("name") or DASH,
                    _fmt(m, "count", r.values),
                    fmt_int(non_ok_of.get(r.tag("name"), 0.0)),
                    *(_fmt(m, s, r.values) for s in stats),
                )
                for r in _busiest(p.get(GRPC_DURATION, "name"))
            ],
            1,
        ),
        _table(
            "By status code",
            ("Status", "Calls", *heads),
            [
                (
                    grpc_status(r.tag("status")),
                    _fmt(m, "count", r.values),
                    *(_fmt(m, s, r.values) for s in stats),
                )
                for r in _busiest(by_status)
            ],
            1,
        ),
        _table(
            "Per method and status",
            ("Method", "Status", "Calls", "avg", "p95", "max"),
            [
                (
                    r.tag("name") or DASH,
                    grpc_status(r.tag("status")),
                    _fmt(m, "count", r.values),
                    *(_fmt(m, s, r.values) for s in ("avg", "p(95)", "max")),
                )
                for r in _busiest(by_name_status)
            ],
            2,
        ),
    ]
    if streams is not None:
        sent, received = p.get("grpc_streams_msgs_sent", "name"), p.get("grpc_streams_msgs_received", "name")

        def count(b: Breakdown | None, name: str) -> str:
            row = b.row(name=name) if b is not None else None
            return fmt_int(row.values.get("count")) if row is not None else "0"

        tables.append(
            _table(
                "Streams per method",
                ("Method", "Streams", "Messages sent", "Messages received"),
                [
                    (
                        r.tag("name") or DASH,
                        fmt_int(r.values.get("count")),
                        count(sent, r.tag("name")),
                        count(received, r.tag("name")),
                    )
                    for r in _busiest(p.get("grpc_streams", "name"))
                ],
                1,
            )
        )
    intro = (
        "k6/net/grpc calls: grpc_req_duration per method (the name tag) and by status code "
        "(k6's status tag, 0 = OK), and the streams' messages. Figures are k6's for each "
        "submetric, e.g. grpc_req_duration{name:…,status:…}."
    )
    return Section("grpc", TITLES["grpc"], intro, figures, [t for t in tables if t.rows])


# --------------------------------------------------------------------------- WebSockets


def _ws(results: RunResults) -> Section:
    p, v = results.protocols, results.metric
    figures = [
        Figure("Sessions", _fmt(v("ws_sessions"), "count"), _fmt(v("ws_sessions"), "rate")),
        Figure("p95 ws_connecting", _fmt(v("ws_connecting"), "p(95)")),
        Figure("p50 ws_session_duration", _fmt(v("ws_session_duration"), "med")),
        Figure("p95 ws_session_duration", _fmt(v("ws_session_duration"), "p(95)")),
        Figure("Messages sent", _fmt(v("ws_msgs_sent"), "count"), _fmt(v("ws_msgs_sent"), "rate")),
        Figure(
            "Messages received", _fmt(v("ws_msgs_received"), "count"), _fmt(v("ws_msgs_received"), "rate")
        ),
        Figure(
            "Pings (ws_ping)",
            _fmt(v("ws_ping"), "count"),
            f"p95 {_fmt(v('ws_ping'), 'p(95)')}" if v("ws_ping") is not None else "",
        ),
    ]
    urls = sorted(
        {r.tag("url") for b in (p.get(m, "url") for m in WS_METRICS) if b is not None for r in b.rows}
    )

    def cell(metric: str, key: str, url: str) -> str:
        b = p.get(metric, "url")
        row = b.row(url=url) if b is not None else None
        if row is None:
            return "0" if key == "count" else DASH
        return _fmt(v(metric), key, row.values)

    rows = [
        (
            url or DASH,
            cell("ws_sessions", "count", url),
            cell("ws_connecting", "avg", url),
            cell("ws_connecting", "p(95)", url),
            cell("ws_session_duration", "avg", url),
            cell("ws_session_duration", "p(95)", url),
            cell("ws_msgs_sent", "count", url),
            cell("ws_msgs_received", "count", url),
            cell("ws_ping", "count", url),
            cell("ws_ping", "p(95)", url),
        )
        for url in urls
    ]
    table = _table(
        "Per URL",
        (
            "URL",
            "Sessions",
            "Connecting avg",
            "Connecting p95",
            "Session avg",
            "Session p95",
            "Sent",
            "Received",
            "Pings",
            "Ping p95",
        ),
        rows,
        1,
    )
    intro = (
        "k6/ws and k6/websockets: time to connect (ws_connecting), how long sessions lasted "
        "(ws_session_duration), messages sent and received, and ping round trips (ws_ping), per URL."
    )
    return Section("ws", TITLES["ws"], intro, figures, [table] if rows else [])


# --------------------------------------------------------------------------- browser


def _vital_value(metric: str, value: float | None) -> str:
    if value is None:
        return DASH
    return fmt_ms(value) if WEB_VITALS[metric][3] == "ms" else f"{value:.3f}"


def _browser(results: RunResults) -> Section:
    p, v = results.protocols, results.metric
    figures = []
    for metric, (label, good, poor, unit) in WEB_VITALS.items():
        m = v(metric)
        if m is None or not m.values.get("count"):
            continue
        p75 = m.values.get(P75)
        band = BAND_WORDS[vital_band(metric, p75)] if p75 is not None else ""
        figures.append(Figure(f"{label} p75", _vital_value(metric, p75), band))
    req, failed = v("browser_http_req_duration"), v("browser_http_req_failed")
    if req is not None:
        figures += [
            Figure("Browser requests", _fmt(req, "count")),
            Figure("p95 browser_http_req_duration", _fmt(req, "p(95)")),
        ]
    if failed is not None:
        figures.append(Figure("Failed browser requests", _fmt(failed, "passes"), _fmt(failed, "value")))
    figures.append(Figure("Iterations", _fmt(v("iterations"), "count"), _fmt(v("iterations"), "rate")))
    rows: list[tuple[str, ...]] = []
    for metric, (label, good, poor, unit) in WEB_VITALS.items():
        by_rating, by_url = p.get(metric, "url", "rating"), p.get(metric, "url")
        for r in by_url.rows if by_url is not None else ():
            url = r.tag("url")
            p75 = r.values.get(P75)

            def rated(rating: str, url: str = url) -> str:
                got = by_rating.row(url=url, rating=rating) if by_rating is not None else None
                return fmt_int(got.values.get("count")) if got is not None else "0"

            rows.append(
                (
                    url or DASH,
                    label,
                    fmt_int(r.values.get("count")),
                    _vital_value(metric, p75),
                    BAND_WORDS[vital_band(metric, p75)] if p75 is not None else DASH,
                    *(rated(x) for x in RATINGS),
                    _vital_value(metric, r.values.get("max")),
                )
            )
    rows.sort(key=lambda row: row[0])  # page by page, each page's vitals in WEB_VITALS' order
    bands = "; ".join(
        f"{label} ≤ {_vital_value(m, good)} good, > {_vital_value(m, poor)} poor"
        for m, (label, good, poor, _) in WEB_VITALS.items()
    )
    tables = [
        _table(
            "Web Vitals per page",
            (
                "Page URL",
                "Vital",
                "Samples",
                "p75",
                "Google band (p75)",
                "good",
                "needs improvement",
                "poor",
                "max",
            ),
            rows,
            2,
        ),
    ]
    dur, fail_by_url = p.get("browser_http_req_duration", "url"), p.get("browser_http_req_failed", "url")

    def failures(url: str) -> str:
        row = fail_by_url.row(url=url) if fail_by_url is not None else None
        return fmt_int(row.values.get("passes")) if row is not None else DASH

    tables.append(
        _table(
            "Browser requests per URL (browser_http_req_duration)",
            ("URL", "Requests", "Failed", "avg", "p95", "max"),
            [
                (
                    r.tag("url") or DASH,
                    _fmt(req, "count", r.values),
                    failures(r.tag("url")),
                    *(_fmt(req, s, r.values) for s in ("avg", "p(95)", "max")),
                )
                for r in _busiest(dur)
            ],
            1,
        )
    )
    intro = (
        "k6/browser: every Web Vital per page, its 75th percentile (as Google judges a page) "
        f"in Google's bands ({bands}), the samples k6 rated in each band, and the page's own "
        "requests (browser_http_req_duration, browser_http_req_failed)."
    )
    return Section("browser", TITLES["browser"], intro, figures, [t for t in tables if t.rows])


# --------------------------------------------------------------------------- custom metrics

_KEYS = {
    "counter": (("count", "Count"), ("rate", "Rate")),
    "gauge": (("value", "Last value"), ("min", "Min"), ("max", "Max")),
    "rate": (("value", "Rate"), ("passes", "Non-zero"), ("fails", "Zero")),
    "trend": (
        ("count", "Samples"),
        ("avg", "avg"),
        ("min", "min"),
        ("med", "p50"),
        ("p(90)", "p90"),
        ("p(95)", "p95"),
        ("p(99)", "p99"),
        ("max", "max"),
    ),
}


def _summary_text(m: MetricSummary) -> str:
    keys = _KEYS.get(m.type, ())
    return " · ".join(f"{label} {_fmt(m, key)}" for key, label in keys if key in m.values) or DASH


def _custom(results: RunResults) -> Section:
    p = results.protocols
    overview = []
    tables = []
    for name in p.custom:
        m = results.metric(name)
        if m is None:
            continue
        overview.append(
            (
                name,
                m.type + (" (time)" if m.type == "trend" and m.contains == "time" else ""),
                _summary_text(m),
            )
        )
        keys = _KEYS.get(m.type, ())
        for b in p.of(name):
            tables.append(
                _table(
                    f"{name} ({m.type}) by {', '.join(b.by)}",
                    (*b.by, *(label for _, label in keys)),
                    [
                        (*(r.tag(k) or DASH for k in b.by), *(_fmt(m, key, r.values) for key, _ in keys))
                        for r in sorted(b.rows, key=lambda r: r.tags)
                    ],
                    len(b.by),
                    url_columns=range(len(b.by)),
                )
            )
    intro = (
        "Metrics the script defined (Counter, Gauge, Rate, Trend), each with k6's figures for its "
        "type, and per tag where its samples carry tags. A Counter's rate is its count over the "
        "test-run duration, as k6 gives it."
    )
    first = _table("Overview", ("Metric", "Type", "Figures"), overview, 3)
    return Section("custom", TITLES["custom"], intro, [], [first, *tables])


_BUILDERS: dict[str, Callable[[RunResults], Section]] = {"grpc": _grpc, "ws": _ws, "browser": _browser}


def sections(results: RunResults) -> list[Section]:
    """The run's protocol sections (not HTTP's: the reports have those), the lead
    protocol's first, custom metrics last."""
    out = [_BUILDERS[proto](results) for proto in results.protocols.used if proto in _BUILDERS]
    if results.protocols.custom:
        out.append(_custom(results))
    return out


def leads_with_http(results: RunResults) -> bool:
    """Whether the reports lead with HTTP (it made requests, or no other protocol ran)."""
    lead = results.protocols.lead
    return lead in (None, "http")


def headline(results: RunResults) -> list[Figure]:
    """The figures a reader looks at first: HTTP's, or the lead protocol's figures and
    the run's own (iterations, VUs, data, duration, checks) when it made no HTTP request."""
    if leads_with_http(results):
        return http_headline(results)
    lead = sections(results)[0]
    v = results.value
    source = "k6 summary" if results.duration_source == "k6-summary" else "first-to-last sample span"
    data = "browser_" if lead.sid == "browser" else ""
    iterations = Figure(
        "Iterations",
        fmt_int(v("iterations", "count")),
        f"{fmt_num(v('iterations', 'rate'))}/s" if v("iterations", "rate") is not None else "",
    )
    figures = [
        *lead.figures,
        *([iterations] if lead.sid != "browser" else []),  # the browser's figures have them
        Figure("VUs max", fmt_int(v("vus_max", "max", v("vus_max", "value", v("vus", "max"))))),
        # a browser's traffic is counted apart from k6's own (HTTP) data_sent/received
        Figure("Data sent", fmt_bytes(v(f"{data}data_sent", "count"))),
        Figure("Data received", fmt_bytes(v(f"{data}data_received", "count"))),
        Figure("Duration", fmt_duration(results.duration_s), f"from {source}"),
    ]
    checks = rate_value(results, "checks")
    if checks is not None:
        figures.append(Figure("Checks passed", fmt_pct(checks)))
    return figures


def activity(results: RunResults) -> str:
    """What the run did, in a few words: "49 gRPC calls", "12 requests"."""
    lead = results.protocols.lead
    v = results.value
    if lead == "grpc":
        return f"{fmt_int(v(GRPC_DURATION, 'count'))} gRPC calls"
    if lead == "ws":
        return f"{fmt_int(v('ws_sessions', 'count'))} WebSocket sessions"
    if lead == "browser":
        return f"{fmt_int(v('iterations', 'count'))} browser iterations"
    return f"{fmt_int(v('http_reqs', 'count'))} requests"


def terminal_lines(results: RunResults) -> list[str]:
    """One line per protocol besides HTTP, and one per custom metric, for the terminal."""
    out = []
    for s in sections(results):
        if s.sid == "custom":
            for name in results.protocols.custom:
                m = results.metric(name)
                if m is not None:  # as k6's summary line for it
                    figures = k6format.metric_figures(m.values, m.type, m.contains, results.trend_stats)
                    out.append(f"{name} ({m.type}): {figures}")
            continue
        shown = [f for f in s.figures if f.label != "Iterations"][:7]
        out.append(f"{s.title}: " + " · ".join(f"{f.label} {f.value}" for f in shown))
    return out


__all__ = [
    "GRPC_CODES",
    "Section",
    "Table",
    "activity",
    "grpc_status",
    "headline",
    "leads_with_http",
    "sections",
    "terminal_lines",
]
