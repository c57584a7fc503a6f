"""Windowed SLOs on real k6 runs against the demo target.

The breach run drives the target itself: its one VU slows the target down (the
target's admin API) from 20 s to 60 s into an 80 s run and restores it afterwards.
The closed model makes the slow stretch produce few requests, so the whole-run p95
stays under the limit while every second of the breach is far above it: a
whole-run threshold passes, the windowed ones fail, and the report says where.
Every windowed figure is recomputed here from k6's raw JSON lines.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from support import k6_path, k6_percentile, require_tool

pytestmark = pytest.mark.k6

SCRIPT = """
import http from 'k6/http';
const BASE = __ENV.NOVALOAD_BASE_URL;
const SLOW_FROM_S = Number(__ENV.SLOW_FROM_S || -1), SLOW_TO_S = Number(__ENV.SLOW_TO_S || -1);
export const options = { scenarios: { one: { executor: 'constant-vus', vus: 1, duration: __ENV.DURATION } } };
let started = 0, phase = 'fast';
function setLatency(median, p99) {
  http.post(BASE + '/api/v1/admin/settings', JSON.stringify({ latency_median_ms: median, latency_p99_ms: p99 }),
            { headers: { 'Content-Type': 'application/json' }, tags: { name: 'admin' } });
}
export default function () {
  if (!started) started = Date.now();
  const t = (Date.now() - started) / 1000;
  if (phase === 'fast' && SLOW_FROM_S >= 0 && t >= SLOW_FROM_S && t < SLOW_TO_S) { setLatency(400, 600); phase = 'slow'; }
  if (phase === 'slow' && t >= SLOW_TO_S) { setLatency(8, 30); phase = 'done'; }
  http.get(BASE + '/api/v1/cluster/status', { tags: { name: 'status' } });
}
"""

SLO = {
    "http_req_duration{name:status}": [
        "p(95) < 150",  # whole run: passes (the slow stretch has few requests)
        "p(95) < 150 for 30s",  # sustained: broken in every second of the 40 s breach
        "p(95) < 150 within 30s",  # sliding 30 s windows
    ],
    "http_req_failed": ["rate < 0.01 within 10s"],
}


@pytest.fixture
def target() -> Iterator[str]:
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    proc = TargetProcess.start(TargetSettings(latency_median_ms=8.0, latency_p99_ms=30.0))
    try:
        yield proc.url
    finally:
        proc.stop()


def _novaload(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def _run_and_judge(
    tmp_path: Path, target: str, duration: str, slow: tuple[int, int] | None
) -> tuple[Path, dict]:
    require_tool(k6_path() is not None, "k6 not installed")
    script = tmp_path / "slo.js"
    script.write_text(SCRIPT)
    env = {"DURATION": duration}
    if slow:
        env |= {"SLOW_FROM_S": str(slow[0]), "SLOW_TO_S": str(slow[1])}
    run = _novaload("run", str(script), "--target", target, "--out-dir", str(tmp_path / "run"), env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    slo = tmp_path / "slo.json"
    slo.write_text(json.dumps(SLO))
    out = tmp_path / "judged"
    report = _novaload(
        "report",
        str(tmp_path / "run" / "k6-results.json"),
        "--thresholds",
        str(slo),
        "--replace-thresholds",
        "--out-dir",
        str(out),
    )
    summary = json.loads((out / "summary.json").read_text())
    return out, {"rc": report.returncode, "stdout": report.stdout, "summary": summary}


def _raw(path: Path, metric: str, name: str | None) -> list[tuple[float, float]]:
    """(unix seconds, value) of every sample of ``metric`` (with tag name=``name``)."""
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] != "Point" or rec["metric"] != metric:
            continue
        if name is not None and rec["data"]["tags"].get("name") != name:
            continue
        out.append((datetime.fromisoformat(rec["data"]["time"]).timestamp(), rec["data"]["value"]))
    return out


def _first_sample(path: Path) -> float:
    return min(
        datetime.fromisoformat(json.loads(line)["data"]["time"]).timestamp()
        for line in path.read_text().splitlines()
        if '"type":"Point"' in line
    )


def _per_second(samples: list[tuple[float, float]], t0: float) -> dict[int, list[float]]:
    by: dict[int, list[float]] = {}
    for ts, v in samples:
        by.setdefault(math.floor(round((ts - t0) * 1e6) / 1e6), []).append(v)
    return by


@pytest.mark.slow
def test_a_40s_breach_fails_the_window_slo_while_the_whole_run_passes(tmp_path: Path, target: str) -> None:
    out, got = _run_and_judge(tmp_path, target, "80s", (20, 60))
    assert got["rc"] == 99, got["stdout"]
    th = got["summary"]["metrics"]["http_req_duration{name:status}"]["thresholds"]
    assert th["p(95) < 150"]["ok"] is True  # the whole run passes ...
    assert th["p(95) < 150 for 30s"]["ok"] is False  # ... the sustained breach does not
    assert th["p(95) < 150 within 30s"]["ok"] is False
    # the breached stretch is where the target was slow (k6 started the clock a little later)
    (sustained,) = th["p(95) < 150 for 30s"]["breaches"]
    assert 18 <= sustained["from_s"] <= 24 and 57 <= sustained["to_s"] <= 64
    assert 36 <= sustained["to_s"] - sustained["from_s"] <= 44
    # every window's p95 exactly as k6 would compute it over that second's samples
    raw_path = tmp_path / "run" / "k6-results.json"
    t0 = _first_sample(raw_path)
    per_second = _per_second(_raw(raw_path, "http_req_duration", "status"), t0)
    worst = max(k6_percentile(v, 95) for v in per_second.values())
    assert th["p(95) < 150 for 30s"]["observed"] == worst
    assert th["p(95) < 150 for 30s"]["windows_judged"] == len(per_second)
    breached = sorted(s for s, v in per_second.items() if k6_percentile(v, 95) >= 150)
    assert th["p(95) < 150 for 30s"]["windows_breached"] == len(breached)
    all_status = [v for v in per_second.values() for v in v]
    assert k6_percentile(all_status, 95) < 150
    # the report shows it: the breached stretch is shaded on the threshold's chart
    html = (out / "report.html").read_text()
    assert 'data-breach="' in html and "p(95) &lt; 150 for 30s" in html
    assert "for 30s" in (out / "junit.xml").read_text()


def test_a_steady_run_passes_the_window_slo(tmp_path: Path, target: str) -> None:
    _, got = _run_and_judge(tmp_path, target, "12s", None)
    assert got["rc"] == 0, got["stdout"]
    th = got["summary"]["metrics"]["http_req_duration{name:status}"]["thresholds"]
    assert all(v["ok"] is True for v in th.values()), th
    assert got["summary"]["metrics"]["http_req_failed"]["thresholds"]["rate < 0.01 within 10s"]["ok"] is True
    # the sliding 30 s window covers the whole 12 s run: its p95 is the whole run's
    assert th["p(95) < 150 within 30s"]["windows_judged"] == 1
    raw_path = tmp_path / "run" / "k6-results.json"
    values = [v for _, v in _raw(raw_path, "http_req_duration", "status")]
    assert th["p(95) < 150 within 30s"]["observed"] == k6_percentile(values, 95)
    assert np.isfinite(th["p(95) < 150 for 30s"]["observed"])
