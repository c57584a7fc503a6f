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

# by the module's own name (see markdown.py's note on the package's __init__)
from novaload.reports.protocols import Section as ProtocolSection
from novaload.reports.protocols import activity, leads_with_http
from novaload.reports.protocols import headline as lead_headline
from novaload.reports.protocols import sections as protocol_sections
from novaload.reports import svg
from novaload.reports.exemplars import TITLE as EXEMPLARS_TITLE
from novaload.reports.exemplars import html_section as exemplars_html
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
    threshold_unit,
    window_note,
    with_columns,
)
from novaload.reports.ranking import breached_by_endpoint, rank_endpoints
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
SLO_CHARTS = 10  # windowed thresholds charted (all are in the thresholds table)
ENDPOINT_CHARTS = 6  # the worst endpoints get their own histogram and percentile charts
WIDE_TABLE_COLUMNS = 8  # from this many columns a table turns into cards below 1000 px
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
C_FAIL = "#b91c1c"  # the frame and title of an endpoint that failed its threshold

# Chart geometry: over-time charts sit two to a row on wide screens, the worst endpoints'
# charts likewise; both scale down to a phone's width (viewBox).
WIDE = svg.Frame(width=640, height=250)
SMALL = svg.Frame(width=560, height=200)

CSS = """
:root{--ink:#111827;--mute:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
header{display:flex;align-items:center;gap:12px 20px;flex-wrap:wrap;margin-bottom:8px}
header h1{font-size:24px;margin:0;flex:1 1 16em;min-width:0;overflow-wrap:anywhere}
header svg{flex:none}
.sub{color:var(--mute);margin:0 0 16px;overflow-wrap:anywhere}
nav{margin:0 0 20px;font-size:13px;display:flex;flex-wrap:wrap;gap:4px 14px}
nav a{color:#2563eb;text-decoration:none}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 18px;
min-width:0}
h2{font-size:17px;margin:0 0 12px}h3{font-size:14px;margin:18px 0 8px;color:#374151;overflow-wrap:anywhere}
p,li{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:13px;border:0}
th,td{padding:6px 10px;border:0;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600;color:#374151}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.u{overflow-wrap:break-word}
tbody tr:hover{background:#f9fafb}
tr.bad td:first-child{box-shadow:inset 4px 0 #b91c1c}
.st-passed{color:#15803d;font-weight:600}.st-failed{color:#b91c1c;font-weight:600}
.st-no-data{color:#6b7280;font-weight:600}
td.bad,.bad-text{color:#b91c1c;font-weight:600}
dl.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;margin:0}
dl.kpis div{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
dl.kpis dt{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
dl.kpis dd{margin:2px 0 0;font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
dl.kpis dd small{display:block;font-size:12px;color:var(--mute);font-weight:400}
figure{margin:0 0 14px;min-width:0}figure svg{max-width:100%;height:auto;display:block}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));gap:14px}
.grid2>figure{margin:0}.grid2 svg{width:100%}
.ep{border:1px solid var(--line);border-radius:8px;padding:10px 12px;min-width:0}
.ep.bad{border-color:#b91c1c;border-width:2px}
.ep h3{margin:0 0 8px}.ep figure{margin:0 0 8px}
ul.recs{margin:0;padding-left:0;list-style:none}
ul.recs li{padding:8px 12px;margin:0 0 8px;border-left:4px solid #9ca3af;background:#f9fafb}
ul.recs li.critical{border-color:#b91c1c}ul.recs li.warning{border-color:#d97706}
ul.recs li.info{border-color:#2563eb}
.more{color:var(--mute);font-size:12px;margin:6px 0 0}
dl.meta{display:grid;grid-template-columns:minmax(8em,200px) minmax(0,1fr);gap:4px 16px;margin:0}
dl.meta dt{color:var(--mute)}dl.meta dd{margin:0;overflow-wrap:anywhere;min-width:0}
footer{color:var(--mute);font-size:12px;text-align:center}
@media (max-width:600px){
main{padding:12px 10px 32px}section{padding:12px 12px}header h1{font-size:20px}
dl.meta{grid-template-columns:1fr;font-size:12px}dl.meta dd{margin:0 0 6px}
CARDS(table.rt)
}
@media (max-width:1000px){
CARDS(table.rt.wide)
}
"""



def _cards(sel: str) -> str:
    """A table as one card per row: each cell under its column's name (``data-label``),
    so a narrow screen needs no horizontal scrolling."""
    return (f"{sel} thead{{display:none}}{sel},{sel} tbody{{display:block}}"
            f"{sel} tr{{display:grid;grid-template-columns:repeat(auto-fill,minmax(6.5em,1fr));gap:2px 12px;"
            f"padding:8px 0;border-bottom:1px solid var(--line)}}"
            f"{sel} td{{display:block;border:0;padding:0;text-align:left;white-space:normal}}"
            f"{sel} td::before{{content:attr(data-label);display:block;color:var(--mute);font-size:11px}}"
            f"{sel} td:first-child{{grid-column:1/-1;font-weight:600}}"
            f"{sel} td:first-child::before{{display:none}}"
            f"{sel} tr.bad td:first-child{{padding-left:10px}}")


CSS = CSS.replace("CARDS(table.rt.wide)", _cards("table.rt.wide")).replace("CARDS(table.rt)", _cards("table.rt"))

def esc(value: object) -> str:
    """HTML-escape any value (quotes too: it may land in an attribute)."""
    return html.escape(str(value), quote=True)


def _cut(value: object, limit: int = CELL_CHARS) -> str:
    s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _ts(value: datetime | None) -> str:
    return DASH if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


class Cell:
    """A table cell: text (escaped on output) plus a CSS class (n = numeric, u = URL-like:
    it wraps inside a word only when the word is wider than the cell).

    No ``<wbr>`` is put into the text: the redactor masks secrets in the page as written,
    and a break inside a secret would hide it from the redactor."""

    __slots__ = ("cls", "text")

    def __init__(self, text: object, cls: str = "") -> None:
        self.text, self.cls = text, cls


def num(text: str) -> Cell:
    return Cell(text, "n")


def _text(c: object) -> str:
    return str(c.text if isinstance(c, Cell) else c)


def table(headers: Sequence[str | Cell], rows: Iterable[Sequence[object]], *, total: int, shown: int,
          more: str = "", row_classes: Sequence[str] = ()) -> str:
    """An HTML table; ``total``/``shown`` add an "N more" note when capped.

    A column whose every cell is empty is left out (an "On fail" column of a run
    without abortOnFail says nothing). ``row_classes`` mark rows (``bad``: a failed one).
    """
    body_rows = [list(r) for r in rows]
    keep = [i for i in range(len(headers)) if not body_rows or any(_text(r[i]) != "" for r in body_rows)]
    labels = [_text(headers[i]) for i in keep]

    def cell(tag: str, c: object, label: str | None = None) -> str:
        cls = c.cls if isinstance(c, Cell) else ""
        attr = f' class="{cls}"' if cls else ""
        if cls == "n":  # the align attribute is not CSS: numbers stay aligned under a CSP
            attr += ' align="right"'
        if label is not None:  # shown above the value when the table turns into cards
            attr += f' data-label="{esc(label)}"'
        text = _cut(_text(c))
        return f"<{tag}{attr}>{esc(text)}</{tag}>"

    head = "".join(cell("th", headers[i]) for i in keep)
    body = "\n".join(
        (f'<tr class="{row_classes[n]}">' if n < len(row_classes) and row_classes[n] else "<tr>")
        + "".join(cell("td", r[i], labels[j]) for j, i in enumerate(keep)) + "</tr>"
        for n, r in enumerate(body_rows))
    cls = "rt wide" if len(keep) >= WIDE_TABLE_COLUMNS else "rt"
    out = (f'<table class="{cls}" border="1" cellspacing="0" cellpadding="4"><thead><tr>{head}</tr></thead>\n'
           f"<tbody>\n{body}\n</tbody></table>")
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
    parts.append(f"Duration {fmt_num(results.duration_s, 1)} s, {activity(results)}.")
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
    body += _worst_line(results)
    return _section("verdict", f"Verdict: {context.verdict}", body)


def _worst_line(results: RunResults) -> str:
    """The endpoint the ranking puts first, with why: the first thing to look at."""
    ranked = rank_endpoints(results)
    if ranked.empty or len(ranked) < 2:
        return ""
    r = with_columns(ranked.head(1), "name", "error_rate", "p95").iloc[0]
    failed = breached_by_endpoint(results).get(str(r["name"]), [])
    why = [f"failed {t.expression} on {t.selector.metric}" for t in failed[:3]]
    why += [f"p95 {fmt_ms(r['p95'])}", f"{fmt_pct(r['error_rate'])} errors"]
    cls = ' class="bad-text"' if failed else ""
    return (f'<p>Worst endpoint: <strong{cls}>{esc(r["name"])}</strong> '
            f"({esc(', '.join(why))}). Endpoints are ranked by failed thresholds, error rate and p95.</p>")


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
    marks = ["bad" if t.status == "failed" else "" for t in shown]
    return _section("thresholds", "Thresholds", table(headers, rows, total=len(ths), shown=len(shown),
                                                      row_classes=marks))


def _figures(results: RunResults) -> str:
    items = []
    for f in lead_headline(results):
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
    charts = [] if not leads_with_http(results) else [  # no HTTP: no empty HTTP charts
        svg.line_chart("Latency percentiles (per window)"
                       + (" · shaded: breached SLO windows" if latency_breaches else ""),
                       series("p50", C_P50, _col(ts, "p50")) + series("p95", C_P95, _col(ts, "p95"))
                       + series("p99", C_P99, _col(ts, "p99")), y_label="latency", y_fmt=ms,
                       bands=latency_breaches, band_color=C_BREACH, frame=WIDE),
        svg.line_chart("Errors", series("failed requests/s", C_ERR, failures), y_label="failed/s", frame=WIDE),
        svg.line_chart("Throughput", series("requests/s", C_RPS, _col(ts, "rps")), y_label="requests/s",
                       frame=WIDE),
    ]
    if not leads_with_http(results):
        charts += _protocol_charts(results, ms)
    charts.append(svg.line_chart("Virtual users", series("VUs", C_VUS, _col(ts, "vus")), y_label="VUs", frame=WIDE))
    charts += [_slo_chart(results, th) for th in windowed[:SLO_CHARTS]]
    note = (f'<p class="more">One point per {fmt_num(window, 3).rstrip("0").rstrip(".")} s window; '
            f"long runs are reduced to at most {svg.MAX_POINTS} points per line, keeping every "
            "window's minimum and maximum."
            + (" The last window, which the run covered for less than half its length, is left out "
               "(it is in timeseries.csv)." if dropped else "") + "</p>")
    return _section("charts", "Over time",
                    '<div class="grid2">' + "\n".join(f"<figure>{c}</figure>" for c in charts) + "</div>" + note)


def _protocol_charts(results: RunResults, ms: Callable[[float], str]) -> list[str]:
    """The lead protocol's charts when the run made no HTTP request: each trend's samples
    per second (and its non-OK ones for gRPC) and percentiles per window, and the
    counters per second (``RunResults.protocols.timeseries``)."""
    ts = results.protocols.timeseries
    if ts is None or ts.empty:
        return []
    window = results.window_s or 1.0
    if results.started_at is not None and results.ended_at is not None:  # as _complete_windows
        keep = ts["t"] <= (results.ended_at - results.started_at).total_seconds() - window / 2
        ts = ts[keep] if keep.any() else ts
    t = _col(ts, "t")

    def per_s(col: str) -> list[float]:
        return [v / window for v in _col(ts, col)]

    charts = []
    sums = [c for c in ts.columns if c != "t" and " " not in c]
    trends = sorted({c.split(" ")[0] for c in ts.columns if " " in c})
    colors = (C_RPS, C_P50, C_VUS, C_P95)
    for m in trends:
        rate = [svg.Series(f"{m} samples/s", C_RPS, t, per_s(f"{m} n"))]
        if f"{m} non-ok" in ts.columns:
            rate.append(svg.Series("non-OK status/s", C_ERR, t, per_s(f"{m} non-ok")))
        charts.append(svg.line_chart(f"Throughput ({m})", rate, y_label="per second", frame=WIDE))
        pcts = [svg.Series(p, c, t, _col(ts, f"{m} {p}")) for p, c in (("p50", C_P50), ("p95", C_P95), ("p99", C_P99))]
        charts.append(svg.line_chart(f"{m} percentiles (per window)", pcts, y_label="latency", y_fmt=ms, frame=WIDE))
    if sums:
        charts.append(svg.line_chart(", ".join(sums) + " per second",
                                     [svg.Series(f"{c}/s", colors[i % len(colors)], t, per_s(c))
                                      for i, c in enumerate(sums)], y_label="per second"))
    return charts


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
            svg.line_chart("k6 CPU, % of its share", cpu, y_label="% of share", y_fmt=lambda v: f"{v:,.0f} %",
                           frame=WIDE),
            svg.line_chart("k6 memory (RSS)", mem, y_label="MB", y_fmt=lambda v: f"{v:,.6g} MB", frame=WIDE),
        ]
    else:
        charts = []
    ts = results.timeseries
    if gen.dropped_iterations and "dropped_iterations" in ts.columns:
        window = results.window_s or 1.0
        dropped = [d / window for d in _col(ts, "dropped_iterations")]
        charts.append(svg.line_chart("Dropped iterations (when k6 fell behind the arrival rate)",
                                     [svg.Series("dropped/s", C_ERR, _col(ts, "t"), dropped)],
                                     y_label="dropped/s", frame=WIDE))
    if charts:
        body += '<div class="grid2">' + "\n".join(f"<figure>{ch}</figure>" for ch in charts) + "</div>"
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
                          band_color=C_BREACH, frame=WIDE)


def _endpoints(results: RunResults) -> str:
    ep = results.endpoints
    if ep.empty and not leads_with_http(results):
        return ""  # a gRPC, WebSocket or browser test: its own section leads
    if ep.empty:
        return _section("endpoints", "Endpoints", "<p>No HTTP requests.</p>")
    top = with_columns(rank_endpoints(results).head(ENDPOINT_ROWS), *ENDPOINT_COLS, "apdex", "apdex_t_ms")
    breached = breached_by_endpoint(results)
    rows = [(Cell(("✘ " if str(r.name) in breached else "") + str(r.name), "u"), num(fmt_int(r.requests)),
             num(fmt_int(r.failures)), num(fmt_pct(r.error_rate)),
             num(fmt_num(r.rps)), num(fmt_ms(r.avg)), num(fmt_ms(r.med)), num(fmt_ms(r.p90)),
             num(fmt_ms(r.p95)), num(fmt_ms(r.p99)), num(fmt_ms(r.max)), num(fmt_apdex(r.apdex, r.apdex_t_ms)))
            for r in top.itertuples(index=False)]
    headers = ("Endpoint (name tag)", num("Requests"), num("Failed"), num("Error rate"), num("req/s"),
               num("avg"), num("p50"), num("p90"), num("p95"), num("p99"), num("max"), num("Apdex (T)"))
    marks = ["bad" if str(n) in breached else "" for n in top["name"]]
    note = ('<p class="more">Worst first: a failed threshold of the endpoint (✘), then error rate, then p95.</p>')
    return _section("endpoints", "Endpoints",
                    note + table(headers, rows, total=len(ep), shown=len(top), row_classes=marks,
                                 more=" (all endpoints are in endpoints.csv)"))


def _protocol(section: ProtocolSection, figures: bool = True) -> str:
    """A protocol's section (``reports.protocols``): its figures (not for the lead
    protocol: they are the headline figures), then its tables."""
    items = "\n".join(f"<div><dt>{esc(f.label)}</dt><dd>{esc(f.value)}"
                      + (f"<small> ({esc(f.note)})</small>" if f.note else "") + "</dd></div>" for f in section.figures)
    body = f"<p>{esc(section.intro)}</p>" + (f'<dl class="kpis">{items}</dl>' if items and figures else "")
    for t in section.tables:
        headers = [num(h) if i in t.numeric else h for i, h in enumerate(t.headers)]
        rows = [[num(c) if i in t.numeric else Cell(c, "u") if i in t.url_columns else c for i, c in enumerate(r)]
                for r in t.rows]
        body += f"<h3>{esc(t.title)}</h3>" + table(headers, rows, total=t.total, shown=len(t.rows),
                                                   more=" (every row is in protocols.csv)")
    return _section(section.sid, section.title, body)


def _errors(results: RunResults) -> str:
    if not leads_with_http(results):
        return ""  # no HTTP request: its protocol's section says what failed
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
    if not leads_with_http(results):
        return ""
    h = results.histogram
    le, counts = _col(h, "le_ms"), _col(h, "requests")
    while counts and counts[-1] == 0:  # trailing empty buckets only stretch the axis
        le, counts = le[:-1], counts[:-1]
    le, counts = _merge_buckets(le, counts, HISTOGRAM_BARS)
    chart = svg.bar_chart("Latency distribution (http_req_duration)", [_bucket_label(x) for x in le], counts,
                          color=C_HIST, y_label="requests", x_label="bucket upper bound (hover a bar for its count)",
                          max_labels=12)
    return _section("distribution", "Latency distribution", f"<figure>{chart}</figure>")


def _worst_endpoints(results: RunResults) -> str:
    """The worst endpoints (the ranking's first), each a card with its histogram and its
    p50/p95/p99 per window. All cards share their scales: the histograms count a share of
    each endpoint's requests over the run's buckets, the percentile charts one latency axis,
    so a glance compares them. An endpoint that failed its threshold is framed in red."""
    hist, lat, ep = results.endpoint_histograms, results.endpoint_latency, results.endpoints
    if hist.empty or ep.empty:
        return ""
    ranked = rank_endpoints(results)
    names = [str(n) for n in ranked["name"].head(ENDPOINT_CHARTS)]
    breached = breached_by_endpoint(results)
    buckets = _buckets_drawn(results)
    if buckets == 0:
        return ""
    shares: dict[str, tuple[list[float], list[float], list[float]]] = {}
    for name in names:
        mine = hist[hist["name"] == name]
        le, counts = _merge_buckets(_col(mine, "le_ms")[:buckets], _col(mine, "requests")[:buckets], HISTOGRAM_BARS)
        n = sum(counts)
        shares[name] = (le, counts, [100 * c / n if n else 0.0 for c in counts])
    share_top = max((max(v[2], default=0.0) for v in shares.values()), default=0.0)
    lat_top = max((max((v for p in ("p50", "p95", "p99") for v in _col(lat[lat["name"] == name], p)
                        if math.isfinite(v)), default=0.0) for name in names), default=0.0) if not lat.empty else 0.0

    def ms(v: float) -> str:
        return f"{v:,.6g} ms" if v < 10_000 else f"{v / 1000:,.6g} s"

    cards = []
    for name in names:
        failed = breached.get(name, [])
        mark = C_FAIL if failed else None
        le, counts, pct = shares[name]
        labels = [_bucket_label(x) for x in le]
        tips = [f"{lb}: {fmt_int(c)} requests ({p:.1f} %)" for lb, c, p in zip(labels, counts, pct, strict=True)]
        prefix = "✘ " if failed else ""
        dist = svg.bar_chart(f"{prefix}{name}: distribution", labels, pct, color=C_HIST, y_label="% of requests",
                             x_label="bucket upper bound", max_labels=8, frame=SMALL, y_max=share_top,
                             y_fmt=lambda v: f"{v:,.3g} %", tips=tips, highlight=mark)
        over = lat[lat["name"] == name] if not lat.empty else lat
        t = _col(over, "t")
        series = [svg.Series(p, color, t, _col(over, p)) for p, color in (("p50", C_P50), ("p95", C_P95),
                                                                         ("p99", C_P99)) if t]
        pcts = svg.line_chart(f"{prefix}{name}: percentiles per window", series, y_label="latency", y_fmt=ms,
                              frame=SMALL, y_max=lat_top, highlight=mark)
        why = "; ".join(f"failed {t.expression} on {t.selector.metric} (observed "
                        f"{fmt_observed(t.observed, threshold_unit(results, t))})" for t in failed[:3])
        head = f"<h3>{esc(prefix)}{esc(name)}</h3>" + (f'<p class="more bad-text">{esc(why)}</p>' if why else "")
        cards.append(f'<div class="ep{" bad" if failed else ""}">{head}<figure>{dist}</figure>'
                     f"<figure>{pcts}</figure></div>")
    shown = len(names)
    title = f"Worst endpoints ({shown} of {len(ep)})" if len(ep) > shown else "Endpoints, worst first"
    note = ('<p class="more">Ranked like the endpoints table. Every card has the same scales: '
            "the share of the endpoint's requests per bucket, and one latency axis for the "
            "percentiles. Every endpoint is in endpoints.csv.</p>")
    return _section("endpoint-charts", title, note + '<div class="grid2">' + "\n".join(cards) + "</div>")


def _buckets_drawn(results: RunResults) -> int:
    """How many of the run's histogram buckets the charts draw (trailing empty ones are not)."""
    counts = _col(results.histogram, "requests")
    while counts and counts[-1] == 0:
        counts = counts[:-1]
    return len(counts)


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
    if context.setup_teardown:
        items.append(("setup() and teardown()", context.setup_teardown))
    items += [("Warning", w) for w in results.warnings[:20]]
    body = "\n".join(f"<dt>{esc(k)}</dt><dd>{esc(_cut(DASH if v is None or v == '' else v))}</dd>"
                     for k, v in items)
    return _section("metadata", "Run metadata", f'<dl class="meta">\n{body}\n</dl>')


def _exemplars(results: RunResults, context: ReportContext) -> str:
    body = exemplars_html(results, context.trace_links)
    return _section("exemplars", EXEMPLARS_TITLE, body) if body else ""


def _extra(context: ReportContext) -> list[str]:
    return [_section(f"extra-{i}", s.title, s.html) for i, s in enumerate(context.extra_sections(), 1)]


def _header(context: ReportContext) -> str:
    color = VERDICT_COLORS.get(context.verdict, OTHER_VERDICT_COLOR)
    width = max(150, 14 * len(context.verdict) + 40)
    sub = " · ".join(esc(x) for x in (f"run {context.run_id}", context.environment, context.profile,
                                       _ts(context.started_at) if context.started_at else None) if x)
    return (f"<header><h1>Load test report: {esc(context.scenario)}</h1>"
            f"{svg.badge(context.verdict, color, width=width)}</header>\n<p class=\"sub\">{sub}</p>")


_NAV = (("verdict", "Verdict"), ("thresholds", "Thresholds"), ("endpoints", "Endpoints"),
        ("endpoint-charts", "Worst endpoints"), ("grpc", "gRPC"), ("ws", "WebSockets"), ("browser", "Browser"),
        ("custom", "Custom metrics"), ("figures", "Figures"), ("recommendations", "Recommendations"),
        ("charts", "Over time"), ("distribution", "Distribution"), ("errors", "Errors"), ("exemplars", "Traces"),
        ("checks", "Checks"), ("generator", "Load generator"), ("scenarios", "Scenarios"), ("metadata", "Metadata"))


def render_html(results: RunResults, context: ReportContext) -> str:
    """The sections problem first: the verdict and its reasons, the endpoints worst first,
    then the latency story; the load generator after it, unless it was untrustworthy (then
    every figure below it is in doubt, and it comes right after the thresholds).

    gRPC, WebSockets, browser: in the endpoints' place when the run made no HTTP request
    (the lead protocol first), else after the endpoints; custom metrics after the endpoints."""
    protos = protocol_sections(results)
    lead = [] if leads_with_http(results) else [s for s in protos if s.sid != "custom"]
    rest = [s for s in protos if s not in lead]
    gen = results.load_generator
    doubtful = gen is not None and not gen.trustworthy
    generator: list[Callable[[], str]] = [lambda: _generator(results)]
    builders: list[Callable[[], str]] = [
        lambda: _verdict(results, context), lambda: _thresholds(results), *(generator if doubtful else []),
        *[(lambda s=s: _protocol(s, figures=False)) for s in lead],
        lambda: _endpoints(results), lambda: _worst_endpoints(results), *[(lambda s=s: _protocol(s)) for s in rest],
        lambda: _figures(results), lambda: _recommendations(results), lambda: _charts(results),
        lambda: _distribution(results), lambda: _errors(results), lambda: _exemplars(results, context),
        lambda: _checks(results), *([] if doubtful else generator), lambda: _scenarios(results),
        *[(lambda s=s: s) for s in _extra(context)],
        lambda: _metadata(results, context),
    ]
    body = "\n".join(b for b in (f() for f in builders) if b)
    # only the sections this run has (a run without traces has no exemplars section), in page order
    present = sorted((body.index(f'id="{sid}"'), sid, label) for sid, label in _NAV if f'id="{sid}"' in body)
    nav = "<nav>" + " ".join(f'<a href="#{sid}">{label}</a>' for _, sid, label in present) + "</nav>"
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
