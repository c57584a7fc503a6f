"""`novaload run` end to end: real k6 against the real demo target, bounded in seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.k6

REPO = Path(__file__).resolve().parents[2]
REPORT_FILES = [
    "summary.json",
    "report.html",
    "report.md",
    "endpoints.csv",
    "timeseries.csv",
    "junit.xml",
    "run.json",
    "k6-results.json",
]


def novaload(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    for var in ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS", "TEST_DURATION", "API_TARGET"):
        full_env.pop(var, None) if not (env and var in env) else None
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )


def count_points(path: Path, metric: str) -> int:
    n = 0
    with path.open() as f:
        for line in f:
            if f'"metric":"{metric}"' in line and '"type":"Point"' in line:
                n += 1
    return n


def test_api_scenario_on_the_demo_target_writes_every_report(tmp_path: Path):
    """The README's first command, shortened: starts the demo target itself."""
    out = tmp_path / "run"
    proc = novaload(
        "run", "api", "--env", "local", "--profile", "dev", "--duration", "3s", "--out-dir", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in REPORT_FILES + ["api.js"]:
        assert (out / name).is_file(), name
    record = json.loads((out / "run.json").read_text())
    assert record["scenario"] == "api" and record["environment"] == "local"
    assert record["profile"] == "dev" and record["exit_code"] == 0
    assert record["k6_version"].startswith("v")
    summary = json.loads((out / "summary.json").read_text())
    reqs = count_points(out / "k6-results.json", "http_reqs")
    assert reqs > 0
    assert summary["metrics"]["http_reqs"]["count"] == reqs
    # no testid tag: the samples stay in this run's folder (it would add ~14 % to the JSON)
    with (out / "k6-results.json").open() as f:
        point = next(json.loads(x) for x in f if '"type":"Point"' in x)
    assert "testid" not in point["data"]["tags"] and "--tag" not in record["k6_args"]
    # the demo target started for the run is gone
    assert "demo target started" in proc.stderr


FAILING = """
import http from 'k6/http';
export const options = {
  vus: 1, iterations: 5,
  thresholds: { http_req_duration: ['max<0.001'], 'http_req_duration{name:health}': ['p(95)<60000'] },
};
export default function () {
  http.get(__ENV.NOVALOAD_BASE_URL + '/health', { tags: { name: 'health' } });
}
"""


def test_failing_threshold_exits_99_with_junit_failure(tmp_path: Path, demo_target: str):
    script = tmp_path / "failing.js"
    script.write_text(FAILING)
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out))
    assert proc.returncode == 99, proc.stdout + proc.stderr
    suite = ET.parse(out / "junit.xml").getroot()
    failures = [tc for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert [tc.get("name") for tc in failures] == ["max<0.001"]
    assert json.loads((out / "run.json").read_text())["verdict"] == "failed"


OWN = """
import http from 'k6/http';
import { Counter } from 'k6/metrics';
const mine = new Counter('my_counter');
export const options = { vus: 2, iterations: 7 };
export default function () {
  mine.add(3);
  http.get(__ENV.NOVALOAD_BASE_URL + '/api/v1/items');
}
"""


def test_users_own_script_runs_unchanged(tmp_path: Path, demo_target: str):
    script = tmp_path / "own.js"
    script.write_text(OWN)
    before = script.read_bytes()
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert script.read_bytes() == before
    assert (out / "script.js").read_bytes() == before
    summary = json.loads((out / "summary.json").read_text())["metrics"]
    assert summary["iterations"]["count"] == 7  # the script's own options were used
    assert summary["my_counter"]["count"] == 21


def test_command_line_overrides_a_scripts_options(tmp_path: Path, demo_target: str):
    script = tmp_path / "own.js"
    script.write_text(OWN)
    out = tmp_path / "run"
    proc = novaload(
        "run", str(script), "--target", demo_target, "--vus", "1", "--duration", "2s", "--out-dir", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    iterations = json.loads((out / "summary.json").read_text())["metrics"]["iterations"]["count"]
    assert iterations > 7  # a 2 s duration replaced the 7 iterations


LONG = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '60s' };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); sleep(0.05); }
export function teardown() { console.log('TEARDOWN-RAN'); }
"""


def _k6_processes_for(marker: str) -> list[int]:
    pids = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and cmdline.split()[0].endswith("k6"):
            pids.append(int(proc_dir.name))
    return pids


@pytest.mark.parametrize("presses", [1, 2], ids=["graceful", "kill"])
def test_ctrl_c_leaves_no_k6_and_still_reports(tmp_path: Path, demo_target: str, presses: int):
    script = tmp_path / "long.js"
    script.write_text(LONG)
    out = tmp_path / "run"
    env = {**os.environ, "NO_COLOR": "1"}
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
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (out / "k6-results.json").exists() or (out / "k6-results.json").stat().st_size == 0:
        assert time.monotonic() < deadline, "k6 never started writing results"
        time.sleep(0.2)
    time.sleep(1.5)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    stdout, stderr = proc.communicate(timeout=40)
    assert proc.returncode != 0
    assert _k6_processes_for(str(out)) == []
    assert (out / "run.json").is_file()
    record = json.loads((out / "run.json").read_text())
    assert record["interrupted"] is True
    if presses == 1:
        # graceful: k6 ran teardown and novaload still produced every report
        assert "TEARDOWN-RAN" in (out / "k6.log").read_text()
        for name in REPORT_FILES:
            assert (out / name).is_file(), name


def test_secrets_stay_out_of_the_run_folder(tmp_path: Path, demo_target: str):
    cfg = tmp_path / "configs"
    import shutil

    shutil.copytree(REPO / "configs", cfg)
    (cfg / "environments" / "secretive.yaml").write_text(
        f"base_url: {demo_target}\nheaders:\n  Authorization: 'Bearer ${{NOVALOAD_TEST_TOKEN}}'\n"
    )
    secret = "tok-5f3e9a0c7b1d-very-secret"
    out = tmp_path / "run"
    proc = novaload(
        "--config-dir",
        str(cfg),
        "run",
        "api",
        "--env",
        "secretive",
        "--profile",
        "dev",
        "--duration",
        "2s",
        "--out-dir",
        str(out),
        env={"NOVALOAD_TEST_TOKEN": secret},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert secret not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "api", "--env", "production", "--profile", "dev"], "requires confirmation"),
        (["run", "api", "--k6", "/nonexistent/k6"], "k6 not found"),
        (["run", "api", "--env", "nowhere"], "unknown environment"),
        (["run", "no/such/script.js"], "no such scenario or script"),
        (["run", "api", "--duration", "forever"], "--duration"),
        (["run", "api", "--parallelism", "2"], "--runner docker"),
        (["report", "/nonexistent.json", "--out-dir", "/tmp/x"], "/nonexistent.json"),
    ],
    ids=[
        "production-needs-yes",
        "k6-missing",
        "unknown-env",
        "no-script",
        "bad-duration",
        "parallel-local",
        "missing-results",
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path):
    reports = tmp_path / "reports"
    proc = novaload(*args, cwd=REPO, env={"NOVALOAD_REPORTS_DIR": str(reports)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # nothing ran, so no run folder is left behind
    assert not reports.exists() or not any(reports.iterdir())
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback():
    proc = novaload("--debug", "run", "api", "--env", "nowhere")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_relative_out_dir_from_another_directory(tmp_path: Path, demo_target: str):
    """k6 runs inside the run folder, so every path handed to it must be absolute."""
    script = tmp_path / "own.js"
    script.write_text(OWN)
    proc = novaload("run", "own.js", "--target", demo_target, "--out-dir", "rel/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "rel" / "run" / "report.html").is_file()


def test_every_run_registers_in_history_and_reports_its_trend(tmp_path: Path, demo_target: str):
    """No --baseline needed: from the second run of a scenario on, report.html shows
    the trend of the last runs of the same scenario and environment."""
    script = tmp_path / "own.js"
    script.write_text(OWN)
    history = tmp_path / "history"
    outs = [tmp_path / f"run{i}" for i in range(2)]
    for out in outs:
        proc = novaload(
            "run", str(script), "--target", demo_target, "--out-dir", str(out), "--history-dir", str(history)
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = novaload("history", "--history-dir", str(history), "--json")
    runs = json.loads(listed.stdout)
    assert [r["run_id"] for r in runs] == [
        json.loads((o / "run.json").read_text())["run_id"] for o in reversed(outs)
    ]
    assert ">Trend<" not in (outs[0] / "report.html").read_text()  # one run is no trend
    assert ">Trend<" in (outs[1] / "report.html").read_text()
