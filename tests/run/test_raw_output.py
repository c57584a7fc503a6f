"""`novaload run --raw json|json.gz|none`, the scan during the run, and crash safety.

Real k6 against the real demo target; every run is bounded (iterations or seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_run_e2e import REPO, count_points, novaload

pytestmark = pytest.mark.k6

SCRIPT = """
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 2, iterations: 40, thresholds: { http_req_duration: ['p(95)<5000'] } };
export default function () {
  const r = http.get(__ENV.NOVALOAD_BASE_URL + '/api/v1/items', { tags: { name: 'items' } });
  check(r, { 'is 200': (x) => x.status === 200 });
}
"""


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())["metrics"]


def _run(tmp_path: Path, demo_target: str, raw: str) -> Path:
    script = tmp_path / "s.js"
    script.write_text(SCRIPT)
    out = tmp_path / raw
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out), "--raw", raw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_raw_json_gz_keeps_a_gzip_file_that_report_reads(tmp_path: Path, demo_target: str):
    out = _run(tmp_path, demo_target, "json.gz")
    assert (out / "k6-results.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert not (out / "k6-results.json").exists()
    rebuilt = tmp_path / "rebuilt"
    proc = novaload("report", str(out), "--out-dir", str(rebuilt))  # the run folder itself
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _metrics(rebuilt) == _metrics(out)
    assert _metrics(out)["http_reqs"]["count"] == 40


def test_raw_none_keeps_only_the_report(tmp_path: Path, demo_target: str):
    out = _run(tmp_path, demo_target, "none")
    assert sorted(p.name for p in out.glob("k6-results*")) == []  # no raw output, no pipe left
    mine = _metrics(out)
    k6 = json.loads((out / "k6-summary-export.json").read_text())["metrics"]
    assert mine["http_reqs"]["count"] == k6["http_reqs"]["count"] == 40
    for key in ("min", "med", "max", "p(90)", "p(95)"):
        assert mine["http_req_duration"][key] == k6["http_req_duration"][key], key
    assert mine["checks"]["passes"] == k6["checks"]["passes"]
    proc = novaload("report", str(out), "--out-dir", str(tmp_path / "again"))
    assert proc.returncode == 2 and "--raw none" in proc.stderr


def test_bad_raw_value_is_a_usage_error(tmp_path: Path):
    proc = novaload("run", "api", "--raw", "csv", "--out-dir", str(tmp_path / "x"))
    assert proc.returncode == 2 and "--raw 'csv'" in proc.stderr


LONG = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '60s' };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); sleep(0.02); }
"""


def test_report_rebuilds_a_run_whose_novaload_process_died(tmp_path: Path, demo_target: str):
    """novaload killed (SIGKILL) mid-run: k6 dies with it, the raw output stays, and
    `novaload report RUN_FOLDER` still produces the report from it."""
    script = tmp_path / "long.js"
    script.write_text(LONG)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--target",
            demo_target,
            "--out-dir",
            str(out),
        ],
        env={**os.environ, "NO_COLOR": "1"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = out / "k6-results.json"
    deadline = time.monotonic() + 30
    while not results.exists() or count_points(results, "http_reqs") < 20:
        assert time.monotonic() < deadline, "k6 never wrote results"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    time.sleep(0.5)  # k6 follows its parent (PR_SET_PDEATHSIG)
    rebuilt = tmp_path / "rebuilt"
    rep = novaload("report", str(out), "--out-dir", str(rebuilt))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert (rebuilt / "report.html").is_file()
    assert _metrics(rebuilt)["http_reqs"]["count"] == count_points(results, "http_reqs")


def _pgrp_and_session(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[2]), int(fields[3])  # pgrp, session


def test_k6_shares_novaloads_session_but_not_the_terminals_ctrl_c(tmp_path: Path, demo_target: str):
    """k6 runs in its own process group (a terminal's Ctrl-C, sent to the foreground
    group, reaches novaload only) but in novaload's session: the kernel's autogroup
    scheduler schedules each session apart, which halved k6's rate on a busy machine."""
    from test_run_e2e import _k6_processes_for

    script = tmp_path / "long.js"
    script.write_text(LONG)
    out = tmp_path / "run"
    proc = subprocess.Popen(  # its own session, as a job in a terminal
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--target",
            demo_target,
            "--out-dir",
            str(out),
        ],
        env={**os.environ, "NO_COLOR": "1"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (pids := _k6_processes_for(str(out))):
            assert time.monotonic() < deadline, "k6 did not start"
            time.sleep(0.1)
        k6_pgrp, k6_session = _pgrp_and_session(pids[0])
        nl_pgrp, nl_session = _pgrp_and_session(proc.pid)
        assert k6_session == nl_session
        assert k6_pgrp != nl_pgrp
        time.sleep(1)
        os.killpg(nl_pgrp, signal.SIGINT)  # the terminal's Ctrl-C: the foreground group only
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert json.loads((out / "run.json").read_text())["interrupted"] is True
    assert (out / "report.html").is_file()  # one graceful stop, forwarded by novaload
