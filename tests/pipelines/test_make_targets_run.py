"""The Makefile targets the pipelines call, run for real (short, on the demo target):
a green suite then means the pipelines' steps work, not only that the targets exist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_tool

pytestmark = [pytest.mark.k6, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def make(
    target: str, reports: Path, env_extra: dict[str, str] | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    require_tool(shutil.which("make") is not None, "make not installed")
    # -o install: the suite already runs inside the installed environment; NOVALOAD points
    # the targets at this interpreter's novaload.
    args = [
        "make",
        "-o",
        "install",
        "-o",
        f"{REPO}/.venv/.installed",
        target,
        f"NOVALOAD={sys.executable} -m novaload",
        *(f"{k}={v}" for k, v in variables.items()),
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "ENVIRONMENT",
            "PROFILE",
            "CONCURRENT_USERS",
            "TEST_DURATION",
            "API_TARGET",
            "SCENARIO",
            "BASELINE",
            "SUITE",
            "MAKEFLAGS",
            "MFLAGS",
        )
    }
    env.update(
        NOVALOAD_REPORTS_DIR=str(reports),
        NOVALOAD_HISTORY_DIR=str(reports / ".history"),
        NO_COLOR="1",
        **(env_extra or {}),
    )
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def runs(reports: Path) -> list[dict]:
    return sorted(
        (json.loads(p.read_text()) for p in reports.glob("*/run.json")), key=lambda r: r["started_at"]
    )


def test_ci_test_runs_and_gates_on_the_last_passing_run(tmp_path: Path):
    reports = tmp_path / "reports"
    first = make("ci-test", reports, ENVIRONMENT="local", PROFILE="dev", TEST_DURATION="3s")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = make("ci-test", reports, ENVIRONMENT="local", PROFILE="dev", TEST_DURATION="3s")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    done = runs(reports)
    assert [r["scenario"] for r in done] == ["api", "api"]
    assert all(r["exit_code"] == 0 and r["profile"] == "dev" for r in done)
    # the second run was compared with the first (BASELINE defaults to last-passing)
    latest = reports / done[-1]["run_id"]
    assert (latest / "comparison.json").is_file()
    assert json.loads((latest / "comparison.json").read_text())["baseline"]["run_id"] == done[0]["run_id"]


def test_test_api_and_cleanup(tmp_path: Path):
    reports = tmp_path / "reports"
    proc = make("test-api", reports, ENVIRONMENT="local", PROFILE="dev", TEST_DURATION="2s")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [r["scenario"] for r in runs(reports)] == ["api"]
    proc = make("cleanup", reports, ENVIRONMENT="local")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_a_failing_threshold_fails_the_ci_step(tmp_path: Path):
    """CI must go red when a threshold fails: the exit code survives make."""
    reports = tmp_path / "reports"
    cfg = tmp_path / "configs"
    shutil.copytree(REPO / "configs", cfg)
    api = cfg / "scenarios" / "api.yaml"
    api.write_text(api.read_text().replace('["p(95)<1000", "p(99)<2000"]', '["max<0.001"]'))
    proc = make(
        "ci-test",
        reports,
        {"NOVALOAD_CONFIG_DIR": str(cfg)},
        ENVIRONMENT="local",
        PROFILE="dev",
        TEST_DURATION="2s",
    )
    assert proc.returncode != 0
    assert runs(reports)[-1]["exit_code"] == 99


def test_ci_test_with_a_suite_and_make_test_run_one_suite_each(tmp_path: Path):
    """What the pipelines run (make ci-test SUITE=configs/suites/ci.yaml) and `make test`:
    one suite folder each, every run inside it, one exit code."""
    reports = tmp_path / "reports"
    proc = make(
        "ci-test",
        reports,
        ENVIRONMENT="local",
        PROFILE="dev",
        TEST_DURATION="2s",
        SUITE="configs/suites/ci.yaml",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = make("test", reports, ENVIRONMENT="local", PROFILE="dev", TEST_DURATION="2s")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    suites = sorted(reports.glob("suite-*/suite.json"))
    assert [p.parent.name.split("-2")[0] for p in suites] == ["suite-ci", "suite-core"]
    ci, core = (json.loads(p.read_text()) for p in suites)
    assert [r["label"] for r in ci["runs"]] == ["api", "vm", "websocket"]
    assert [r["label"] for r in core["runs"]] == ["api", "vm", "websocket", "database", "federation"]
    for record, path in ((ci, suites[0]), (core, suites[1])):
        assert record["exit_code"] == 0 and all(r["exit_code"] == 0 for r in record["runs"])
        assert {"index.html", "index.md", "junit.xml"} <= {p.name for p in path.parent.iterdir()}
