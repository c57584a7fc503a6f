"""junit.xml fails exactly when the exit code does, on real k6 runs through `novaload
report`: failed checks alone exit 0 and fail no test case (as k6's own jUnit()); a
``checks`` threshold, a plain and a windowed threshold exit 99 and fail their own case."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6


def _report(run, out: Path, thresholds: str | None, tmp_path: Path) -> tuple[int, ET.Element]:
    args = [str(run.json), "--k6-summary", str(run.export), "--out-dir", str(out)]
    if thresholds is not None:
        slo = tmp_path / "slo.yaml"
        slo.write_text(thresholds)
        args += ["--thresholds", str(slo), "--replace-thresholds"]
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "report", *args], capture_output=True, text=True, timeout=120
    )
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None, proc.stderr
    return proc.returncode, suite


def _failed(suite: ET.Element) -> list[tuple[str | None, str | None]]:
    return [
        (c.get("classname"), c.get("name")) for c in suite.iter("testcase") if c.find("failure") is not None
    ]


@pytest.mark.parametrize(
    ("thresholds", "exit_code", "failed"),
    [
        (None, 0, []),
        ('http_reqs: ["count>0"]\n', 0, []),
        ('checks: ["rate>0.99"]\n', 99, [("thresholds.checks", "rate>0.99")]),
        ('http_req_duration: ["p(95)<0.000001"]\n', 99, [("thresholds.http_req_duration", "p(95)<0.000001")]),
        (
            'http_req_duration: ["p(95) < 0.000001 within 1s"]\n',
            99,
            [("thresholds.http_req_duration", "p(95) < 0.000001 within 1s")],
        ),
    ],
    ids=["no-thresholds", "passing-threshold", "checks-threshold", "threshold", "windowed"],
)
def test_junit_failures_follow_the_exit_code(k6_runs, tmp_path: Path, thresholds, exit_code, failed) -> None:
    run = k6_runs("checks_fail.js")
    code, suite = _report(run, tmp_path / "rep", thresholds, tmp_path)
    assert code == exit_code
    assert _failed(suite) == failed
    assert int(suite.get("failures", "-1")) == len(failed)
    # the failed checks are still there, with their counts, whatever the verdict
    odd = next(c for c in suite.iter("testcase") if c.get("name") == "odd iteration")
    assert odd.get("classname") == "checks.root"
    assert odd.findtext("system-out") == "20 of 40 evaluations passed, 20 failed"
