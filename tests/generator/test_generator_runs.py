"""Load-generator health on real k6 runs: a k6 pinned to one CPU, doing heavy JavaScript
per iteration under an arrival rate it cannot reach, is flagged untrustworthy (and exits 5
with --strict-generator); an easy run is not. Every figure in summary.json is checked
against the raw samples file and k6's raw JSON output."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import k6_path, require_tool

pytestmark = pytest.mark.k6

SATURATED = """
export const options = {
  scenarios: {
    busy: {
      executor: 'constant-arrival-rate',
      rate: 2000, timeUnit: '1s', duration: '13s',
      preAllocatedVUs: 4, maxVUs: 8,
    },
  },
};
export default function () {
  // ~ tens of ms of pure JavaScript per iteration on one core
  let x = 0;
  for (let i = 0; i < 200000; i++) { x += Math.sqrt(i) * Math.sin(i); }
  if (x === 42) console.log(x);
}
"""

EASY = """
export const options = {
  scenarios: {
    easy: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '5s',
            preAllocatedVUs: 2, maxVUs: 5 },
  },
};
export default function () { let x = 0; for (let i = 0; i < 100; i++) { x += i; } }
"""


def _run(script: Path, out: Path, *, pin: bool) -> subprocess.CompletedProcess[str]:
    require_tool(k6_path() is not None, "k6 not installed")
    cmd = [sys.executable, "-m", "novaload", "run", str(script), "--out-dir", str(out), "--strict-generator"]
    if pin:
        taskset = shutil.which("taskset")
        require_tool(taskset is not None, "taskset (util-linux) not installed")
        cmd = [str(taskset), "-c", str(min(os.sched_getaffinity(0))), *cmd]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def _raw_samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "generator-samples.jsonl").read_text().splitlines()]


def _raw_dropped(out: Path) -> int:
    total = 0.0
    for line in (out / "k6-results.json").read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Point" and rec["metric"] == "dropped_iterations":
            total += rec["data"]["value"]
    return int(total)


def _longest(samples: list[dict], limit: float) -> float:
    best = run = 0.0
    for s in samples:
        demand = (s["cpu_percent"] + (s["wait_percent"] or 0.0)) / s["cpu_share"]
        run = run + s["interval_s"] if demand >= limit else 0.0
        best = max(best, run)
    return best


def test_saturated_generator_is_flagged_and_exits_5(tmp_path: Path) -> None:
    script = tmp_path / "saturated.js"
    script.write_text(SATURATED)
    out = tmp_path / "run"
    proc = _run(script, out, pin=True)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    gen = json.loads((out / "summary.json").read_text())["novaload"]["load_generator"]
    assert gen["verdict"] == "untrustworthy"
    raw = _raw_samples(out)
    assert len(raw) >= 10 and all(0 < s["cpu_share"] <= 1.0 for s in raw)  # pinned: at most one core
    # every figure from the raw files
    assert gen["dropped_iterations"] == _raw_dropped(out) > 0
    assert math.isclose(gen["longest_saturated_s"], _longest(raw, 90.0), rel_tol=1e-12)
    assert gen["longest_saturated_s"] >= 10
    assert [s["cpu_percent"] for s in gen["samples"]] == [s["cpu_percent"] for s in raw]
    assert gen["vu_ceilings"] == [{"scenario": "busy", "executor": "constant-arrival-rate", "max_vus": 8}]
    reasons = " | ".join(gen["reasons"])
    assert "CPU share" in reasons and "iterations dropped" in reasons and "VU ceiling of 8" in reasons
    # every report says it
    assert "UNTRUSTWORTHY" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert 'id="generator"' in html and "k6 CPU, % of its share" in html
    assert "Dropped iterations (when k6 fell behind" in html
    # when it fell behind: the time series' dropped iterations add up to k6's raw count
    dropped_col = [line.split(",")[-1] for line in (out / "timeseries.csv").read_text().splitlines()]
    assert (
        dropped_col[0] == "dropped_iterations"
        and sum(int(v) for v in dropped_col[1:]) == gen["dropped_iterations"]
    )
    assert "load generator: UNTRUSTWORTHY" in proc.stdout
    assert '<testcase classname="load_generator" name="trustworthy"' in (out / "junit.xml").read_text()
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["exit_code"] == 5 and run_json["verdict"] == "untrustworthy"


def test_easy_run_is_trustworthy(tmp_path: Path) -> None:
    script = tmp_path / "easy.js"
    script.write_text(EASY)
    out = tmp_path / "run"
    proc = _run(script, out, pin=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gen = json.loads((out / "summary.json").read_text())["novaload"]["load_generator"]
    assert gen["verdict"] == "trustworthy", gen["reasons"]
    assert gen["reasons"] == [] and gen["dropped_iterations"] == _raw_dropped(out) == 0
    raw = _raw_samples(out)
    assert len(raw) >= 3 and gen["sampled"]
    assert math.isclose(gen["longest_saturated_s"], _longest(raw, 90.0), rel_tol=1e-12)
    assert max(s["rss_bytes"] for s in raw) == gen["peak_rss_bytes"] > 0
    assert "load generator: trustworthy" in proc.stdout


def test_an_exited_but_unreaped_k6_gives_no_sample() -> None:
    """A zombie still has /proc/PID/stat but no memory: sampling it gave rss_bytes None beside
    real figures (seen once in CI: the easy run's last sample)."""
    import subprocess
    import time

    from novaload.runners.health import ProcessProbe

    proc = subprocess.Popen(["sleep", "30"])
    try:
        probe = ProcessProbe(proc.pid)
        assert probe.sample() is None  # the first reading only starts the interval
        time.sleep(0.05)
        live = probe.sample()
        assert live is not None and live["rss_bytes"] and live["rss_bytes"] > 0
        proc.kill()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # killed, not yet reaped: a zombie
            if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                break
            time.sleep(0.01)
        time.sleep(0.05)
        assert probe.sample() is None
    finally:
        proc.kill()
        proc.wait()
