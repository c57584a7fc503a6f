"""A user's own k6 script behaves as under k6: its identity, abortOnFail, metrics with
thresholds and no samples (``--no-data``), its working directory and its stdout."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_run_e2e import novaload

from novaload.errors import UsageError
from novaload.run.aborts import k6_threshold_abort
from novaload.run.prepare import RunRequest, prepare, script_identity

ABORT_SCRIPT = """
export const options = {
  scenarios: { steady: { executor: 'constant-vus', vus: 1, duration: '20s' } },
  thresholds: { iterations: [{ threshold: 'count<5', abortOnFail: true }] },
};
export default function () {}
"""

NO_DATA_SCRIPT = """
import { check } from 'k6';
import { Counter } from 'k6/metrics';
const orders = new Counter('orders');
export const options = {
  iterations: 3,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(99.99)', 'count'],
  thresholds: {
    'iteration_duration{scenario:typo}': ['p(95)<1000'],
    orders: ['count<10'],
    'checks{check:never}': ['rate>0.9'],
  },
};
export default function () { check(1, { 'always': () => true }); }
"""

SETUP_THROWS = """
import { check } from 'k6';
export const options = { iterations: 1, thresholds: { checks: ['rate>0.9'] } };
export function setup() { throw new Error('setup failed on purpose'); }
export default function () { check(1, { ok: () => true }); }
"""

HANDLE_SUMMARY = """
import { check } from 'k6';
export const options = { iterations: 2 };
const data = JSON.parse(open('./data/users.json'));
export default function () { check(data, { 'two users': (d) => d.length === 2 }); }
export function handleSummary(data) {
  return {
    'summary.json': JSON.stringify({ mine: true }),
    'out/junit.xml': '<testsuites/>',
    stdout: 'HANDLE-SUMMARY-STDOUT ' + data.metrics.iterations.values.count + '\\n',
  };
}
"""


def _git_repo(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def test_identity_is_the_path_from_the_repository_root(tmp_path: Path) -> None:
    _git_repo(tmp_path)
    for folder in ("tests/api", "tests/web"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "script.js").write_text("export default function () {}\n")
    api, web = tmp_path / "tests/api/script.js", tmp_path / "tests/web/script.js"
    assert script_identity(api, tmp_path) == "tests/api/script.js"
    assert script_identity(web, tmp_path / "tests") == "tests/web/script.js"  # from any directory
    outside = tmp_path.parent / f"{tmp_path.name}-loose"
    outside.mkdir()
    (outside / "t.js").write_text("export default function () {}\n")
    assert script_identity(outside / "t.js", outside.parent) == f"{outside.name}/t.js"


def test_name_overrides_the_identity_and_is_only_for_scripts(tmp_path: Path) -> None:
    script = tmp_path / "t.js"
    script.write_text("export default function () {}\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    prepared = prepare(RunRequest(target=str(script), name="checkout smoke"), "id", run_dir)
    assert prepared.scenario_name == "checkout smoke"
    assert prepared.working_dir == Path.cwd().resolve()
    with pytest.raises(UsageError, match="--name"):
        prepare(RunRequest(target="api", name="x"), "id", run_dir)
    with pytest.raises(UsageError, match="summary-trend-stats"):
        prepare(RunRequest(target=str(script), summary_trend_stats="avg,p95"), "id", run_dir)


def test_abort_line_of_k6_log_says_which_and_when(tmp_path: Path) -> None:
    log = tmp_path / "k6.log"
    log.write_text(
        'time="2026-12-02T09:09:51Z" level=error msg="thresholds on metrics \'http_req_duration, checks\' were '
        'crossed; at least one has abortOnFail enabled, stopping test prematurely"\n'
    )
    text = k6_threshold_abort([log], datetime(2026, 12, 2, 9, 9, 48, tzinfo=UTC))
    assert text == (
        "k6 aborted the test at 09:09:51 UTC, 3 s into the run: a threshold with abortOnFail failed on "
        "http_req_duration, checks"
    )
    log.write_text(
        'time="2026-12-02T09:09:51Z" level=error msg="thresholds on metrics \'x\' have been crossed"\n'
    )
    assert k6_threshold_abort([log], datetime.now(UTC)) is None


def test_abort_on_fail_exits_as_k6_with_full_reports_that_say_so(tmp_path: Path, k6_bin: str) -> None:
    script = tmp_path / "abort.js"
    script.write_text(ABORT_SCRIPT)
    bare = subprocess.run(
        [k6_bin, "run", "-q", str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--out-dir", str(out), cwd=tmp_path, timeout=60)
    assert proc.returncode == bare.returncode == 99, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["novaload"]["k6_abort"].startswith("k6 aborted the test at ")
    assert "iterations" in summary["novaload"]["k6_abort"]
    assert summary["metrics"]["iterations"]["thresholds"] == {"count<5": {"ok": False}}
    assert "k6 aborted the test" in (out / "report.html").read_text()
    assert "k6 aborted the test" in (out / "report.md").read_text()
    assert summary["novaload"]["duration_s"] < 15  # stopped early, not after 20 s


def test_metrics_with_thresholds_and_no_samples_are_exported_like_k6(tmp_path: Path, k6_bin: str) -> None:
    script = tmp_path / "nodata.js"
    script.write_text(NO_DATA_SCRIPT)
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--out-dir", str(out), cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr  # k6 passes them all (zeros; an empty Rate)
    ours = json.loads((out / "summary.json").read_text())
    k6 = json.loads((out / "k6-summary-export.json").read_text())["metrics"]
    for name in ("iteration_duration{scenario:typo}", "orders", "checks{check:never}"):
        mine = ours["metrics"][name]
        assert {k: v for k, v in mine.items() if k != "thresholds"} == {
            k: v for k, v in k6[name].items() if k != "thresholds"
        }, name
        assert all(v == {"ok": True, "no_data": True} for v in mine["thresholds"].values()), mine
    # summaryTrendStats key for key: count and p(99.99), nothing else
    assert set(ours["metrics"]["iteration_duration"]) == {"avg", "min", "med", "max", "p(99.99)", "count"}
    assert "p(95)" in ours["novaload"]["values"]["iteration_duration"]  # novaload's additions live here
    assert len(ours["novaload"]["thresholds_no_data"]) == 3
    assert "no data" in (out / "report.md").read_text()
    # --no-data fail turns them into a failure
    strict = novaload(
        "run", str(script), "--out-dir", str(tmp_path / "strict"), "--no-data", "fail", cwd=tmp_path
    )
    assert strict.returncode == 99, strict.stderr


def test_checks_threshold_when_setup_throws(tmp_path: Path, k6_bin: str) -> None:
    script = tmp_path / "setup.js"
    script.write_text(SETUP_THROWS)
    bare = subprocess.run(
        [k6_bin, "run", "-q", str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--out-dir", str(out), cwd=tmp_path, timeout=60)
    assert proc.returncode == bare.returncode, proc.stderr
    assert "Traceback" not in proc.stderr
    if (out / "summary.json").exists():  # k6 wrote samples before failing
        checks = json.loads((out / "summary.json").read_text())["metrics"]["checks"]
        assert checks["thresholds"]["rate>0.9"]["no_data"] is True
        assert "report: " in proc.stdout
    else:
        assert "no report" in proc.stdout and "report: " not in proc.stdout


def test_working_directory_and_handle_summary_stdout_are_k6s(tmp_path: Path) -> None:
    scripts, cwd = tmp_path / "scripts", tmp_path / "cwd"
    (scripts / "data").mkdir(parents=True)
    (cwd / "out").mkdir(parents=True)
    (scripts / "data" / "users.json").write_text('["a", "b"]')
    (scripts / "hs.js").write_text(HANDLE_SUMMARY)
    out = tmp_path / "run"
    proc = novaload("run", str(scripts / "hs.js"), "--out-dir", str(out), cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((cwd / "summary.json").read_text()) == {"mine": True}  # where k6 writes it
    assert (cwd / "out" / "junit.xml").read_text() == "<testsuites/>"
    assert "novaload" in json.loads((out / "summary.json").read_text())  # novaload's own, intact
    assert "HANDLE-SUMMARY-STDOUT 2" in proc.stdout


def test_local_runner_passes_only_flags_k6_1_and_2_share(tmp_path: Path) -> None:
    """k6 2.x starts its REST API only with an explicit --address (novaload polls it) and
    dropped --no-summary and --summary-mode=legacy."""
    from novaload.runners.base import ExecutionPlan
    from novaload.runners.local import LocalRunner

    plan = ExecutionPlan(
        run_id="r",
        script=tmp_path / "s.js",
        run_dir=tmp_path,
        k6_args=(),
        env={},
        k6_binary="k6",
        working_dir=tmp_path / "cwd",
    )
    cmd = LocalRunner().command(plan, 7000)
    assert cmd[cmd.index("--address") + 1] == "127.0.0.1:7000"
    assert not [a for a in cmd if a.startswith(("--no-summary", "--summary-mode"))]


def test_no_report_line_when_k6_failed_before_any_sample(tmp_path: Path) -> None:
    script = tmp_path / "broken.js"
    script.write_text("export default function ( {\n")
    proc = novaload("run", str(script), "--out-dir", str(tmp_path / "run"), cwd=tmp_path, timeout=60)
    assert proc.returncode == 107, proc.stderr
    assert "report: " not in proc.stdout
    assert "no report; k6's log: " in proc.stdout


def test_a_rendered_scenario_summary_is_k6s_export_key_for_key(tmp_path: Path) -> None:
    """Not only users' scripts: a scenario's summary.json equals the --summary-export k6
    wrote in the same run (its summaryTrendStats, its metrics, its verdicts)."""
    from corpus.test_corpus import summary_mismatches

    out = tmp_path / "run"
    proc = novaload(
        "run", "api", "--env", "local", "--profile", "dev", "--duration", "3s", "--out-dir", str(out)
    )
    assert proc.returncode in (0, 99), proc.stderr
    ours = json.loads((out / "summary.json").read_text())
    export = json.loads((out / "k6-summary-export.json").read_text())
    assert summary_mismatches(ours, export) == []
    assert "p(99)" in ours["metrics"]["http_req_duration"]  # the scenario's summaryTrendStats
