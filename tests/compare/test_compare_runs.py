"""Baseline comparison end to end: real k6 runs (3 s each) against demo targets
started for this module, compared through the real CLI and the library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from novaload.target.process import TargetProcess
from novaload.target.settings import TargetSettings

pytestmark = pytest.mark.k6

REPO = Path(__file__).resolve().parents[2]
# Latency well above the machine's own jitter (a loaded 2-core CI box adds a few ms):
# the test is about statistics, not about how busy the runner is.
SETTINGS = TargetSettings(latency_median_ms=20.0, latency_p99_ms=100.0)
SCRIPT = """
import http from 'k6/http';
export const options = { vus: 8, duration: '3s' };
export default function () {
  http.get(__ENV.NOVALOAD_BASE_URL + '/api/v1/cluster/status', { tags: { name: 'status' } });
  http.get(__ENV.NOVALOAD_BASE_URL + '/api/v1/vms', { tags: { name: 'vms' } });
}
"""


def _env() -> dict[str, str]:
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
            "NOVALOAD_HISTORY_DIR",
            "GITHUB_STEP_SUMMARY",
        )
    }
    env.update(NO_COLOR="1", COLUMNS="200")
    return env


def novaload(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=REPO,
    )


def k6_run(script: Path, url: str, out: Path) -> Path:
    proc = novaload("run", str(script), "--target", url, "--out-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def k6_runs_side_by_side(script: Path, url: str, *outs: Path) -> tuple[Path, ...]:
    """Independent runs of one test started together.

    Run one after the other, two runs also differ by whatever else the machine does
    in between (other test workers, k6 processes): a real difference in measured
    latency that no statistic on one run's samples can tell from a slower build.
    Side by side they share the machine's conditions, so what remains is exactly
    the run-to-run sampling noise the comparison must not call a regression.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "novaload", "run", str(script), "--target", url, "--out-dir", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(),
            cwd=REPO,
        )
        for out in outs
    ]
    try:
        for proc in procs:
            output, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, output
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outs


def compare(*args: str) -> tuple[int, dict]:
    proc = novaload("compare", *args, "--json")
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "smoke.js"
    path.write_text(SCRIPT)
    return path


@pytest.fixture(scope="module")
def target(k6_bin: str) -> Iterator[str]:
    t = TargetProcess.start(SETTINGS)
    try:
        yield t.url
    finally:
        t.stop()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, script: Path, target: str) -> Path:
    """reports/{a,b}: two independent runs of the same test, registered in reports/.history."""
    root = tmp_path_factory.mktemp("compare") / "reports"
    k6_runs_side_by_side(script, target, root / "a", root / "b")
    for name in ("a", "b"):
        proc = novaload(
            "history", "--add", str(root / name), "--history-dir", str(root / ".history"), "--json"
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def run_id(run_dir: Path) -> str:
    return json.loads((run_dir / "run.json").read_text())["run_id"]


def test_a_run_compared_with_itself_exits_0(reports: Path):
    code, doc = compare(str(reports / "a"), str(reports / "a"))
    assert code == 0 and doc["regressed"] is False and doc["regressions"] == []
    overall = doc["endpoints"][0]
    assert overall["name"] == "(all requests)" and overall["new_requests"] > 100
    assert {e["name"] for e in doc["endpoints"]} == {"(all requests)", "status", "vms"}


def _fine_snapshot(run_dir: Path, engine: str = "auto"):
    """Snapshot with quarter-second windows: a 3 s run then has 10 full windows, enough
    for requests/s to be judged (with 1 s windows it is "insufficient data")."""
    from novaload.compare import CompareConfig
    from novaload.compare.inputs import snapshot_of
    from novaload.results.ingest import ingest

    src = [run_dir / "k6-results.json"]
    return snapshot_of(
        ingest(src, window_s=0.25, engine=engine),
        src,
        label=run_dir.name,
        record=None,
        config=CompareConfig(),
    )


@pytest.mark.parametrize("engine", ["fast", "duckdb"])
def test_per_endpoint_rates_count_the_requests_of_the_full_windows(reports: Path, engine: str):
    """Checked against the raw k6 JSON: an endpoint's rate x bin length, summed over the
    bins, is the number of its http_req_duration samples stamped inside the full windows
    (the first and last windows of the run, partial, are left out)."""
    import pandas as pd

    from novaload.results.ingest import ingest

    run = reports / "a"
    snap = _fine_snapshot(run, engine)
    ts = ingest([run / "k6-results.json"], window_s=0.25, engine=engine).timeseries
    start = ts["time"].iloc[1]
    end = ts["time"].iloc[-2] + pd.Timedelta(seconds=0.25)
    points = [json.loads(line) for line in (run / "k6-results.json").open()]
    raw = pd.DataFrame(
        [
            {"name": d["data"]["tags"].get("name", ""), "time": d["data"]["time"]}
            for d in points
            if d.get("type") == "Point" and d.get("metric") == "http_req_duration"
        ]
    )
    # k6 stamps nanoseconds; novaload's windows work in whole microseconds (truncated)
    raw["time"] = pd.to_datetime(raw["time"], utc=True, format="ISO8601").dt.floor("us")
    inside = raw[(raw["time"] >= start) & (raw["time"] < end)]
    expected = inside.groupby("name").size().to_dict()
    assert set(expected) == {"status", "vms"} and min(expected.values()) > 50
    for name, count in expected.items():
        rates = snap.endpoints[name].window_rates
        assert len(rates) == len(ts) - 2  # fewer than MAX_RATE_BINS windows: one bin each
        assert round(float(rates.sum()) * 0.25) == count, name


def test_two_independent_runs_judge_per_endpoint_requests_per_second_without_regression(reports: Path):
    from novaload.compare import Status, compare_snapshots

    c = compare_snapshots(_fine_snapshot(reports / "a"), _fine_snapshot(reports / "b"))
    for name in ("(all requests)", "status", "vms"):
        rps = c.endpoint(name).metric("rps")
        assert rps.status is Status.UNCHANGED and rps.ci is not None, (name, rps)
    assert not c.regressed, c.regressions


def slowed_copy(src: Path, dst: Path, factor: float) -> Path:
    """The same run with every http_req_duration value multiplied by ``factor``."""
    shutil.copytree(src, dst)
    out = []
    with (src / "k6-results.json").open() as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("type") == "Point" and doc.get("metric") == "http_req_duration":
                doc["data"]["value"] *= factor
            out.append(json.dumps(doc))
    (dst / "k6-results.json").write_text("\n".join(out) + "\n")
    for name in ("k6-summary.json", "k6-summary-export.json"):  # would contradict the samples
        (dst / name).unlink(missing_ok=True)
    return dst


def test_every_duration_1_5x_slower_is_a_regression_exit_3(reports: Path, tmp_path: Path):
    slow = slowed_copy(reports / "a", tmp_path / "slow", 1.5)
    out = tmp_path / "cmp"
    proc = novaload("compare", str(reports / "a"), str(slow / "k6-results.json"), "--out-dir", str(out))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    doc = json.loads((out / "comparison.json").read_text())
    flagged = {(r["endpoint"], r["metric"]) for r in doc["regressions"]}
    assert {("(all requests)", "p50"), ("(all requests)", "p95")} <= flagged
    assert {e for e, _ in flagged} == {"(all requests)", "status", "vms"}
    assert {m for _, m in flagged} <= {"p50", "p95", "p99"}  # errors and req/s did not change
    assert all(r["change"] == pytest.approx(0.5, abs=1e-6) for r in doc["regressions"])
    assert "regressed" in (out / "comparison.md").read_text()


def test_two_independent_runs_do_not_regress(reports: Path):
    code, doc = compare(str(reports / "a"), str(reports / "b"))
    assert code == 0, doc["regressions"]


@pytest.mark.parametrize("pair", range(3), ids=lambda i: f"pair{i}")
def test_more_independent_pairs_do_not_regress(pair: int, script: Path, target: str, tmp_path: Path):
    # Two runs side by side still see the machine differently when other tests load it (a
    # p50 of 19 ms against 22 ms was seen under a full parallel test run): one fresh pair
    # is taken again, and two false regressions in a row fail.
    flagged = []
    for attempt in range(2):
        a, b = k6_runs_side_by_side(script, target, tmp_path / f"a{attempt}", tmp_path / f"b{attempt}")
        code, doc = compare(str(a), str(b))
        if code == 0:
            return
        flagged.append(doc["regressions"])
    raise AssertionError(f"two independent pairs in a row rated a regression: {flagged}")


def set_latency(url: str, median: float, p99: float) -> None:
    body = json.dumps({"latency_median_ms": median, "latency_p99_ms": p99}).encode()
    req = urllib.request.Request(
        url + "/api/v1/admin/settings", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def test_a_slowed_demo_target_is_a_regression(script: Path, tmp_path: Path, k6_bin: str):
    with TargetProcess.start(SETTINGS) as t:  # its own target: the slowdown touches no other test
        base = k6_run(script, t.url, tmp_path / "base")
        set_latency(t.url, SETTINGS.latency_median_ms * 2, SETTINGS.latency_p99_ms * 2)
        slow = k6_run(script, t.url, tmp_path / "slow")
    code, doc = compare(str(base), str(slow))
    assert code == 3
    assert ("(all requests)", "p50") in {(r["endpoint"], r["metric"]) for r in doc["regressions"]}


def test_history_survives_moving_the_reports_folder(reports: Path, tmp_path: Path):
    moved = tmp_path / "archive" / "reports"
    shutil.copytree(reports, moved)  # a copy: the module's other tests still use the original
    history = str(moved / ".history")
    a, b = run_id(reports / "a"), run_id(reports / "b")
    proc = novaload("history", "--history-dir", history, "--json")
    listed = {e["run_id"]: e for e in json.loads(proc.stdout)}
    assert set(listed) == {a, b} and listed[a]["run_path"] == "a"
    assert listed[a]["p95"] > 0 and listed[a]["requests"] > 100
    code, doc = compare(a, b, "--history-dir", history)
    assert code == 0 and doc["baseline"]["run_id"] == a
    # `last-passing` is scoped to CURRENT's scenario and environment and never picks CURRENT
    code, doc = compare("last-passing", b, "--history-dir", history)
    assert doc["baseline"]["run_id"] == a
    # a run folder that moved alone is found by run id under --reports-dir
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(moved / "a"), elsewhere / "renamed" if elsewhere.mkdir() is None else None)
    code, doc = compare(a, b, "--history-dir", history, "--reports-dir", str(elsewhere))
    assert code == 0
    # and with the folder gone, the snapshot kept in the store still compares
    shutil.rmtree(elsewhere)
    code, doc = compare(a, b, "--history-dir", history)
    assert code == 0 and doc["baseline"]["run_id"] == a


def test_unknown_run_and_missing_history_exit_2(reports: Path, tmp_path: Path):
    proc = novaload("compare", "no-such-run", str(reports / "a"), "--history-dir", str(reports / ".history"))
    assert proc.returncode == 2 and "no-such-run" in proc.stderr
    proc = novaload("compare", "last", str(reports / "a"), "--history-dir", str(tmp_path / "none"))
    assert proc.returncode == 2 and "no run history" in proc.stderr


def later_run(reports: Path, tmp_path: Path, run_id: str) -> tuple[Path, Path]:
    """A copy of run b, renamed ``run_id`` and started after every recorded run, and a
    copy of the history store that has runs a and b: (run folder, history dir)."""
    run_dir = tmp_path / "c"
    shutil.copytree(reports / "b", run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    record.update(run_id=run_id, started_at="2099-01-01T00:00:00+00:00")
    (run_dir / "run.json").write_text(json.dumps(record))
    history = tmp_path / "reports" / ".history"
    shutil.copytree(reports / ".history", history)
    return run_dir, history


def test_gate_and_record_run_as_the_pipeline_calls_them(reports: Path, tmp_path: Path):
    from novaload.compare import gate_against_baseline, record_run
    from novaload.history import HistoryStore
    from novaload.results.ingest import ingest
    from novaload.run.pipeline import RunOutcome

    run_dir, history = later_run(reports, tmp_path, "smoke-later")
    results = ingest([run_dir / "k6-results.json"])
    warnings: list[str] = []
    comparison = gate_against_baseline(
        results, run_dir, "last-passing", HistoryStore(history), warn=warnings.append
    )
    assert comparison is not None and not comparison.regressed, warnings
    assert comparison.baseline.run_id in {run_id(reports / "a"), run_id(reports / "b")}
    assert (run_dir / "comparison.json").is_file() and (run_dir / "comparison.md").is_file()
    titles = [s.title for s in comparison.report_sections()]
    assert titles == ["Baseline comparison", "Trend"]
    assert [e.run_id for e in comparison.trend][-1] == "smoke-later" and len(comparison.trend) == 3
    outcome = RunOutcome(
        run_id="x",
        run_dir=run_dir,
        exit_code=0,
        verdict="passed",
        k6_exit_code=0,
        results=results,
        execution=None,
    )
    entry = record_run(outcome, history)
    assert (
        entry.run_id == "smoke-later"
        and entry.run_path == str(run_dir.resolve())
        and entry.requests == results.value("http_reqs", "count")
    )
    # no history at all: no comparison, a warning, never an exception
    assert (
        gate_against_baseline(
            results, run_dir, "last", HistoryStore(tmp_path / "empty"), warn=warnings.append
        )
        is None
    )
    assert any("no run history" in w for w in warnings)


def test_a_baseline_run_reduces_its_results_once_for_gate_and_history(
    reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The pipeline's --baseline step and its history step share one snapshot, and the
    history keeps as many latencies as the project's compare.yaml says (max_samples)."""
    from novaload.compare import RunSnapshot
    from novaload.compare import snapshot as snapshot_module
    from novaload.history import HistoryStore
    from novaload.results.ingest import ingest
    from novaload.run import pipeline
    from novaload.run.prepare import RunRequest
    from novaload.runfolder import read_run_record

    run_dir, history = later_run(reports, tmp_path, "smoke-once")
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    (config_dir / "compare.yaml").write_text("compare:\n  max_samples: 50\n")
    built: list[str] = []
    for builder in ("snapshot_from_results", "snapshot_from_digest"):  # the ingest's digest, or samples
        original = getattr(snapshot_module, builder)
        monkeypatch.setattr(
            f"novaload.compare.inputs.{builder}",
            lambda *a, _f=original, **k: built.append(k["label"]) or _f(*a, **k),
        )
    results = ingest([run_dir / "k6-results.json"])
    observer = pipeline.SilentObserver()

    for baseline in ("last-passing", None):
        built.clear()
        request = RunRequest(target="smoke", baseline=baseline, history_dir=history, config_dir=config_dir)
        record = read_run_record(run_dir)
        assert record is not None
        comparison, snap = pipeline._compare_with_baseline(request, results, record, run_dir, observer)
        assert (comparison is not None) == (baseline is not None)
        outcome = pipeline.RunOutcome(
            run_id="smoke-once",
            run_dir=run_dir,
            exit_code=0,
            verdict="passed",
            k6_exit_code=0,
            results=results,
            execution=None,
        )
        pipeline._record_history(outcome, request, observer, snap)
        assert built == ["smoke-once"], baseline  # one reduction per run, not two
        blob = HistoryStore(history).snapshot("smoke-once")
        assert blob is not None, baseline
        stored = RunSnapshot.from_blob(blob)
        assert len(stored.endpoints["vms"].latencies) == 50, baseline
