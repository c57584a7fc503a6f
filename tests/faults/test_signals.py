"""Probes: signals to novaload and to k6 (local runner).

Each starts a 30-second test against the demo target that novaload starts, interrupts
it once k6 is sending load, and checks what a user or CI is left with: the exit code,
``run.json`` saying how the run ended, the reports the collected results allow, no
traceback, and (the ``probe`` fixture) no process left behind.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6

# teardown() talks to the target after the interrupt: it proves the target was still
# serving when k6 finished (a terminal's Ctrl-C must not have reached it).
LONG_RUN = {
    "body": "http.get(__ENV.NOVALOAD_BASE_URL + '/health'); sleep(0.1);",
    "options": "{ vus: 2, duration: '30s' }",
}
TEARDOWN = (
    "\nexport function teardown() {\n"
    "  const r = http.get(__ENV.NOVALOAD_BASE_URL + '/health');\n"
    "  console.warn('teardown status ' + r.status);\n"
    "}\n"
)


def start_long_run(probe, *extra: str) -> tuple:
    script = probe.script(**LONG_RUN)
    script.write_text(script.read_text() + TEARDOWN)
    out = probe.tmp / "run"
    proc = probe.start("run", str(script), "--env", "local", "--out-dir", str(out), *extra)
    results = out / "k6-results.json"
    sending = probe.wait_for(lambda: results.is_file() and results.stat().st_size > 20_000, 45, 0.1)
    if not sending:
        proc.kill()
        code, _, err = probe.finish(proc)
        pytest.fail(f"k6 did not start sending load (exit {code}): {err[-2000:]}")
    return proc, out


def assert_interrupted_run_kept(probe, out: Path, code: int) -> dict:
    record = probe.record(out)
    assert record["interrupted"] is True
    assert record["exit_code"] == code
    assert record.get("ended_at")
    assert (out / "report.html").is_file() and (out / "summary.json").is_file()
    return record


def test_one_ctrl_c_stops_k6_gracefully_and_keeps_the_report(probe):
    proc, out = start_long_run(probe)
    probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 105, stdout, stderr)  # k6: aborted by a signal
    assert_interrupted_run_kept(probe, out, 105)
    # The demo target did not get the terminal's Ctrl-C: teardown still reached it.
    assert "teardown status 200" in (out / "k6.log").read_text()


def test_two_quick_ctrl_c_kill_k6_and_still_leave_run_json_and_report(probe):
    proc, out = start_long_run(probe)
    probe.ctrl_c(proc)
    time.sleep(0.1)
    probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    assert code != 0
    probe.no_traceback(stdout, stderr)
    record = assert_interrupted_run_kept(probe, out, code)
    assert record["k6_exit_code"] is not None
    assert "run " + record["run_id"] in stdout  # the verdict line was printed


def test_a_ctrl_c_after_k6_stopped_does_not_cost_the_report(probe):
    """The second Ctrl-C of an impatient user lands while novaload writes the reports."""
    proc, out = start_long_run(probe)
    probe.ctrl_c(proc)
    assert probe.wait_for(lambda: not probe.programs("k6"), 30, 0.01)
    if proc.poll() is None:
        probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 105, stdout, stderr)
    assert_interrupted_run_kept(probe, out, 105)


def test_sigterm_is_one_graceful_stop(probe):
    proc, out = start_long_run(probe)
    os.kill(proc.pid, signal.SIGTERM)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 105, stdout, stderr)
    assert_interrupted_run_kept(probe, out, 105)


def test_sigkill_of_novaload_takes_k6_and_the_demo_target_with_it(probe):
    proc, out = start_long_run(probe)
    assert probe.processes_named("novaload.target"), "the demo target is not running"
    proc.kill()
    proc.wait()
    # The probe fixture waits for k6 and the target to go; checked here too, to say which.
    gone = probe.wait_for(lambda: not probe.processes(), 10, 0.1)
    assert gone, dict.fromkeys(probe.processes(), "alive")
    assert probe.record(out)["run_id"]  # the early record survives


def test_sigkill_of_k6_ends_the_run_with_k6s_status_and_a_report(probe):
    proc, out = start_long_run(probe)
    k6 = probe.programs("k6")
    assert len(k6) == 1, k6
    os.kill(k6[0], signal.SIGKILL)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 137, stdout, stderr)  # 128 + SIGKILL, passed through
    record = probe.record(out)
    assert record["k6_exit_code"] == 137 and record["exit_code"] == 137
    assert (out / "report.html").is_file()  # built from what k6 wrote before it died


def test_ctrl_c_before_k6_starts_exits_130_and_leaves_no_process(probe):
    script = probe.script(**LONG_RUN)
    out = probe.tmp / "run"
    proc = probe.start("run", str(script), "--env", "local", "--out-dir", str(out))
    # Interrupt while novaload starts up (imports, demo target): before k6 runs.
    assert probe.wait_for(lambda: probe.processes_named("novaload.target"), 30, 0.02)
    probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    probe.no_traceback(stdout, stderr)
    assert code in (130, 105), stderr


def test_sighup_of_novaload_closed_terminal_leaves_nothing_running(probe):
    """A closed terminal (or ssh session) sends SIGHUP: novaload dies, so must its children."""
    proc, out = start_long_run(probe)
    os.kill(proc.pid, signal.SIGHUP)
    probe.finish(proc)
    assert probe.wait_for(lambda: not probe.processes(), 10, 0.1), probe.processes()
    assert probe.record(out)["run_id"]


def test_the_demo_target_dying_mid_run_fails_requests_not_novaload(probe):
    """The system under test going away is a result (failed requests), not a crash."""
    script = probe.script(
        "http.get(__ENV.NOVALOAD_BASE_URL + '/health', { timeout: '1s' }); sleep(0.1);",
        options="{ vus: 2, duration: '4s' }",
    )
    out = probe.tmp / "run"
    proc = probe.start("run", str(script), "--env", "local", "--out-dir", str(out))
    results = out / "k6-results.json"
    assert probe.wait_for(lambda: results.is_file() and results.stat().st_size > 20_000, 45, 0.1)
    targets = probe.processes_named("novaload.target")
    assert len(targets) == 1, targets
    os.kill(targets[0], signal.SIGKILL)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 0, stdout, stderr)  # the script has no thresholds: k6 passes
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["http_req_failed"]["passes"] > 0  # the failures are in the report
    assert probe.record(out)["exit_code"] == 0


@pytest.mark.parametrize("streams", ["stdout", "stdout-and-stderr"])
def test_a_reader_that_goes_away_does_not_change_the_exit_code(probe, streams):
    """``novaload run … | grep -q …`` or ``| head -1``: the pipe closes early, the run's
    exit code (what CI acts on) and its files stay as they are."""
    import subprocess
    import sys

    script = probe.script(
        "http.get(__ENV.NOVALOAD_BASE_URL + '/health');", options="{ vus: 1, iterations: 3 }"
    )
    out = probe.tmp / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "novaload", "run", str(script), "--env", "local", "--out-dir", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if streams == "stdout-and-stderr" else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=probe.env(),
    )
    assert proc.stdout is not None
    if streams == "stdout-and-stderr":
        proc.stdout.readline()  # like head -1
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert probe.record(out)["exit_code"] == 0
    assert (out / "report.html").is_file()
