"""Every table novaload prints reads at 80 columns: no line wider, no value cut to "s…"
(a cell too long for its column wraps), and what the table is about is all there.

Real runs of a real script against the demo target feed history, compare, report, the
run's own summary and a suite; doctor and monitor status check this machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6

WIDTH = 80
CUT = re.compile(r"\S…")  # rich's ellipsis after a cut value; novaload's own "a … b" has spaces
SCRIPT = """
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  thresholds: {
    http_req_duration: ['p(95)<5000'],
    'http_req_duration{name:list_items_with_a_rather_long_name}': ['p(99)<8000'],
    checks: ['rate>0.5'],
  },
};
export default function () {
  const r = http.get(__ENV.NOVALOAD_BASE_URL + '/api/v1/items', { tags: { name: 'list_items_with_a_rather_long_name' } });
  check(r, { ok: (x) => x.status === 200 });
  http.get(__ENV.NOVALOAD_BASE_URL + '/health');
}
"""


def _novaload(cwd: Path, *args: str, code: int | None = 0, env: dict[str, str] | None = None) -> str:
    full = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "PROFILE", "GITHUB_STEP_SUMMARY")}
    full.update(COLUMNS=str(WIDTH), NO_COLOR="1", NOVALOAD_HISTORY_DIR=str(cwd / ".history"), **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=full,
    )
    if code is not None:
        assert proc.returncode == code, proc.stdout + proc.stderr
    return proc.stdout


def _fits(text: str, what: str) -> None:
    for line in text.splitlines():
        assert len(line) <= WIDTH, f"{what}: wider than {WIDTH}: {line!r}"
        assert not CUT.search(line), f"{what}: a value was cut: {line!r}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_target: str) -> tuple[Path, list[str], str]:
    cwd = tmp_path_factory.mktemp("tables")
    (cwd / "s.js").write_text(SCRIPT)
    printed = ""
    for name in ("r1", "r2"):
        printed = _novaload(cwd, "run", "s.js", "--target", demo_target, "--out-dir", name, "--", "-i", "30")
    ids = [json.loads((cwd / n / "run.json").read_text())["run_id"] for n in ("r1", "r2")]
    return cwd, ids, printed


def test_the_runs_own_summary(runs: tuple[Path, list[str], str]):
    _, ids, printed = runs
    # k6's own end-of-test summary comes first, as k6 prints it; novaload's follows.
    printed = printed[printed.index("\nthresholds") :]
    _fits(printed, "run")
    # The long metric name wraps inside its column (folded), whole.
    row = re.search(r"^ (http_req_duration\{\S+) +│ p\(99\)<8000 +│.*\n (\S*) ", printed, re.M)
    assert row is not None, printed
    assert (row[1] + row[2]).startswith("http_req_duration{name:list_items_with_a_rather_long_name}")
    assert ids[1] in printed


def test_history_default_and_wide(runs: tuple[Path, list[str], str]):
    cwd, ids, _ = runs
    shown = _novaload(cwd, "history")
    _fits(shown, "history")
    for run_id in ids:
        assert re.search(rf"^ {run_id} +│ local +│ passed +│", shown, re.M), shown
    wide = _novaload(cwd, "history", "--wide")
    assert "shared-iterations 30 iterations 1 VU" in wide and "│ s.js " in wide  # whole, however wide


def test_compare(runs: tuple[Path, list[str], str]):
    cwd, ids, _ = runs
    # The layout is under test, not the verdict: two short runs on a busy machine may
    # differ enough to be called a regression (exit 3), which changes no table.
    shown = _novaload(cwd, "compare", "r1", "r2", code=None)
    _fits(shown, "compare")
    doc = json.loads(_novaload(cwd, "compare", "r1", "r2", "--json", code=None))
    for endpoint in doc["endpoints"]:
        assert re.search(rf"^{re.escape(endpoint['name'])} *$", shown, re.M), endpoint["name"]  # a title line
        for metric in endpoint["metrics"]:
            for word in metric["status"].split():
                assert word in shown
    assert f"{ids[0]} → {ids[1]}" in shown


def test_report_thresholds(runs: tuple[Path, list[str], str]):
    cwd, _, _ = runs
    shown = _novaload(cwd, "report", "r2", "--out-dir", "rep")
    _fits(shown, "report")
    assert re.search(r"^ checks +│ rate>0\.5 +│", shown, re.M)


def test_suite(runs: tuple[Path, list[str], str], demo_target: str):
    cwd, _, _ = runs
    (cwd / "suite.yaml").write_text(
        "name: tables\nruns:\n"
        f"  - script: s.js\n    name: first-run-of-a-suite-with-a-long-label\n    target: {demo_target}\n"
        f"  - script: s.js\n    name: second\n    target: {demo_target}\n"
    )
    shown = _novaload(cwd, "suite", "suite.yaml", "--out-dir", "suite", "--duration", "2s")
    _fits(shown, "suite")
    assert "passed" in shown and "second" in shown


def test_doctor_and_monitor_status(tmp_path: Path, demo_target: str):
    _fits(_novaload(tmp_path, "doctor", code=None), "doctor")
    # One service answers (not its health endpoint): the table, not the "not started" line.
    shown = _novaload(tmp_path, "monitor", "status", code=6, env={"NOVALOAD_GRAFANA_URL": demo_target})
    _fits(shown, "monitor status")
    assert "grafana" in shown and "prometheus" in shown
