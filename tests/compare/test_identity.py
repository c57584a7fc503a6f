"""Baselines compare like with like: a run's identity (script, environment, target, load,
runner) decides which runs ``--baseline last|last-passing`` and the trend chart consider;
a run named by id is compared whatever it is, and the comparison says how it differs.
Old history rows (no identity) are read and never taken for the same test."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from novaload.compare.identity import RunIdentity
from novaload.history import HistoryEntry, HistoryStore
from novaload.scenario.load import load_of

SCRIPT = """
import http from 'k6/http';
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); }
"""


def test_the_load_key_follows_the_load_and_nothing_else():
    base = {
        "executor": "constant-vus",
        "vus": 10,
        "duration": "30s",
        "exec": "default",
        "gracefulStop": "30s",
    }
    load = load_of({"default": base})
    assert load.text == "constant-vus 10 VUs 30s"
    same = load_of(
        {"default": {**base, "exec": "other", "tags": {"a": "b"}, "gracefulStop": "5s", "env": {"X": "1"}}}
    )
    assert same.key == load.key
    for change in ({"vus": 11}, {"duration": "31s"}, {"executor": "ramping-vus"}, {"startTime": "5s"}):
        assert load_of({"default": {**base, **change}}).key != load.key, change
    assert load_of({"other": base}).key != load.key  # another scenario name: another test
    ramp = load_of({"r": {"executor": "ramping-arrival-rate", "startRate": 1, "timeUnit": "1s",
                          "stages": [{"duration": "30s", "target": 20}, {"duration": "10s", "target": 0}]}})  # fmt: skip
    assert ramp.text == "ramping-arrival-rate 1→max 20/1s 30s+10s"


def test_k6s_own_consolidation_gives_the_load(k6_bin: str, tmp_path: Path):
    """`k6 inspect` with the run's shortcuts, as `k6 run` would take them."""
    from novaload.runners.k6binary import inspect_scenarios

    script = tmp_path / "s.js"
    script.write_text(
        "export const options = { scenarios: { a: { executor: 'constant-vus', vus: Number(__ENV.V || 3),"
        " duration: '20s' } } };\nexport default function () {}\n"
    )
    env = {"PATH": os.environ["PATH"]}

    def text(*args: str) -> str:
        scenarios = inspect_scenarios(k6_bin, script, k6_args=args, env=env)
        assert scenarios is not None, args
        return load_of(scenarios).text

    assert text() == "constant-vus 3 VUs 20s"
    assert text("-e", "V=9") == "constant-vus 9 VUs 20s"
    assert (
        text("--iterations", "7", "--vus", "2") == "shared-iterations 7 iterations 2 VUs"
    )  # replaces scenarios
    assert text("-d", "5s") == "constant-vus 1 VU 5s"
    assert text("--stage", "5s:3", "-s", "5s:0") == "ramping-vus 1→max 3 VUs 5s+5s"
    broken = tmp_path / "broken.js"
    broken.write_text("export default function ( {\n")
    assert inspect_scenarios(k6_bin, broken, env=env) is None  # unknown, never an error


def _identity(**changes: object) -> RunIdentity:
    base: dict[str, object] = {
        "scenario": "api.js", "environment": "local", "target": "demo", "load": "constant-vus 2 VUs 5s",
        "load_key": "k1", "runner": "local", "parallelism": 1,
    }  # fmt: skip
    return RunIdentity(**{**base, **changes})  # type: ignore[arg-type]


def _entry(run_id: str, started: str, identity: RunIdentity | None) -> HistoryEntry:
    fields = identity.columns() if identity else {"scenario": "api.js", "environment": "local"}
    return HistoryEntry(run_id=run_id, started_at=started, exit_code=0, verdict="passed", **fields)  # type: ignore[arg-type]


def test_selectors_pick_only_the_same_test(tmp_path: Path):
    store = HistoryStore(tmp_path / ".history")
    mine = _identity()
    rows = {
        "same-old": mine,
        "other-target": _identity(target="http://10.0.0.9:8080"),
        "other-load": _identity(load_key="k2"),
        "other-runner": _identity(runner="docker"),
        "split": _identity(runner="docker", parallelism=2),
        "legacy": None,  # registered before the identity existed: NULL columns
    }
    for i, (run_id, identity) in enumerate(rows.items()):
        store.add(_entry(run_id, f"2026-12-0{i + 1}T10:00:00+00:00", identity))
    assert store.select("last", same_as=mine.columns()).run_id == "same-old"  # type: ignore[union-attr]
    assert [e.run_id for e in store.list(same_as=mine.columns(), limit=None)] == ["same-old"]
    docker2 = _identity(runner="docker", parallelism=2).columns()
    assert store.select("last-passing", same_as=docker2).run_id == "split"  # type: ignore[union-attr]
    assert store.select("legacy", same_as=mine.columns()).run_id == "legacy"  # type: ignore[union-attr]  # by id: that run
    assert store.get("legacy").load_key is None  # type: ignore[union-attr]


def test_a_store_from_before_the_identity_is_read_and_upgraded(tmp_path: Path):
    """A history file written by an older novaload (no identity columns) keeps working."""
    folder = tmp_path / ".history"
    folder.mkdir()
    con = sqlite3.connect(folder / "novaload-history.sqlite")
    con.executescript(
        """CREATE TABLE runs (run_id TEXT PRIMARY KEY, scenario TEXT, environment TEXT, profile TEXT,
        git_commit TEXT, git_branch TEXT, verdict TEXT, exit_code INTEGER, started_at TEXT, ended_at TEXT,
        run_path TEXT, requests REAL, rps REAL, error_rate REAL, p50 REAL, p95 REAL, p99 REAL,
        recorded_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), snapshot BLOB);
        INSERT INTO runs (run_id, scenario, environment, exit_code, verdict, started_at, p95)
        VALUES ('old-1', 'api', 'local', 0, 'passed', '2026-11-01T10:00:00+00:00', 12.5);"""
    )
    con.commit()
    con.close()
    store = HistoryStore(folder)
    (old,) = store.list()
    assert (old.run_id, old.p95, old.load_key, old.runner) == ("old-1", 12.5, None, None)
    assert store.select("last", scenario="api", same_as=_identity(scenario="api").columns()) is None
    store.add(_entry("new-1", "2026-12-01T10:00:00+00:00", _identity(scenario="api")))
    assert store.select("last", same_as=_identity(scenario="api").columns()).run_id == "new-1"  # type: ignore[union-attr]


def test_differences_name_what_differs():
    mine = _identity()
    assert mine.differences(mine) == []
    said = mine.differences(_identity(target="http://10.0.0.9", load="constant-vus 9 VUs 5s", load_key="k9"))
    assert said == [
        "target http://10.0.0.9 (this run: demo)",
        "load constant-vus 9 VUs 5s (this run: constant-vus 2 VUs 5s)",
    ]
    legacy = RunIdentity("api.js", "local", None, None, None, None, None)
    assert any("unknown (recorded before novaload kept it)" in d for d in mine.differences(legacy))


def _run(cwd: Path, target: str, *args: str, baseline: str | None = None) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "PROFILE", "GITHUB_STEP_SUMMARY")}
    out = cwd / f"run-{len(list(cwd.glob('run-*')))}"
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "run", "s.js", "--target", target, "--out-dir", str(out),
         *(["--baseline", baseline] if baseline else []), "--history-dir", str(cwd / ".history"), "--", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "run.json").read_text()), proc.stdout + proc.stderr


@pytest.mark.k6
def test_last_skips_runs_of_another_target_or_load_and_says_which_it_took(tmp_path: Path, demo_target: str):
    """The issue's case: `run small.js --baseline last` took a 2 s run against another
    target. Now it takes the last run of the same test, and names it."""
    from novaload.target.process import TargetProcess

    (tmp_path / "s.js").write_text(SCRIPT)
    other = TargetProcess.start()
    try:
        same, _ = _run(tmp_path, demo_target, "-i", "20")
        _run(tmp_path, demo_target, "-i", "40")  # another load
        _run(tmp_path, other.url, "-i", "20")  # another target
    finally:
        other.stop()
    assert same["load"] == "shared-iterations 20 iterations 1 VU" and same["target_id"] == demo_target
    current, said = _run(tmp_path, demo_target, "-i", "20", baseline="last")
    assert f"compared with baseline {same['run_id']} (last)" in said
    assert f"· baseline {same['run_id']}" in said  # the verdict line
    comparison = json.loads((Path(tmp_path) / "run-3" / "comparison.json").read_text())
    assert comparison["baseline"]["run_id"] == same["run_id"] and comparison["baseline_differs"] == []
    # The trend beside the comparison: this test's runs only.
    trend = (tmp_path / "run-3" / "report.md").read_text().split("Trend", 1)[-1]
    assert same["run_id"] in trend and current["run_id"] in trend
    assert not [
        r
        for r in (tmp_path / "run-1", tmp_path / "run-2")
        if json.loads((r / "run.json").read_text())["run_id"] in trend
    ]


@pytest.mark.k6
def test_a_baseline_named_by_id_is_compared_and_its_difference_said(tmp_path: Path, demo_target: str):
    (tmp_path / "s.js").write_text(SCRIPT)
    other, _ = _run(tmp_path, demo_target, "-i", "40")
    _, said = _run(tmp_path, demo_target, "-i", "20", baseline=other["run_id"])
    assert f"compared with baseline {other['run_id']}:" in said
    line = "The baseline is another test: load shared-iterations 40 iterations 1 VU (this run: shared-iterations 20 iterations 1 VU)."
    assert line in said
    comparison = json.loads((tmp_path / "run-1" / "comparison.json").read_text())
    assert comparison["baseline_differs"] == [
        line.removeprefix("The baseline is another test: ").removesuffix(".")
    ]
    assert line in (tmp_path / "run-1" / "comparison.md").read_text()
