"""``novaload run SCRIPT --traces`` on a user's unchanged script, against a loopback server
that records the trace context of every request it gets (``tests/trace_server.py``).

Every request carries W3C context; every exemplar in summary.json is a trace id the
server received, on the request the exemplar describes (the slowest on the slow path);
report.html and report.md link each one into the trace UI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from otlp_receiver import OtlpReceiver
from support import require_tool
from test_run_e2e import novaload
from trace_server import TRACED_SCRIPT, TraceServer, check_traced_run

pytestmark = pytest.mark.k6


def _run(tmp_path: Path, *args: str) -> tuple[dict, list[dict], Path]:
    script = tmp_path / "user" / "script.js"
    script.parent.mkdir()
    script.write_text(TRACED_SCRIPT)
    before = script.read_bytes()
    out = tmp_path / "run"
    with TraceServer(tmp_path) as server:
        proc = novaload(
            "run",
            str(script),
            "--traces",
            "--out-dir",
            str(out),
            *args,
            env={"TRACE_TARGET": server.url, "NOVALOAD_JAEGER_URL": "http://jaeger.test:16686"},
            cwd=tmp_path,
            timeout=240,
        )
        received = server.requests()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert script.read_bytes() == before  # the user's script is not touched
    return json.loads((out / "summary.json").read_text()), received, out


def test_a_user_script_unchanged_gets_trace_context_and_exemplars(tmp_path: Path) -> None:
    summary, received, out = _run(tmp_path)
    check_traced_run(summary, received, out)
    # what k6 ran, kept beside the script's copy
    assert (out / "k6-traced.js").is_file() and (out / "k6-tracing.js").is_file()
    assert json.loads((out / "run.json").read_text())["script"] == "script.js"


def test_without_traces_nothing_is_added(tmp_path: Path) -> None:
    script = tmp_path / "script.js"
    script.write_text(TRACED_SCRIPT)
    with TraceServer(tmp_path) as server:
        proc = novaload(
            "run",
            str(script),
            "--out-dir",
            str(tmp_path / "run"),
            env={"TRACE_TARGET": server.url},
            cwd=tmp_path,
            timeout=240,
        )
        received = server.requests()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert received and all(r["traceparent"] is None for r in received)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["novaload"]["exemplars"] == []
    assert not (tmp_path / "run" / "k6-traced.js").exists()


SELF_TRACED = """
import http from 'k6/http';
import exec from 'k6/execution';
export const options = { vus: 1, iterations: 2 };
export default function () {
  exec.vu.metrics.metadata['trace_id'] = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  http.get(`${__ENV.TRACE_TARGET}/fast`, { headers: { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01' } });
}
"""


@pytest.mark.k6
def test_a_script_that_traces_itself_runs_as_it_is(tmp_path: Path) -> None:
    script = tmp_path / "script.js"
    script.write_text(SELF_TRACED)
    with TraceServer(tmp_path) as server:
        proc = novaload(
            "run",
            str(script),
            "--traces",
            "--out-dir",
            str(tmp_path / "run"),
            cwd=tmp_path,
            env={"TRACE_TARGET": server.url, "NOVALOAD_JAEGER_URL": "http://j.test"},
        )
        received = server.requests()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "puts trace context on its requests itself" in proc.stderr
    assert [r["traceparent"][3:35] for r in received] == ["a" * 32] * 2
    assert not (tmp_path / "run" / "k6-traced.js").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert {e["trace_id"] for e in summary["novaload"]["exemplars"]} == {"a" * 32}
    assert 'href="http://j.test/trace/' + "a" * 32 + '"' in (tmp_path / "run" / "report.html").read_text()


DEMO_SCRIPT = """
import http from 'k6/http';
export const options = { vus: 2, iterations: 12 };
export default function () {
  const base = __ENV.NOVALOAD_BASE_URL;
  http.get(`${base}/api/v1/items`, { tags: { name: 'items' } });
  http.get(`${base}/api/v1/reports/usage`, { tags: { name: 'usage' } });
}
"""


def test_a_traced_run_against_the_demo_target_shows_whole_traces(tmp_path: Path) -> None:
    """k6's trace context, the demo target's spans under it (exported over OTLP to a real
    receiver), and the exemplars pointing at them: the slowest on the slow report."""
    from novaload.scenario.render import DEMO_DEFAULT_URL
    from novaload.target.process import is_target_running

    require_tool(not is_target_running(DEMO_DEFAULT_URL), f"a demo target already runs at {DEMO_DEFAULT_URL}")
    script = tmp_path / "demo.js"
    script.write_text(DEMO_SCRIPT)
    out = tmp_path / "run"
    with OtlpReceiver() as otlp:
        proc = novaload(
            "run",
            str(script),
            "--env",
            "local",
            "--traces",
            "--out-dir",
            str(out),
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url},
            cwd=tmp_path,
            timeout=240,
        )
        spans = otlp.spans()
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    servers = {s["trace_id"]: s for s in spans if s["kind"] == 2}
    assert len(servers) == 24  # every request of the run, each its own trace
    assert {s["attributes"].get("testid") for s in servers.values()} == {run_id}
    exemplars = json.loads((out / "summary.json").read_text())["novaload"]["exemplars"]
    routes = {"items": "/api/v1/items", "usage": "/api/v1/reports/usage"}
    for e in exemplars:
        span = servers[e["trace_id"]]  # the target's side of the exemplar's request
        assert span["attributes"]["http.route"] == routes[e["endpoint"]]
        assert span["duration_ms"] <= e["duration_ms"]  # inside k6's view of the request
    assert [e["endpoint"] for e in exemplars[:5]] == ["usage"] * 5
