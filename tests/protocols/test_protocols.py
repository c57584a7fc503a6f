"""The protocol sections against k6 itself: real runs of k6's gRPC, WebSocket and
custom-metric examples against loopback peers; every per-tag figure novaload reports
equals what k6's --summary-export holds for that submetric, with either scan engine,
and the reports lead with the protocol the run used."""

from __future__ import annotations

import json
import re

import pytest
from support import same_as_k6

from novaload.reports import ReportContext, render_html, render_markdown, write_all
from novaload.results.ingest import ingest
from novaload.results.protocols import Breakdown
from novaload.results.summary import summary_document
from novaload.thresholds import parse_selector

pytestmark = pytest.mark.k6
ENGINES = ("fast", "duckdb")


def _context(scenario: str, **kw: object) -> ReportContext:
    return ReportContext(run_id="run-1", scenario=scenario, verdict="passed", **kw)  # type: ignore[arg-type]


def _submetrics_checked(res, export: dict) -> list[str]:
    """Compare each submetric of k6's export with novaload's breakdown row for it; the
    names compared. A breakdown by the submetric's tags must exist and hold the row."""
    checked, bad = [], []
    for name, theirs in export["metrics"].items():
        if "{" not in name or name.startswith("http_"):  # HTTP's: the endpoint tables
            continue
        sel = parse_selector(name)
        keys = tuple(k for k, _ in sel.tags)
        got: Breakdown | None = res.protocols.get(sel.metric, *keys)
        assert got is not None, f"no breakdown of {sel.metric} by {keys}"
        row = got.row(**dict(sel.tags))
        if row is None:  # k6 exports a threshold's submetric without samples as zeros
            assert all(v == 0 for k, v in theirs.items() if k != "thresholds"), f"{name}: no row"
            continue
        for key, value in theirs.items():
            if key == "thresholds":
                continue
            if not same_as_k6(key, row.values.get(key), value):
                bad.append(f"{name}.{key}: ours {row.values.get(key)!r}, k6 {value!r}")
        checked.append(name)
    assert bad == []
    return sorted(checked)


@pytest.mark.parametrize("engine", ENGINES)
def test_grpc_per_method_and_status_equal_k6(grpc_run, engine):
    res = ingest([grpc_run.json], k6_summary=grpc_run.export, engine=engine)
    export = json.loads(grpc_run.export.read_text())
    assert _submetrics_checked(res, export) == [
        "grpc_req_duration{name:/main.FeatureExplorer/GetFeature}",
        "grpc_req_duration{status:0}",
        "grpc_req_duration{status:5}",
    ]
    assert res.protocols.used == ("grpc",)
    streams = res.protocols.get("grpc_streams_msgs_received", "name")
    assert streams is not None
    row = streams.row(name="/main.FeatureExplorer/ListFeatures")
    assert row is not None and same_as_k6(
        "count", row.values["count"], export["metrics"]["grpc_streams_msgs_received"]["count"]
    )
    assert same_as_k6("rate", row.values["rate"], export["metrics"]["grpc_streams_msgs_received"]["rate"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["ws", "websockets"])
def test_websocket_per_url_equal_k6(request, kind, engine):
    run = request.getfixturevalue(f"{kind}_run")
    res = ingest([run.json], k6_summary=run.export, engine=engine)
    checked = _submetrics_checked(res, json.loads(run.export.read_text()))
    assert {parse_selector(n).metric for n in checked} >= {"ws_connecting", "ws_session_duration"}
    assert res.protocols.used == ("ws",)


@pytest.mark.parametrize("engine", ENGINES)
def test_custom_metrics_per_tag_equal_k6(custom_run, engine):
    res = ingest([custom_run.json], k6_summary=custom_run.export, engine=engine)
    assert _submetrics_checked(res, json.loads(custom_run.export.read_text())) == [
        "my_counter{page:health}",
        "my_gauge{page:ready}",
        "my_rate{page:health}",
        "my_trend{page:ready}",
        "my_waiting{page:health}",
    ]
    assert res.protocols.custom == ("my_counter", "my_gauge", "my_rate", "my_trend", "my_waiting")
    # k6's own tags that are the same on every sample (scenario, group) are no breakdown
    assert [b.by for b in res.protocols.of("my_counter")] == [("page",)]


@pytest.mark.parametrize("fixture", ["grpc_run", "ws_run", "custom_run"])
def test_both_engines_give_the_same_breakdowns(request, fixture):
    run = request.getfixturevalue(fixture)
    got = [ingest([run.json], k6_summary=run.export, engine=e).protocols.to_json() for e in ENGINES]
    assert got[0] == got[1]


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m is not None, f"no {sid} section"
    return m.group(1)


def test_grpc_run_reports_lead_with_grpc(grpc_run, tmp_path):
    res = ingest([grpc_run.json], k6_summary=grpc_run.export)
    write_all(res, _context("grpc"), tmp_path)
    html = (tmp_path / "report.html").read_text()
    md = (tmp_path / "report.md").read_text()
    assert "No HTTP requests" not in html and "No HTTP requests" not in md
    assert 'id="endpoints"' not in html and 'aria-label="Throughput"' not in html  # no empty HTTP charts
    grpc = _section(html, "grpc")
    assert "/main.FeatureExplorer/GetFeature" in grpc and "5 NOT_FOUND" in grpc
    # the headline is gRPC's, and the gRPC section comes before the charts
    figures = _section(html, "figures")
    assert "gRPC calls" in figures and "Requests" not in figures
    assert html.index('id="grpc"') < html.index('id="charts"')
    calls = int(res.metrics["grpc_req_duration"].values["count"])
    assert f"gRPC calls</dt><dd>{calls}" in figures
    assert "49 gRPC calls" in _section(html, "verdict") or f"{calls} gRPC calls" in _section(html, "verdict")
    assert "<summary><b>gRPC</b></summary>" in md and "Top endpoints" not in md
    assert md.index("<summary><b>gRPC</b></summary>") < md.index("<summary><b>Recommendations</b></summary>")
    assert "| 5 NOT\\_FOUND |" in md


def test_summary_json_has_protocols(grpc_run):
    res = ingest([grpc_run.json], k6_summary=grpc_run.export)
    doc = summary_document(res)["novaload"]["protocols"]
    assert doc["lead"] == "grpc"
    by_status = next(
        b for b in doc["breakdowns"] if b["metric"] == "grpc_req_duration" and b["by"] == ["status"]
    )
    export = json.loads(grpc_run.export.read_text())["metrics"]["grpc_req_duration{status:5}"]
    row = next(r for r in by_status["rows"] if r["tags"] == {"status": "5"})
    assert all(same_as_k6(k, row["values"][k], v) for k, v in export.items() if k != "thresholds")


def test_websocket_report_per_url(ws_run):
    res = ingest([ws_run.json], k6_summary=ws_run.export)
    html = render_html(res, _context("ws"))
    md = render_markdown(res, _context("ws"))
    sessions = int(res.metrics["ws_sessions"].values["count"])
    section = _section(html, "ws")
    url = res.protocols.get("ws_sessions", "url").rows[0].tag("url")
    assert url.startswith("ws://127.0.0.1:") and url in section
    assert "No HTTP requests" not in html and "<summary><b>WebSockets</b></summary>" in md
    assert f"Sessions</dt><dd>{sessions}" in _section(html, "figures")


def test_custom_metrics_beside_http(custom_run):
    res = ingest([custom_run.json], k6_summary=custom_run.export)
    html = render_html(res, _context("custom"))
    md = render_markdown(res, _context("custom"))
    assert res.protocols.lead == "http"
    assert "Requests" in _section(html, "figures")  # HTTP still leads
    custom = _section(html, "custom")
    assert "my_counter (counter) by page" in custom
    export = json.loads(custom_run.export.read_text())["metrics"]
    cells = re.sub(r' data-label="[^"]*"', "", custom.replace(' class="n" align="right"', ""))
    assert f"<td>{int(export['my_counter{page:health}']['count'])}</td>" in cells
    assert md.index("<summary><b>Top endpoints</b></summary>") < md.index(
        "<summary><b>Custom metrics</b></summary>"
    )


def test_tag_values_are_escaped_and_redacted(ws_run, tmp_path):
    """Tag values come from the script and the system under test: escaped in HTML and
    Markdown, and passed through the report's redactor like every other text."""
    res = ingest([ws_run.json], k6_summary=ws_run.export)
    evil = res.protocols.redacted(lambda s: "<script>x</script>|*")
    res.protocols = evil
    html = _section(render_html(res, _context("ws")), "ws")
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    md = render_markdown(res, _context("ws"))
    assert "<script>x" not in md and "&lt;script&gt;x&lt;/script&gt;\\|\\*" in md
    res = ingest([ws_run.json], k6_summary=ws_run.export)
    write_all(res, _context("ws", redact=lambda s: s.replace("127.0.0.1", "[host]")), tmp_path)
    section = _section((tmp_path / "report.html").read_text(), "ws")
    assert "ws://[host]:" in section and "127.0.0.1" not in section


def test_terminal_summary_has_a_line_per_protocol(grpc_run, custom_run):
    import json
    from io import StringIO

    from rich.console import Console

    from novaload.cli.summary import print_results
    from novaload.reports.k6format import metric_figures

    # a custom metric's line reads as k6's own summary line (tests/results/test_k6format.py)
    counter = json.loads(custom_run.export.read_text())["metrics"]["my_counter"]
    k6_line = f"my_counter (counter): {metric_figures(counter, 'counter', 'default', ())}"
    for run, wanted in ((grpc_run, "gRPC: gRPC calls"), (custom_run, k6_line)):
        out = StringIO()
        print_results(Console(file=out, width=200), ingest([run.json], k6_summary=run.export))
        assert wanted in out.getvalue()


@pytest.mark.browser
@pytest.mark.parametrize("engine", ENGINES)
def test_browser_vitals_per_page_equal_k6(browser_run, engine):
    res = ingest([browser_run.json], k6_summary=browser_run.export, engine=engine)
    checked = _submetrics_checked(res, json.loads(browser_run.export.read_text()))
    # p(75), the figure Google bands, is among the values compared (k6 exported it)
    assert {parse_selector(n).metric for n in checked} >= {
        "browser_web_vital_lcp",
        "browser_web_vital_fcp",
        "browser_web_vital_ttfb",
        "browser_http_req_duration",
        "browser_http_req_failed",
    }
    assert res.protocols.used == ("browser",)
    # k6 rated every sample (its rating tag): the bands' counts add up to the samples
    for metric in ("browser_web_vital_lcp", "browser_web_vital_fcp"):
        by_url, by_rating = res.protocols.get(metric, "url"), res.protocols.get(metric, "url", "rating")
        for row in by_url.rows:
            rated = [r for r in by_rating.rows if r.tag("url") == row.tag("url")]
            assert sum(r.values["count"] for r in rated) == row.values["count"]
            assert {r.tag("rating") for r in rated} <= {"good", "needs-improvement", "poor"}


@pytest.mark.browser
def test_browser_report_leads_with_web_vitals(browser_run):
    from novaload.results.protocols import vital_band

    res = ingest([browser_run.json], k6_summary=browser_run.export)
    html = render_html(res, _context("browser"))
    md = render_markdown(res, _context("browser"))
    lcp = res.metrics["browser_web_vital_lcp"].values["p(75)"]
    figures = _section(html, "figures")
    assert (
        "LCP p75" in figures and f"({vital_band('browser_web_vital_lcp', lcp).replace('-', ' ')})" in figures
    )
    browser = _section(html, "browser")
    app = next(
        r.tag("url")
        for r in res.protocols.get("browser_web_vital_lcp", "url").rows
        if r.tag("url").endswith("/app/")
    )
    assert app in browser and "browser_http_req_duration" in browser
    failed = res.protocols.get("browser_http_req_failed", "url").row(url=app + "missing")
    assert failed is not None and failed.values["passes"] == 3  # the page that does not exist, 3 iterations
    assert (
        "No HTTP requests" not in html
        and "<summary><b>Browser</b></summary>" in md
        and "Top endpoints" not in md
    )


@pytest.mark.parametrize("kind", ["grpc", "ws"])
def test_novaload_run_reports_the_protocol(kind, request, tmp_path, demo_target):
    """``novaload run`` on the example (k6 live, the live scan, every report file)."""
    import subprocess
    import sys

    from .conftest import SCRIPTS, _ws_url

    if kind == "grpc":
        script, env = "grpc_invoke.js", f"GRPC_ADDR={request.getfixturevalue('grpc_addr')}"
    else:
        script, env = "ws_k6ws.js", f"WS_URL={_ws_url(demo_target)}"
    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(SCRIPTS / script), "-e", env, "--out-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=SCRIPTS,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    title = {"grpc": "gRPC", "ws": "WebSockets"}[kind]
    assert f"{title}: " in res.stdout  # the terminal summary's line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["novaload"]["protocols"]["lead"] == kind
    html = (out / "report.html").read_text()
    assert f'<section id="{kind}">' in html and "No HTTP requests" not in html
    assert f"<summary><b>{title}</b></summary>" in (out / "report.md").read_text()


def test_protocols_csv_rows_equal_k6(grpc_run, tmp_path):
    import csv

    res = ingest([grpc_run.json], k6_summary=grpc_run.export)
    write_all(res, _context("grpc"), tmp_path, names=["protocols"])
    with (tmp_path / "protocols.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    row = next(
        r
        for r in rows
        if r["metric"] == "grpc_req_duration" and r["by"] == "status" and r["tag:status"] == "5"
    )
    export = json.loads(grpc_run.export.read_text())["metrics"]["grpc_req_duration{status:5}"]
    assert all(same_as_k6(k, float(row[k]), v) for k, v in export.items() if k != "thresholds")
    assert {r["metric"] for r in rows} >= {"grpc_req_duration", "grpc_streams", "grpc_streams_msgs_received"}
    # a tag value a spreadsheet would evaluate stays text
    res.protocols = res.protocols.redacted(lambda s: "=HYPERLINK(1)")
    write_all(res, _context("grpc"), tmp_path, names=["protocols"])
    assert "'=HYPERLINK(1)" in (tmp_path / "protocols.csv").read_text()


def test_charts_of_a_run_without_http_are_its_protocols(ws_run, grpc_run):
    """No empty HTTP charts: the lead protocol's own, over the same windows."""
    for run, titles in (
        (ws_run, ["ws_sessions, ws_msgs_sent, ws_msgs_received per second"]),
        (grpc_run, ["Throughput (grpc_req_duration)", "grpc_req_duration percentiles (per window)"]),
    ):
        res = [ingest([run.json], k6_summary=run.export, engine=e) for e in ENGINES]
        ts = res[0].protocols.timeseries
        assert ts is not None and ts.equals(res[1].protocols.timeseries)  # both engines
        for col in ts.columns:  # every window's samples add up to the run's
            metric = col.split(" ")[0]
            if col == "t" or col.endswith(("p50", "p95", "p99", "non-ok")):
                continue
            key = "count"
            assert ts[col].sum() == res[0].metrics[metric].values[key], col
        charts = _section(render_html(res[0], _context("x")), "charts")
        assert all(f'aria-label="{t}"' in charts for t in titles)
        assert 'aria-label="Throughput"' not in charts and "Latency percentiles" not in charts
