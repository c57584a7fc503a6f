"""End to end on a real k6 run: k6 (3 s, 2 VUs) against a loopback server,
ingested by ``novaload.results.ingest``, written by every reporter, checked
against the ingested figures, and opened in Chromium with hostile tag values."""

from __future__ import annotations

import contextlib
import csv
import html
import http.server
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import chromium_path, dump_dom, require_tool, serve, serve_handler

from novaload.reports import default_verdict, write_all
from novaload.reports.base import ReportContext
from novaload.results.ingest import ingest
from novaload.results.model import RunResults

pytestmark = pytest.mark.k6

EVIL_NAME = "<img src=x onerror=\"document.title='PWNED'\">"
EVIL_CHECK = "<script>document.title='PWNED'</script> is 200"
SCRIPT = r"""
import http from 'k6/http';
import { check, group } from 'k6';
export const options = {
  vus: 2, duration: '3s',
  thresholds: {
    http_req_duration: ['p(95)<5000'],
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:nothing}': ['p(95)<100'],
  },
};
export default function () {
  group('shop', () => {
    const ok = http.get(`${__ENV.BASE}/ok`, { tags: { name: 'ok' } });
    check(ok, { 'ok is 200': (r) => r.status === 200 });
    const bad = http.get(`${__ENV.BASE}/fail`, { tags: { name: __ENV.EVIL_NAME } });
    check(bad, { [__ENV.EVIL_CHECK]: (r) => r.status === 200 });
  });
}
export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
"""


@contextlib.contextmanager
def _target() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            code = 200 if self.path.startswith("/ok") else 500
            body = b"hello" if code == 200 else b"boom"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve_handler(Handler) as url:
        yield url


@pytest.fixture(scope="module")
def k6_run(k6_bin: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResults, int, Path]:
    work = tmp_path_factory.mktemp("k6run")
    (work / "script.js").write_text(SCRIPT)
    out, summary = work / "out.json", work / "summary.json"
    with _target() as base:
        proc = subprocess.run(
            [k6_bin, "run", "--quiet", "--no-usage-report", f"--out=json={out}", str(work / "script.js")],
            env={"BASE": base, "SUMMARY": str(summary), "EVIL_NAME": EVIL_NAME, "EVIL_CHECK": EVIL_CHECK,
                 "PATH": "/usr/bin:/bin", "HOME": str(work)},
            capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 99, proc.stderr[-2000:]  # http_req_failed threshold fails
    return ingest([out], k6_summary=summary), proc.returncode, work


@pytest.fixture(scope="module")
def reports(k6_run: tuple[RunResults, int, Path]) -> dict[str, Path]:
    results, code, work = k6_run
    ctx = ReportContext(run_id="it-1", scenario="shop", verdict=default_verdict(results), exit_code=code,
                        k6_version="v1.1.0", started_at=results.started_at, ended_at=results.ended_at)
    return {p.name: p for p in write_all(results, ctx, work / "reports")}


def test_junit_matches_ingested_thresholds_and_checks(k6_run, reports) -> None:
    results = k6_run[0]
    suite = ET.parse(reports["junit.xml"]).getroot().find("testsuite")
    assert suite is not None
    by_status = {s: sum(t.status == s for t in results.thresholds) for s in ("failed", "no data")}
    assert by_status == {"failed": 1, "no data": 1}
    failing_checks = int((results.checks["fails"] > 0).sum())
    assert failing_checks == 1
    # As k6's jUnit(): thresholds are what fails; a failed check is counted in
    # <system-out> and fails the suite only through a `checks` threshold (none here).
    assert int(suite.get("failures")) == by_status["failed"]
    assert int(suite.get("skipped")) == by_status["no data"]
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert {"rate<0.01", "p(95)<5000", "p(95)<100", "ok is 200", EVIL_CHECK} <= set(cases)
    failed_check = next(n for n in ("ok is 200", EVIL_CHECK)
                        if results.checks.loc[results.checks["check"] == n, "fails"].sum() > 0)
    assert cases[failed_check].find("failure") is None
    assert "fail" in (cases[failed_check].findtext("system-out") or "")


def test_markdown_shows_ingested_figures(k6_run, reports) -> None:
    results = k6_run[0]
    md = reports["report.md"].read_text()
    assert "**FAILED**" in md and "exit code 99" in md
    assert f"| Requests | {int(results.value('http_reqs', 'count')):,} |" in md
    assert "<img" not in md and "<script" not in md


def test_csv_files_hold_the_ingested_tables(k6_run, reports) -> None:
    results = k6_run[0]
    with reports["endpoints.csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["name"] for r in rows} == set(results.endpoints["name"]) == {"ok", EVIL_NAME}
    assert sum(int(r["requests"]) for r in rows) == results.value("http_reqs", "count")
    with reports["timeseries.csv"].open() as fh:
        ts = list(csv.DictReader(fh))
    assert len(ts) == len(results.timeseries) and ts[0]["time"].endswith("Z")


@pytest.mark.browser
def test_html_from_real_run_is_escaped_and_inert(k6_run, reports) -> None:
    page = reports["report.html"].read_text()
    assert EVIL_NAME not in page and html.escape(EVIL_NAME) in page
    assert EVIL_CHECK not in page and html.escape(EVIL_CHECK) in page
    chromium = chromium_path()
    require_tool(chromium is not None, "chromium not installed (apt-get install chromium)")
    with serve(reports["report.html"].parent, None) as base:
        dom = dump_dom(chromium, f"{base}/report.html")  # type: ignore[arg-type]
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "PWNED" not in title and "<img" not in dom and "<script" not in dom
