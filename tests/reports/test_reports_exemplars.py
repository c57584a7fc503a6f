"""The exemplars section of report.html and report.md: each traced request linked into the
trace UI (Jaeger, or Grafana's Explore over the run's window), everything escaped."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from report_factory import Synth, build_results, context

from novaload.reports import redact_results, render_html, render_markdown, write_all
from novaload.reports.exemplars import HTML_ROWS, MARKDOWN_ROWS, TraceLinks, md_url
from novaload.results.model import Exemplar, RunResults

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _results(n: int = 3, endpoint: str = "checkout") -> RunResults:
    r = build_results(Synth())
    r.started_at, r.ended_at = T0, T0 + timedelta(seconds=60)
    r.exemplars = [
        Exemplar(
            endpoint=endpoint,
            trace_id=f"{i:032x}",
            duration_ms=900.0 - i,
            status="200" if i % 2 else "500",
            time=T0 + timedelta(seconds=i),
            kind="slowest" if i < n - 1 else "failed",
        )
        for i in range(n)
    ]
    return r


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]*)">[0-9a-f]{32}</a>', page)]


def test_jaeger_links_in_both_reports() -> None:
    r = _results()
    links = TraceLinks(ui="jaeger", url="http://jaeger.example:16686/")
    page = render_html(r, context(trace_links=links))
    md = render_markdown(r, context(trace_links=links))
    want = [f"http://jaeger.example:16686/trace/{e.trace_id}" for e in r.exemplars]
    assert _hrefs(page) == want
    assert all(f"[{e.trace_id}]({url})" in md for e, url in zip(r.exemplars, want, strict=True))
    assert '<a href="#exemplars">' in page and "900 ms" in page


@pytest.mark.parametrize("kind", ["jaeger", "tempo"])
def test_grafana_links_open_explore_over_the_run_s_window(kind: str) -> None:
    r = _results()
    links = TraceLinks(
        ui="grafana", url="https://grafana.example/g", datasource="my-ds", datasource_type=kind
    )  # type: ignore[arg-type]
    for href in _hrefs(render_html(r, context(trace_links=links))):
        parts = urlsplit(href)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://grafana.example/g/explore"
        query = parse_qs(parts.query)
        pane = json.loads(query["panes"][0])["nl"]
        (q,) = pane["queries"]
        assert pane["datasource"] == "my-ds" and q["datasource"] == {"type": kind, "uid": "my-ds"}
        assert re.fullmatch("[0-9a-f]{32}", q["query"]) and (q.get("queryType") == "traceql") == (
            kind == "tempo"
        )
        start, end = int(pane["range"]["from"]), int(pane["range"]["to"])
        assert start == int((T0 - timedelta(minutes=1)).timestamp() * 1000)
        assert end == int((T0 + timedelta(seconds=60 + 60)).timestamp() * 1000)


def test_hostile_names_and_urls_are_escaped_for_where_they_land() -> None:
    evil = '<script>alert(1)</script>|"x"'
    r = _results(endpoint=evil)
    links = TraceLinks(ui="jaeger", url='http://j.example/a)b"<i>(c) d')
    page = render_html(r, context(trace_links=links))
    md = render_markdown(r, context(trace_links=links))
    assert evil not in page and "<script>" not in page and "<i>" not in page
    assert html.escape(evil, quote=True) in page
    assert "<script" not in md and "<i>" not in md
    targets = re.findall(r"\]\(([^)]*)\)", md)
    assert len(targets) == len(r.exemplars)
    for target in targets:
        assert not set(target) & set(' ()<>"|[]`\\'), target
        assert target.endswith("/trace/" + target.rsplit("/", 1)[-1])
    assert md_url("http://x/a b)") == "http://x/a%20b%29"


def test_without_links_the_trace_ids_are_shown_plain() -> None:
    r = _results()
    page = render_html(r, context(trace_links=None))
    assert _hrefs(page) == [] and all(e.trace_id in page for e in r.exemplars)
    none = render_html(r, context(trace_links=TraceLinks(ui="none")))
    assert _hrefs(none) == [] and "their trace ids are those the requests carried" in none


def test_an_untraced_run_has_no_section_nor_a_link_to_it() -> None:
    r = _results(0)
    page = render_html(r, context(trace_links=TraceLinks()))
    assert 'id="exemplars"' not in page and 'href="#exemplars"' not in page
    assert "with their traces" not in render_markdown(r, context(trace_links=TraceLinks()))


def test_many_exemplars_are_capped_with_a_note() -> None:
    r = _results(HTML_ROWS + 25)
    page = render_html(r, context(trace_links=TraceLinks()))
    md = render_markdown(r, context(trace_links=TraceLinks()))
    assert len(_hrefs(page)) == HTML_ROWS and "25 more in summary.json" in page
    assert md.count("](http://127.0.0.1:16686/trace/") == MARKDOWN_ROWS
    assert f"{HTML_ROWS + 25 - MARKDOWN_ROWS} more in report.html and summary.json" in md


def test_a_secret_in_an_endpoint_name_is_masked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _results(endpoint="/api?token=hunter2")
    masked = redact_results(r, lambda s: s.replace("hunter2", "***"))
    assert {e.endpoint for e in masked.exemplars} == {"/api?token=***"}
    files = write_all(
        r, context(trace_links=TraceLinks(), redact=lambda s: s.replace("hunter2", "***")), tmp_path
    )
    assert all("hunter2" not in p.read_text() for p in files)
