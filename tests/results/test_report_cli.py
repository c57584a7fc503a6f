"""`novaload report` end to end on a real k6 run: every file, and re-judging with
`--thresholds`."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6

FILES = (
    "summary.json",
    "report.html",
    "report.md",
    "endpoints.csv",
    "timeseries.csv",
    "protocols.csv",
    "junit.xml",
)


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", "report", *args], capture_output=True, text=True, timeout=120
    )


def test_report_rebuilds_every_file(k6_runs, tmp_path: Path):
    run = k6_runs("mixed.js")
    out = tmp_path / "rep"
    proc = report(str(run.json), "--k6-summary", str(run.export), "--out-dir", str(out))
    assert proc.returncode in (0, 99), proc.stderr
    for name in FILES:
        assert (out / name).is_file(), name


def test_thresholds_file_rejudges_a_finished_run(k6_runs, tmp_path: Path):
    run = k6_runs("mixed.js")
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        'http_req_duration: ["p(95)<0.0001", "p(99.9)<600000"]\n'
        '"http_req_duration{name:never-requested}": ["p(95)<100"]\n'
    )
    out = tmp_path / "rep"
    proc = report(
        str(run.json),
        "--k6-summary",
        str(run.export),
        "--thresholds",
        str(slo),
        "--replace-thresholds",
        "--out-dir",
        str(out),
    )
    assert proc.returncode == 99, proc.stdout + proc.stderr
    verdicts = {
        (t, expr): v["ok"]
        for t, m in json.loads((out / "summary.json").read_text())["metrics"].items()
        for expr, v in m.get("thresholds", {}).items()
    }
    assert verdicts == {
        ("http_req_duration", "p(95)<0.0001"): False,
        ("http_req_duration", "p(99.9)<600000"): True,
        # k6 judges an empty Trend on its zeros (p(95)=0 < 100 passes); novaload flags it
        ("http_req_duration{name:never-requested}", "p(95)<100"): True,
    }
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert metrics["http_req_duration{name:never-requested}"]["thresholds"]["p(95)<100"]["no_data"] is True
    cases = {tc.get("name"): tc for tc in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    assert cases["p(95)<0.0001"].find("failure") is not None
    assert cases["p(95)<100"].find("skipped") is not None  # no data, never "passed"


def test_bad_thresholds_file_names_file_and_expression(k6_runs, tmp_path: Path):
    run = k6_runs("mixed.js")
    slo = tmp_path / "slo.yaml"
    slo.write_text('http_req_duration: ["p(95) ~ 3"]\n')
    proc = report(str(run.json), "--thresholds", str(slo), "--out-dir", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "slo.yaml" in proc.stderr and "p(95) ~ 3" in proc.stderr
    assert "Traceback" not in proc.stderr
