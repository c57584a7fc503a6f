"""Probes: no verdict that k6 would not give.

* ``report`` on k6's JSON output of a run k6 failed: k6's JSON lists a thresholded
  submetric (``http_req_duration{name:search}``) but none of its thresholds, so without
  the script (``--script``) or k6's summary the verdict is "thresholds incomplete" (exit
  7), never a pass; with ``--script`` it is k6's own (99).
* an explicit ``--baseline`` that cannot be read is an error (exit 2), not a gate that
  switched itself off;
* k6 crashing (a Go runtime crash: exit 2; killed by a signal: 128+N) is named as such,
  with k6's own lines, and never reported as novaload's usage error (2);
* what k6 refuses at start (a duration past Go's time.Duration) is refused before a run
  folder is claimed;
* ``--monitor`` keeps a script's own ``testid`` tag.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6


def k6() -> str:
    from support import k6_path, require_tool

    path = k6_path()
    require_tool(path is not None, "k6 binary not found")
    assert path is not None
    return str(path)


SUBMETRIC_SCRIPT = """
import http from 'k6/http';
export const options = {
  vus: 1, iterations: 3,
  thresholds: { 'http_req_duration{name:search}': [`p(95)<${__ENV.LIMIT_MS || 60000}`] },
};
export default function () {
  http.get(__ENV.BASE + '/search?q=x', { tags: { name: 'search' } });
}
"""


@pytest.fixture
def k6_failed_run(probe, recorder) -> tuple[Path, Path]:
    """A real k6 run that k6 itself failed (99) on a submetric threshold; its JSON output."""
    script = probe.tmp / "submetric.js"
    script.write_text(SUBMETRIC_SCRIPT)
    raw = probe.tmp / "raw.json"
    done = subprocess.run(
        [k6(), "run", "-q", "--out", f"json={raw}", "-e", "LIMIT_MS=0.0001", "-e", f"BASE={recorder.url}",
         str(script)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "K6_NO_USAGE_REPORT": "true"},
    )  # fmt: skip
    assert done.returncode == 99, done.stderr[-2000:]
    metric_lines = [json.loads(line) for line in raw.read_text().splitlines() if '"type":"Metric"' in line]
    assert any(m["data"]["submetrics"] for m in metric_lines)  # listed, without its thresholds
    return script, raw


def test_report_of_a_run_k6_failed_on_a_submetric_is_not_a_pass(probe, k6_failed_run):
    _, raw = k6_failed_run
    proc = probe.run("report", str(raw), "--out-dir", str(probe.tmp / "out"))
    probe.exit_ok(proc.returncode, 7, proc.stdout, proc.stderr)
    assert "http_req_duration{name:search}" in proc.stdout + proc.stderr
    summary = json.loads((probe.tmp / "out" / "summary.json").read_text())
    assert "passed" not in json.dumps(summary.get("verdict", ""))


def test_report_with_the_script_exits_as_k6_did(probe, k6_failed_run):
    script, raw = k6_failed_run
    proc = probe.run("report", str(raw), "--script", str(script), "-e", "LIMIT_MS=0.0001",
                     "--out-dir", str(probe.tmp / "out"))  # fmt: skip
    probe.exit_ok(proc.returncode, 99, proc.stdout, proc.stderr)


def test_report_with_the_script_and_its_env_judges_the_thresholds_k6_saw(probe, k6_failed_run):
    """Without -e the script's threshold is p(95)<60000, which the run passes."""
    script, raw = k6_failed_run
    proc = probe.run("report", str(raw), "--script", str(script), "--out-dir", str(probe.tmp / "out"))
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)


def test_report_with_a_script_k6_cannot_inspect_is_one_line(probe, k6_failed_run):
    _, raw = k6_failed_run
    bad = probe.tmp / "bad.js"
    bad.write_text("export const options = {;\n")
    proc = probe.run("report", str(raw), "--script", str(bad), "--out-dir", str(probe.tmp / "out"))
    probe.one_line_error(proc, 2, "bad.js", "k6 inspect")


# ---- --baseline --------------------------------------------------------------------------


def baseline_run(probe, history: Path, baseline: str, out: str = "run"):
    script = probe.script("sleep(0.05);", options="{ vus: 1, iterations: 2 }")
    return probe.run("run", str(script), "--out-dir", str(probe.tmp / out), "--baseline", baseline,
                     env={"NOVALOAD_HISTORY_DIR": str(history)}, timeout=120)  # fmt: skip


def test_a_corrupt_history_is_an_error_for_an_explicit_baseline(probe):
    history = probe.tmp / "history"
    history.mkdir()
    (history / "novaload-history.sqlite").write_bytes(b"this is not a database" * 100)
    proc = baseline_run(probe, history, "last-passing")
    probe.one_line_error(proc, 2, "novaload-history.sqlite")


def test_a_locked_history_is_an_error_for_an_explicit_baseline(probe):
    history = probe.tmp / "history"
    first = baseline_run(probe, history, "last-passing", out="first")  # creates the store
    probe.exit_ok(first.returncode, 0, first.stdout, first.stderr)
    con = sqlite3.connect(history / "novaload-history.sqlite", timeout=1, check_same_thread=False)
    con.execute("BEGIN EXCLUSIVE")
    try:
        proc = baseline_run(probe, history, "last-passing")
    finally:
        con.rollback()
        con.close()
    probe.one_line_error(proc, 2, "novaload-history.sqlite")


def test_a_baseline_run_id_that_is_not_in_the_history_is_an_error(probe):
    history = probe.tmp / "history"
    first = baseline_run(probe, history, "last", out="first")
    probe.exit_ok(first.returncode, 0, first.stdout, first.stderr)
    proc = baseline_run(probe, history, "probe-20200101-000000-abcdef")
    probe.one_line_error(proc, 2, "probe-20200101-000000-abcdef")


# ---- k6 crashing -------------------------------------------------------------------------------


def wrapper(probe, body: str) -> Path:
    """A ``--k6`` that is the real k6, with ``body`` run before it is exec'd for ``k6 run``."""
    path = probe.tmp / "k6-wrapper"
    path.write_text(f'#!/bin/sh\nif [ "$1" = run ]; then\n{body}\nfi\nexec {k6()} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


LONG = "sleep(0.2);"


def test_a_real_k6_go_runtime_crash_is_named_with_its_lines(probe):
    """SIGSEGV sent to k6 makes the Go runtime crash: it prints the trace and exits 2."""
    k6_bin = wrapper(probe, "( sleep 2; kill -SEGV $$ ) &")
    script = probe.script(LONG, options="{ vus: 1, duration: '20s' }")
    proc = probe.run("run", str(script), "--k6", str(k6_bin), "--out-dir", str(probe.tmp / "run"), timeout=90)
    probe.exit_ok(proc.returncode, 8, proc.stdout, proc.stderr)
    assert "usage, configuration or input error" not in proc.stdout + proc.stderr
    assert "k6 crashed" in proc.stderr
    assert "SIGSEGV" in proc.stderr  # k6's own line
    record = probe.record(probe.tmp / "run")
    assert record["exit_code"] == 8 and "crashed" in record["verdict"]


def test_a_k6_killed_by_sigkill_is_named_a_crash(probe):
    k6_bin = wrapper(probe, "( sleep 2; kill -KILL $$ ) &")
    script = probe.script(LONG, options="{ vus: 1, duration: '20s' }")
    proc = probe.run("run", str(script), "--k6", str(k6_bin), "--out-dir", str(probe.tmp / "run"), timeout=90)
    probe.exit_ok(proc.returncode, 137, proc.stdout, proc.stderr)
    assert "k6 crashed" in proc.stderr and "SIGKILL" in proc.stderr
    assert "crashed" in probe.record(probe.tmp / "run")["verdict"]


def test_a_go_panic_printed_by_k6_is_shown_and_exits_8(probe):
    """A k6 that panics outside its own recovery (its trace, then exit 2)."""
    k6_bin = wrapper(
        probe,
        "echo 'panic: runtime error: invalid memory address or nil pointer dereference' >&2\n"
        "echo '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]' >&2\n"
        "echo 'goroutine 1 [running]:' >&2\nexit 2",
    )
    script = probe.script(LONG)
    proc = probe.run("run", str(script), "--k6", str(k6_bin), "--out-dir", str(probe.tmp / "run"), timeout=90)
    probe.exit_ok(proc.returncode, 8, proc.stdout, proc.stderr)
    assert "panic: runtime error: invalid memory address" in proc.stderr
    assert "usage, configuration or input error" not in proc.stdout + proc.stderr


# ---- what k6 refuses at start -------------------------------------------------------------------


@pytest.mark.parametrize("duration", ["9999999999h", "2562048h"])
def test_a_duration_past_k6s_longest_is_refused_before_a_run_folder(probe, duration):
    script = probe.script(LONG)
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--duration", duration, "--out-dir", str(out))
    probe.one_line_error(proc, 2, "--duration", "2562047h")
    assert not out.exists()


def test_a_profile_duration_past_k6s_longest_is_refused(probe, project):
    config = project("plain", "description: p\nbase_url: http://127.0.0.1:9\n")
    path = config / "profiles.yaml"
    text = path.read_text()
    path.write_text(text.replace("    duration: 5s\n", "    duration: 3000000h\n", 1))
    out = probe.tmp / "run"
    proc = probe.run("--config-dir", str(config), "run", "api", "--env", "plain", "--profile", "dev",
                     "--out-dir", str(out))  # fmt: skip
    probe.one_line_error(proc, 2, "profiles.yaml", "profiles.dev.duration", "2562047h")
    assert not out.exists()


def test_vus_past_k6s_int64_are_refused_before_a_run_folder(probe):
    script = probe.script(LONG)
    out = probe.tmp / "run"
    proc = probe.run("run", str(script), "--vus", str(2**63), "--out-dir", str(out))
    assert proc.returncode == 2, proc.stderr
    probe.no_traceback(proc.stdout, proc.stderr)
    assert not out.exists()


# ---- --monitor and the script's testid -------------------------------------------------------


@pytest.fixture
def influxdb() -> Iterator[str]:
    """Just enough of InfluxDB 1.x for k6's output: /ping, /query, /write."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b'{"results":[{"statement_id":0}]}' if self.path.startswith("/query") else b""
            self.send_response(200 if body else 204)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Influxdb-Version", "1.8.10")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_monitor_keeps_the_scripts_own_testid(probe, influxdb):
    script = probe.script("sleep(0.05);", options="{ vus: 1, iterations: 2, tags: { testid: 'mine-42' } }")
    out = probe.tmp / "run"
    proc = probe.run(
        "run", str(script), "--monitor", "--out-dir", str(out),
        env={"NOVALOAD_INFLUXDB_URL": influxdb, "NOVALOAD_MONITOR_OUTPUTS": "influxdb"},
        timeout=90,
    )  # fmt: skip
    probe.exit_ok(proc.returncode, 0, proc.stdout, proc.stderr)
    points = [json.loads(line) for line in (out / "k6-results.json").read_text().splitlines()]
    testids = {p["data"]["tags"].get("testid") for p in points if p["type"] == "Point"}
    assert testids == {"mine-42"}, testids
    assert probe.record(out)["testid"] == "mine-42"
