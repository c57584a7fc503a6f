"""``report.html``: one self-contained page with inline SVG charts and no
JavaScript at all, readable offline, as a mail attachment and in Jenkins' HTML
publisher under its default CSP
(``sandbox; default-src 'none'; img-src 'self'; style-src 'self';``).

That CSP blocks the inline ``<style>`` below, so the page is built to read
well without it: semantic tables (with the ``border`` attribute, which is not
CSS), text status marks, and charts/verdict badge drawn with SVG presentation
attributes. The stylesheet only makes it prettier when no CSP applies.

Every user-controlled string goes through :func:`esc`; tables are capped so a
run with thousands of endpoints or failing URLs still gives a small page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from novaload.reports import svg
from novaload.reports.base import ReportContext, write_atomic
from novaload.reports.figures import (
    DASH,
    fmt_apdex,
    fmt_bytes,
    fmt_int,
    fmt_ms,
    fmt_num,
    fmt_observed,
    fmt_pct,
    headline,
    threshold_unit,
    window_note,
    with_columns,
)
from novaload.reports.recommendations import recommend
from novaload.results.model import RunResults, ThresholdResult
from novaload.runfolder import REPORT_HTML

ENDPOINT_ROWS = 100
STATUS_ROWS = 50
ERROR_ROWS = 50
FAILING_URL_ROWS = 25
GROUP_ROWS = 100
CHECK_ROWS = 200
SCENARIO_ROWS = 50
THRESHOLD_ROWS = 500
HISTOGRAM_BARS = 48
SLO_CHARTS = 10
ENDPOINT_CHARTS = 6  # endpoints with their own histogram and percentile charts  # windowed thresholds charted (all are in the thresholds table)
ENDPOINT_COLS = ("name", "requests", "failures", "error_rate", "rps", "avg", "min", "med", "p90", "p95", "p99", "max")
CELL_CHARS = 300  # a 10 kB URL would otherwise make a table unreadable

VERDICT_COLORS = {"passed": "#15803d", "failed": "#b91c1c", "no data": "#6b7280"}
OTHER_VERDICT_COLOR = "#b45309"
STATUS_MARK = {"passed": "✔ passed", "failed": "✘ failed", "no data": "◌ no data"}
# Series colours; the browser test counts pixels of exactly these.
C_RPS = "#2563eb"
C_P50 = "#0d9488"
C_P95 = "#d97706"
C_P99 = "#dc2626"
C_ERR = "#be123c"
C_VUS = "#7c3aed"
C_HIST = "#4f46e5"
C_SLO = "#9333ea"  # a windowed threshold's value per window
C_BREACH = "#fecaca"  # breached windows, shaded
C_GEN_CPU = "#0891b2"  # k6's own CPU use
C_GEN_DEMAND = "#ea580c"  # k6's CPU use plus run-queue wait
C_GEN_LIMIT = "#9ca3af"  # the saturation criterion
C_GEN_MEM = "#65a30d"

CSS = """
:root{--ink:#111827;--mute:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
header{display:flex;align-items:center;gap:20px;flex-wrap:wrap;margin-bottom:8px}
header h1{font-size:24px;margin:0;flex:1 1 auto}
.sub{color:var(--mute);margin:0 0 16px}
nav{margin:0 0 20px;font-size:13px}nav a{color:#2563eb;margin-right:14px;text-decoration:none}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 12px}h3{font-size:14px;margin:18px 0 8px;color:#374151}
table{border-collapse:collapse;width:100%;font-size:13px;border:0}
th,td{padding:6px 10px;border:0;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600;color:#374151;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.u{word-break:break-all}
tbody tr:hover{background:#f9fafb}
.st-passed{color:#15803d;font-weight:600}.st-failed{color:#b91c1c;font-weight:600}
.st-no-data{color:#6b7280;font-weight:600}
td.bad{color:#b91c1c;font-weight:600}
dl.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin:0}
dl.kpis div{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
dl.kpis dt{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
dl.kpis dd{margin:2px 0 0;font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
dl.kpis dd small{display:block;font-size:12px;color:var(--mute);font-weight:400}
figure{margin:0 0 14px}figure svg{max-width:100%;height:auto;display:block}
ul.recs{margin:0;padding-left:0;list-style:none}
ul.recs li{padding:8px 12px;margin:0 0 8px;border-left:4px solid #9ca3af;background:#f9fafb}
ul.recs li.critical{border-color:#b91c1c}ul.recs li.warning{border-color:#d97706}
ul.recs li.info{border-color:#2563eb}
.more{color:var(--mute);font-size:12px;margin:6px 0 0}
dl.meta{display:grid;grid-template-columns:200px 1fr;gap:4px 16px;margin:0}
dl.meta dt{color:var(--mute)}dl.meta dd{margin:0;word-break:break-all}
footer{color:var(--mute);font-size:12px;text-align:center}
"""


def esc(value: object) -> str:
    """HTML-escape any value (quotes too: it may land in an attribute)."""
    return html.escape(str(value), quote=True)


def _cut(value: object, limit: int = CELL_CHARS) -> str:
    s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _ts(value: datetime | None) -> str:
    return DASH if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


class Cell:
    """A table cell: text (escaped on output) plus a CSS class (n = numeric, u = URL-like)."""

    __slots__ = ("cls", "text")

    def __init__(self, text: object, cls: str = "") -> None:
        self.text, self.cls = text, cls


def num(text: str) -> Cell:
    return Cell(text, "n")


def table(headers: Sequence[str | Cell], rows: Iterable[Sequence[object]], *, total: int, shown: int,
          more: str = "") -> str:
    """An HTML table; ``total``/``shown`` add an "N more" note when capped."""
    def cell(tag: str, c: object) -> str:
        if isinstance(c, Cell):
            attr = f' class="{c.cls}"' if c.cls else ""
            if c.cls == "n":  # the align attribute is not CSS: numbers stay aligned under a CSP
                attr += ' align="right"'
            return f"<{tag}{attr}>{esc(_cut(c.text))}</{tag}>"
        return f"<{tag}>{esc(_cut(c))}</{tag}>"

    head = "".join(cell("th", h) for h in headers)
    body = "\n".join("<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows)
    out = f'<table border="1" cellspacing="0" cellpadding="4"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'
    if total > shown:
        out += f'<p class="more">{total - shown:,} more not shown{esc(more)}.</p>'
    return out


def _top(df: pd.DataFrame, by: str, n: int) -> pd.DataFrame:
    if df.empty or by not in df.columns:
        return df.head(n)
    return df.nlargest(n, by, keep="first") if len(df) > n else df.sort_values(by, ascending=False, kind="stable")


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


# --- sections -------------------------------------------------------------------------------

def _verdict(results: RunResults, context: ReportContext) -> str:
    counts = {s: sum(1 for t in results.thresholds if t.status == s) for s in ("passed", "failed", "no data")}
    parts = [f"Thresholds: {counts['passed']} passed, {counts['failed']} failed, {counts['no data']} without data."]
    if context.exit_code is not None:
        parts.append(f"k6 exit code: {context.exit_code}.")
    parts.append(f"Duration {fmt_num(results.duration_s, 1)} s, "
                 f"{fmt_int(results.value('http_reqs', 'count'))} requests.")
    gen = results.load_generator
    if gen is not None and not gen.trustworthy:
        parts.append("Load generator UNTRUSTWORTHY (see Load generator).")
    body = f"<p>{esc(' '.join(parts))}</p>"
    if context.k6_abort:
        body = f"<p><strong>{esc(context.k6_abort)}</strong></p>" + body
    notable = [t for t in results.thresholds if t.status != "passed"][:10]
    if notable:  # the reason for the verdict, before any detail
        items = "".join(
            f"<li><strong>{esc(STATUS_MARK[t.status])}</strong> {esc(t.metric)}: {esc(t.expression)} "
            + (f"(observed {esc(fmt_observed(t.observed, threshold_unit(results, t)))})"
               if t.observed is not None and not t.no_data else "(no samples reached this metric)")
            + (f" {esc(window_note(t))}" if t.window else "") + "</li>" for t in notable)
        body += f"<ul>{items}</ul>"
    return _section("verdict", f"Verdict: {context.verdict}", body)


def _thresholds(results: RunResults) -> str:
    ths = results.thresholds
    if not ths:
        return _section("thresholds", "Thresholds", "<p>No thresholds were defined.</p>")
    shown = ths[:THRESHOLD_ROWS]
    rows = []
    for t in shown:
        unit = threshold_unit(results, t)
        status = Cell(STATUS_MARK[t.status], "st-" + t.status.replace(" ", "-"))
        rows.append((Cell(t.metric, "u"), t.expression, num(fmt_observed(t.observed, unit)),
                     num(f"{t.operator} {fmt_observed(t.limit, unit)}"), status,
                     "abort" if t.abort_on_fail else "", window_note(t)))
    headers = ("Metric", "Threshold", num("Observed"), num("Limit"), "Status", "On fail", "Windows")
    return _section("thresholds", "Thresholds", table(headers, rows, total=len(ths), shown=len(shown)))


def _figures(results: RunResults) -> str:
    items = []
    for f in headline(results):
        note = f"<small> ({esc(f.note)})</small>" if f.note else ""
        items.append(f"<div><dt>{esc(f.label)}</dt><dd>{esc(f.value)}{note}</dd></div>")
    return _section("figures", "Headline figures", '<dl class="kpis">' + "\n".join(items) + "</dl>")


def _recommendations(results: RunResults) -> str:
    recs = recommend(results)
    if not recs:
        body = "<p>Nothing stands out in this run's data.</p>"
    else:
        body = '<ul class="recs">' + "\n".join(
            f'<li class="{r.severity}"><strong>[{esc(r.severity)}] {esc(r.title)}</strong><br>{esc(r.detail)}</li>'
            for r in recs) + "</ul>"
    return _section("recommendations", "Recommendations", body)


def _col(df: pd.DataFrame, name: str) -> list[float]:
    if name not in df.columns:
        return []
    return pd.to_numeric(df[name], errors="coerce").astype(float).tolist()


def _complete_windows(results: RunResults) -> tuple[pd.DataFrame, bool]:
    """The time series without a last window that the run covered less than half of.

    Its per-second rates divide a fraction of a second's requests by a whole
    window and would show a drop to ~0 that never happened.
    """
    ts, window = results.timeseries, results.window_s or 1.0
    if ts.empty or "t" not in ts.columns or results.started_at is None or results.ended_at is None:
        return ts, False
    span = (results.ended_at - results.started_at).total_seconds()
    keep = pd.to_numeric(ts["t"], errors="coerce") <= span - window / 2
    if keep.all() or not keep.any():
        return ts, False
    return ts[keep], True


def _charts(results: RunResults) -> str:
    ts, dropped = _complete_windows(results)
    t = _col(ts, "t")
    window = results.window_s or 1.0
    failures = [f / window for f in _col(ts, "failures")] if "failures" in ts.columns else []

    def series(label: str, color: str, ys: list[float]) -> list[svg.Series]:
        return [svg.Series(label, color, t, ys)] if ys and len(ys) == len(t) else []

    def ms(v: float) -> str:
        return f"{v:,.6g} ms" if v < 10_000 else f"{v / 1000:,.6g} s"

    windowed = [th for th in results.thresholds if th.window is not None]
    latency_breaches = [b for th in windowed if th.selector.metric == "http_req_duration" for b in th.breaches]
    charts = [
        svg.line_chart("Throughput", series("requests/s", C_RPS, _col(ts, "rps")), y_label="requests/s"),
        svg.line_chart("Latency percentiles (per window)"
                       + (" · shaded: breached SLO windows" if latency_breaches else ""),
                       series("p50", C_P50, _col(ts, "p50")) + series("p95", C_P95, _col(ts, "p95"))
                       + series("p99", C_P99, _col(ts, "p99")), y_label="latency", y_fmt=ms,
                       bands=latency_breaches, band_color=C_BREACH),
        svg.line_chart("Errors", series("failed requests/s", C_ERR, failures), y_label="failed/s"),
        svg.line_chart("Virtual users", series("VUs", C_VUS, _col(ts, "vus")), y_label="VUs"),
    ]
    charts += [_slo_chart(results, th) for th in windowed[:SLO_CHARTS]]
    note = (f'<p class="more">One point per {fmt_num(window, 3).rstrip("0").rstrip(".")} s window; '
            f"long runs are reduced to at most {svg.MAX_POINTS} points per line, keeping every "
            "window's minimum and maximum."
            + (" The last window, which the run covered for less than half its length, is left out "
               "(it is in timeseries.csv)." if dropped else "") + "</p>")
    return _section("charts", "Over time", "\n".join(f"<figure>{c}</figure>" for c in charts) + note)


def _generator(results: RunResults) -> str:
    """Load generator: the verdict with its reasons, k6's CPU (used, used + waited for) as a
    share of its cores against the criterion, and its memory."""
    gen = results.load_generator
    if gen is None:
        return ""
    status = "✔ trustworthy" if gen.trustworthy else "✘ UNTRUSTWORTHY"
    body = f"<p><strong>{esc(status)}</strong>"
    if gen.trustworthy:
        body += esc(": none of the saturation criteria was met.") + "</p>"
    else:
        body += esc(": latencies and rates of this run may describe k6, not the system under test.") + "</p>"
        body += "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in gen.reasons) + "</ul>"
    c = gen.criteria
    crit = (f"Criteria: CPU used or waited for ≥ {c.cpu_percent:g} % of k6's share for ≥ {c.cpu_seconds:g} s; "
            f"more than {c.max_dropped_iterations} dropped iterations"
            + ("; an arrival-rate executor at its VU ceiling" if c.vu_ceiling else "") + ".")
    share = gen.cpu_share
    rows = [
        ("CPU share (cores k6 may use)", DASH if share is None else f"{share:g}"),
        ("Peak CPU used, % of share", fmt_num(gen.peak_cpu_of_share, 1)),
        ("Peak CPU used + waited for, % of share", fmt_num(gen.peak_demand_of_share, 1)),
        ("Longest stretch at or above the CPU criterion", f"{fmt_num(gen.longest_saturated_s, 1)} s"),
        ("Peak memory (RSS)", fmt_bytes(gen.peak_rss_bytes)),
        ("Dropped iterations", fmt_int(gen.dropped_iterations)),
        ("VU ceilings reached", ", ".join(f"{v.scenario} ({v.executor}, {v.max_vus} VUs)" for v in gen.vu_ceilings)
         or "none"),
    ]
    body += table(("Figure", num("Value")), [(k, num(v)) for k, v in rows], total=len(rows), shown=len(rows))
    body += f'<p class="more">{esc(crit)}</p>'
    for note in gen.notes:
        body += f'<p class="more">{esc(note)}</p>'
    if gen.samples:
        instances = sorted({smp.instance for smp in gen.samples})
        cpu: list[svg.Series] = []
        mem: list[svg.Series] = []
        for i in instances:
            mine = [smp for smp in gen.samples if smp.instance == i]
            tag = f" ({i})" if len(instances) > 1 else ""
            xs = [smp.t for smp in mine]
            cpu.append(svg.Series(f"CPU used{tag}", C_GEN_CPU, xs, [smp.cpu_of_share for smp in mine]))
            cpu.append(svg.Series(f"used + waited for{tag}", C_GEN_DEMAND, xs, [smp.demand_of_share for smp in mine]))
            mem.append(svg.Series(f"RSS{tag}", C_GEN_MEM, xs,
                                  [math.nan if smp.rss_bytes is None else smp.rss_bytes / 1e6 for smp in mine]))
        xs_all = [smp.t for smp in gen.samples]
        cpu.append(svg.Series(f"criterion {c.cpu_percent:g} %", C_GEN_LIMIT, [min(xs_all), max(xs_all)],
                              [c.cpu_percent, c.cpu_percent]))
        charts = [
            svg.line_chart("k6 CPU, % of its share", cpu, y_label="% of share", y_fmt=lambda v: f"{v:,.0f} %"),
            svg.line_chart("k6 memory (RSS)", mem, y_label="MB", y_fmt=lambda v: f"{v:,.6g} MB"),
        ]
    else:
        charts = []
    ts = results.timeseries
    if gen.dropped_iterations and "dropped_iterations" in ts.columns:
        window = results.window_s or 1.0
        dropped = [d / window for d in _col(ts, "dropped_iterations")]
        charts.append(svg.line_chart("Dropped iterations (when k6 fell behind the arrival rate)",
                                     [svg.Series("dropped/s", C_ERR, _col(ts, "t"), dropped)],
                                     y_label="dropped/s"))
    if charts:
        body += "\n".join(f"<figure>{ch}</figure>" for ch in charts)
    return _section("generator", "Load generator", body)


def _slo_chart(results: RunResults, th: ThresholdResult) -> str:
    """A windowed threshold over time: its value in each window judged (at the window's
    middle), the limit, and the breached stretches shaded."""
    unit = threshold_unit(results, th)
    mids = [(w.t0 + w.t1) / 2 for w in th.windows]
    vals = [math.nan if w.observed is None else w.observed for w in th.windows]
    series = [svg.Series(f"{th.aggregation} per window ({th.window})", C_SLO, mids, vals)]
    if mids:
        series.append(svg.Series(f"limit {th.operator} {th.limit:g}", C_GEN_LIMIT, [min(mids), max(mids)],
                                 [th.limit, th.limit]))
    title = f"SLO {th.metric}: {th.expression} · {th.status}"
    def y_fmt(v: float) -> str:  # axis labels stay short: a ratio as a percentage
        return f"{v * 100:,.4g} %" if unit == "ratio" else fmt_observed(v, unit)

    return svg.line_chart(title, series, y_label=unit or th.aggregation, y_fmt=y_fmt, bands=th.breaches,
                          band_color=C_BREACH)


def _endpoints(results: RunResults) -> str:
    ep = results.endpoints
    if ep.empty:
        return _section("endpoints", "Endpoints", "<p>No HTTP requests.</p>")
    top = with_columns(_top(ep, "requests", ENDPOINT_ROWS), *ENDPOINT_COLS, "apdex", "apdex_t_ms")
    rows = [(Cell(r.name, "u"), num(fmt_int(r.requests)), num(fmt_int(r.failures)), num(fmt_pct(r.error_rate)),
             num(fmt_num(r.rps)), num(fmt_ms(r.avg)), num(fmt_ms(r.med)), num(fmt_ms(r.p90)),
             num(fmt_ms(r.p95)), num(fmt_ms(r.p99)), num(fmt_ms(r.max)), num(fmt_apdex(r.apdex, r.apdex_t_ms)))
            for r in top.itertuples(index=False)]
    headers = ("Endpoint (name tag)", num("Requests"), num("Failed"), num("Error rate"), num("req/s"),
               num("avg"), num("p50"), num("p90"), num("p95"), num("p99"), num("max"), num("Apdex (T)"))
    return _section("endpoints", "Endpoints",
                    table(headers, rows, total=len(ep), shown=len(top), more=" (all endpoints are in endpoints.csv)"))


def _errors(results: RunResults) -> str:
    parts = []
    st = results.statuses
    if not st.empty:
        top = with_columns(_top(st, "requests", STATUS_ROWS), "method", "status", "requests")
        rows: list[tuple[object, ...]] = [
            (r.method, r.status, num(fmt_int(r.requests))) for r in top.itertuples(index=False)
        ]
        parts.append("<h3>Responses by status</h3>" + table(("Method", "Status", num("Requests")), rows,
                                                               total=len(st), shown=len(top)))
    er = results.errors
    if not er.empty:
        top = with_columns(_top(er, "requests", ERROR_ROWS), "status", "error_code", "error", "requests")
        rows = [(r.status, r.error_code, Cell(r.error, "u"), num(fmt_int(r.requests)))
                for r in top.itertuples(index=False)]
        parts.append("<h3>Errors</h3>" + table(("Status", "Error code", "Error", num("Requests")), rows,
                                                total=len(er), shown=len(top)))
    fu = results.failing_urls
    if not fu.empty:
        top = with_columns(_top(fu, "requests", FAILING_URL_ROWS), "url", "name", "method", "status", "requests")
        rows = [(Cell(r.url, "u"), Cell(r.name, "u"), r.method, r.status, num(fmt_int(r.requests)))
                for r in top.itertuples(index=False)]
        parts.append("<h3>Top failing URLs</h3>" + table(("URL", "Name", "Method", "Status", num("Failed")),
                                                          rows, total=len(fu), shown=len(top)))
    body = "\n".join(parts) if parts else "<p>No responses recorded.</p>"
    if er.empty and not st.empty:
        body += "<p>No failed requests.</p>"
    return _section("errors", "Statuses and errors", body)


def _group_label(group: object) -> str:
    return "(root)" if not group else str(group)


def _checks(results: RunResults) -> str:
    parts = []
    gr = results.groups
    if not gr.empty:
        top = with_columns(_top(gr, "requests", GROUP_ROWS), "group", "requests", "failures", "avg", "p95",
                           "group_duration_avg")
        rows = [(Cell(_group_label(r.group), "u"), num(fmt_int(r.requests)), num(fmt_int(r.failures)),
                 num(fmt_ms(r.avg)), num(fmt_ms(r.p95)), num(fmt_ms(r.group_duration_avg)))
                for r in top.itertuples(index=False)]
        parts.append("<h3>Groups</h3>" + table(
            ("Group", num("Requests"), num("Failed"), num("avg"), num("p95"), num("group duration avg")),
            rows, total=len(gr), shown=len(top)))
    ch = results.checks
    if not ch.empty:
        ch = with_columns(ch, "group", "check", "passes", "fails", "rate")
        ordered = ch.sort_values(["fails", "group", "check"], ascending=[False, True, True], kind="stable")
        top = ordered.head(CHECK_ROWS)
        rows = [(Cell(_group_label(r.group), "u"), Cell(r.check, "u"), num(fmt_int(r.passes)),
                 num(fmt_int(r.fails)), num(fmt_pct(r.rate)),
                 Cell(STATUS_MARK["failed" if r.fails else "passed"], "st-failed" if r.fails else "st-passed"))
                for r in top.itertuples(index=False)]
        parts.append("<h3>Checks</h3>" + table(
            ("Group", "Check", num("Passes"), num("Fails"), num("Pass rate"), "Status"),
            rows, total=len(ch), shown=len(top)))
    return _section("checks", "Checks and groups", "\n".join(parts) if parts else "<p>No checks or groups.</p>")


def _merge_buckets(le: list[float], counts: list[float], max_bars: int) -> tuple[list[float], list[float]]:
    """Join neighbouring histogram buckets so at most ``max_bars`` remain (upper bounds kept)."""
    if len(le) <= max_bars:
        return le, counts
    k = math.ceil(len(le) / max_bars)
    return ([le[min(i + k, len(le)) - 1] for i in range(0, len(le), k)],
            [sum(counts[i:i + k]) for i in range(0, len(counts), k)])


def _bucket_label(le: float) -> str:
    if math.isinf(le):
        return "more"
    return f"≤{le / 1000:.3g}s" if le >= 1000 else f"≤{le:.3g}ms"


def _distribution(results: RunResults) -> str:
    h = results.histogram
    le, counts = _col(h, "le_ms"), _col(h, "requests")
    while counts and counts[-1] == 0:  # trailing empty buckets only stretch the axis
        le, counts = le[:-1], counts[:-1]
    le, counts = _merge_buckets(le, counts, HISTOGRAM_BARS)
    chart = svg.bar_chart("Latency distribution (http_req_duration)", [_bucket_label(x) for x in le], counts,
                          color=C_HIST, y_label="requests", x_label="bucket upper bound (hover a bar for its count)",
                          max_labels=12)
    body = f"<figure>{chart}</figure>" + _endpoint_distributions(results, len(counts))
    return _section("distribution", "Latency distribution", body)


def _endpoint_distributions(results: RunResults, buckets: int) -> str:
    """For the busiest endpoints: a histogram over the run's buckets (so endpoints compare
    bucket by bucket) and their p50/p95/p99 per window."""
    hist, lat, ep = results.endpoint_histograms, results.endpoint_latency, results.endpoints
    if hist.empty or ep.empty or buckets == 0:
        return ""
    small = svg.Frame(height=190)
    names = _top(ep, "requests", ENDPOINT_CHARTS)["name"].tolist()
    parts = [f"<h3>Per endpoint (the {len(names)} busiest; every endpoint is in endpoints.csv)</h3>"]

    def ms(v: float) -> str:
        return f"{v:,.6g} ms" if v < 10_000 else f"{v / 1000:,.6g} s"

    for name in names:
        mine = hist[hist["name"] == name]
        le, counts = _merge_buckets(_col(mine, "le_ms")[:buckets], _col(mine, "requests")[:buckets], HISTOGRAM_BARS)
        parts.append("<figure>" + svg.bar_chart(
            f"{name}: distribution", [_bucket_label(x) for x in le], counts, color=C_HIST, y_label="requests",
            x_label="bucket upper bound", max_labels=12, frame=small) + "</figure>")
        over = lat[lat["name"] == name] if not lat.empty else lat
        t = _col(over, "t")
        series = [svg.Series(p, color, t, _col(over, p)) for p, color in (("p50", C_P50), ("p95", C_P95),
                                                                         ("p99", C_P99)) if t]
        parts.append("<figure>" + svg.line_chart(f"{name}: percentiles per window", series, y_label="latency",
                                                 y_fmt=ms, frame=small) + "</figure>")
    return "\n".join(parts)


def _scenarios(results: RunResults) -> str:
    sc = results.scenarios
    if sc.empty:
        return ""
    top = with_columns(_top(sc, "requests", SCENARIO_ROWS), "scenario", "requests", "failures", "iterations",
                       "avg", "p95", "p99")
    rows = [(Cell(r.scenario or "(setup/teardown)", "u"), num(fmt_int(r.requests)), num(fmt_int(r.failures)),
             num(fmt_int(r.iterations)), num(fmt_ms(r.avg)), num(fmt_ms(r.p95)), num(fmt_ms(r.p99)))
            for r in top.itertuples(index=False)]
    headers = ("Scenario", num("Requests"), num("Failed"), num("Iterations"), num("avg"), num("p95"), num("p99"))
    return _section("scenarios", "k6 scenarios", table(headers, rows, total=len(sc), shown=len(top)))


def _metadata(results: RunResults, context: ReportContext) -> str:
    source = "k6 summary" if results.duration_source == "k6-summary" else "first-to-last sample span"
    items: list[tuple[str, object]] = [
        ("Run id", context.run_id), ("Scenario", context.scenario), ("Environment", context.environment),
        ("Profile", context.profile), ("Target", context.target_url), ("k6 version", context.k6_version),
        ("Git commit", context.git_commit), ("Started", _ts(context.started_at or results.started_at)),
        ("Ended", _ts(context.ended_at or results.ended_at)), ("Exit code", context.exit_code),
        ("Duration", f"{fmt_num(results.duration_s, 3)} s (from {source})"),
        ("Result files", ", ".join(str(p) for p in results.sources[:20])
         + (f" (+{len(results.sources) - 20} more)" if len(results.sources) > 20 else "")),
        ("Lines / samples read", f"{fmt_int(results.lines)} / {fmt_int(results.points)}"),
        ("Input size", fmt_bytes(results.input_bytes)),
        ("Invalid lines skipped", fmt_int(results.skipped_lines)),
    ]
    items += [("Warning", w) for w in results.warnings[:20]]
    body = "\n".join(f"<dt>{esc(k)}</dt><dd>{esc(_cut(DASH if v is None or v == '' else v))}</dd>"
                     for k, v in items)
    return _section("metadata", "Run metadata", f'<dl class="meta">\n{body}\n</dl>')


def _extra(context: ReportContext) -> list[str]:
    return [_section(f"extra-{i}", s.title, s.html) for i, s in enumerate(context.extra_sections(), 1)]


def _header(context: ReportContext) -> str:
    color = VERDICT_COLORS.get(context.verdict, OTHER_VERDICT_COLOR)
    width = max(150, 14 * len(context.verdict) + 40)
    sub = " · ".join(esc(x) for x in (f"run {context.run_id}", context.environment, context.profile,
                                       _ts(context.started_at) if context.started_at else None) if x)
    return (f"<header><h1>Load test report: {esc(context.scenario)}</h1>"
            f"{svg.badge(context.verdict, color, width=width)}</header>\n<p class=\"sub\">{sub}</p>")


_NAV = (("verdict", "Verdict"), ("thresholds", "Thresholds"), ("figures", "Figures"),
        ("recommendations", "Recommendations"), ("generator", "Load generator"), ("charts", "Charts"), ("endpoints", "Endpoints"),
        ("errors", "Errors"), ("checks", "Checks"), ("distribution", "Distribution"), ("metadata", "Metadata"))


def render_html(results: RunResults, context: ReportContext) -> str:
    builders: list[Callable[[], str]] = [
        lambda: _verdict(results, context), lambda: _thresholds(results), lambda: _figures(results),
        lambda: _recommendations(results), lambda: _generator(results), lambda: _charts(results), lambda: _endpoints(results),
        lambda: _errors(results), lambda: _checks(results), lambda: _distribution(results),
        lambda: _scenarios(results), *[(lambda s=s: s) for s in _extra(context)],
        lambda: _metadata(results, context),
    ]
    nav = "<nav>" + " ".join(f'<a href="#{sid}">{label}</a>' for sid, label in _NAV) + "</nav>"
    body = "\n".join(b for b in (f() for f in builders) if b)
    title = esc(f"novaload · {context.scenario} · {context.verdict}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="novaload">\n<title>{title}</title>\n<style>{CSS}</style>\n'
            f"</head>\n<body>\n<main>\n{_header(context)}\n{nav}\n{body}\n"
            f"<footer>Generated by novaload from k6 results · no scripts, no external resources</footer>\n"
            f"</main>\n</body>\n</html>\n")


class HtmlReporter:
    name = "html"
    filename = REPORT_HTML

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, render_html(results, context))


__all__ = ["HtmlReporter", "esc", "render_html"]
