"""The reports' exemplars section: a traced run's slowest and first failed requests of each
endpoint (``RunResults.exemplars``), each linked to its trace.

A link goes to Jaeger's UI (``{url}/trace/{id}``) or to Grafana's Explore with the Jaeger
or Tempo datasource, the trace id as the query and the run's window as the time range.
:class:`TraceLinks` says which; the run pipeline builds it from the run's ``tracing:``
settings and the monitoring stack's URLs. Every part of a link is URL-encoded, and the
link is escaped for where it lands (an HTML attribute, a Markdown link target).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

from novaload.reports.figures import fmt_ms
from novaload.results.model import Exemplar, RunResults

HTML_ROWS = 60
MARKDOWN_ROWS = 12
TITLE = "Slowest and failed requests, with their traces"
# Grafana's time range is padded so a trace that began before its sample's time is in it.
_PAD = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TraceLinks:
    """Where an exemplar's trace is shown."""

    ui: Literal["jaeger", "grafana", "none"] = "jaeger"
    url: str = "http://127.0.0.1:16686"  # Jaeger's UI, or Grafana's base URL
    datasource: str = "novaload-jaeger"  # grafana: the datasource's uid
    datasource_type: Literal["jaeger", "tempo"] = "jaeger"

    def link(self, trace_id: str, window: tuple[datetime, datetime] | None = None) -> str | None:
        """The trace's URL (None: no links). ``window``: the run's first and last sample."""
        base = self.url.rstrip("/")
        if self.ui == "jaeger":
            return f"{base}/trace/{quote(trace_id, safe='')}"
        if self.ui != "grafana":
            return None
        ds = {"type": self.datasource_type, "uid": self.datasource}
        query: dict[str, object] = {"refId": "A", "datasource": ds, "query": trace_id}
        if self.datasource_type == "tempo":
            query["queryType"] = "traceql"
        pane: dict[str, object] = {"datasource": self.datasource, "queries": [query]}
        if window is not None:
            start, end = window
            pane["range"] = {
                "from": str(int((start - _PAD).timestamp() * 1000)),
                "to": str(int((end + _PAD).timestamp() * 1000)),
            }
        panes = json.dumps({"nl": pane}, separators=(",", ":"))
        return f"{base}/explore?" + urlencode({"schemaVersion": "1", "panes": panes, "orgId": "1"}, quote_via=quote)


def _window(results: RunResults) -> tuple[datetime, datetime] | None:
    if results.started_at is None or results.ended_at is None:
        return None
    return results.started_at, results.ended_at


def _time(e: Exemplar) -> str:
    return e.time.strftime("%H:%M:%S.%f")[:-3]


def _rows(results: RunResults, limit: int) -> list[Exemplar]:
    return results.exemplars[:limit]


def html_section(results: RunResults, links: TraceLinks | None) -> str:
    """The section's HTML body ("" for a run without exemplars)."""
    if not results.exemplars:
        return ""
    window = _window(results)
    shown = _rows(results, HTML_ROWS)
    cells = []
    for e in shown:
        url = links.link(e.trace_id, window) if links is not None else None
        trace = html.escape(e.trace_id)
        if url is not None:
            trace = f'<a href="{html.escape(url, quote=True)}">{trace}</a>'
        cells.append(
            f"<tr><td>{html.escape(e.endpoint)}</td><td>{e.kind}</td>"
            f'<td class="n" align="right">{html.escape(fmt_ms(e.duration_ms))}</td>'
            f"<td>{html.escape(e.status)}</td><td>{html.escape(_time(e))}</td><td><code>{trace}</code></td></tr>"
        )
    more = len(results.exemplars) - len(shown)
    note = f'<p class="more">{more:,} more in summary.json (novaload.exemplars).</p>' if more > 0 else ""
    where = _where(links)
    return (
        f"<p>Each endpoint's slowest requests, then its first failed ones; {where}.</p>\n"
        '<table border="1" cellspacing="0" cellpadding="4"><thead><tr><th>Endpoint</th><th>Kind</th>'
        '<th class="n" align="right">Duration</th><th>Status</th><th>Time (UTC)</th><th>Trace</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(cells) + "\n</tbody></table>" + note
    )


def markdown_section(results: RunResults, links: TraceLinks | None) -> str:
    """The section's Markdown ("" for a run without exemplars): the slowest few."""
    from novaload.reports.markdown import md_text  # late: markdown imports this module

    if not results.exemplars:
        return ""
    window = _window(results)
    lines = ["| Endpoint | Kind | Duration | Status | Trace |", "|---|---|---:|---|---|"]
    shown = _rows(results, MARKDOWN_ROWS)
    for e in shown:
        url = links.link(e.trace_id, window) if links is not None else None
        trace = f"`{md_text(e.trace_id)}`" if url is None else f"[{md_text(e.trace_id)}]({md_url(url)})"
        lines.append(
            f"| {md_text(e.endpoint, 80)} | {e.kind} | {md_text(fmt_ms(e.duration_ms))} | {md_text(e.status)} | {trace} |"
        )
    more = len(results.exemplars) - len(shown)
    if more > 0:
        lines.append(f"\n_{more} more in report.html and summary.json._")
    return "\n".join(lines)


def md_url(url: str) -> str:
    """A URL safe as a Markdown link target: nothing in it may end the link or open markup."""
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


def _where(links: TraceLinks | None) -> str:
    if links is None or links.ui == "none":
        return "their trace ids are those the requests carried"
    if links.ui == "jaeger":
        return f"each trace id opens the trace in Jaeger ({html.escape(links.url)})"
    return f"each trace id opens the trace in Grafana's Explore ({html.escape(links.url)}) over the run's window"


__all__ = ["HTML_ROWS", "MARKDOWN_ROWS", "TITLE", "TraceLinks", "html_section", "markdown_section", "md_url"]
