"""`novaload suite`: real k6 runs (scripts that pass, fail thresholds, throw; a scenario on
the demo target) into one folder with one index, one JUnit file and the worst exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from novaload.suite import worst_exit_code

REPO = Path(__file__).resolve().parents[2]

PASSING = """
export const options = { iterations: 2, thresholds: { iterations: ['count>=2'] } };
export default function () {}
"""
FAILING = """
export const options = { iterations: 1, thresholds: { iterations: ['count>1000'] } };
export default function () {}
"""
THROWING = """
export const options = { iterations: 1 };
export default function () { throw new Error('boom'); }
export function setup() { throw new Error('setup broke'); }
"""


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=cwd,
    )


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    folder = tmp_path / "k6"
    folder.mkdir()
    for name, text in (("passing", PASSING), ("failing", FAILING), ("throwing", THROWING)):
        (folder / f"{name}.js").write_text(text)
    return folder


def write_suite(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([0, 0], 0),
        ([0, 3, 99], 99),
        ([99, 107, 2], 2),
        ([99, 105], 105),
        ([0, 5, 99], 5),
        ([1, 2, 107], 1),
        ([107, 105], 107),  # equal rank: the first
        ([3, 0], 3),
        ([], 0),
    ],
)
def test_worst_exit_code_follows_the_documented_order(codes: list[int], worst: int) -> None:
    assert worst_exit_code(codes) == worst


@pytest.mark.k6
def test_sequential_suite_one_folder_one_index_one_junit_worst_code(
    tmp_path: Path, scripts: Path, k6_bin: str
) -> None:
    suite = write_suite(
        tmp_path / "mixed-bag.yaml",
        """
description: "a <b>bold</b> | suite"
runs:
  - {script: k6/passing.js, name: fine}
  - {script: k6/failing.js}
  - {script: k6/throwing.js, name: broken}
  - {scenario: api, env: local, profile: dev, duration: 2s}
""",
    )
    out = tmp_path / "out"
    proc = cli("suite", str(suite), "--out-dir", str(out), "--k6", k6_bin, cwd=tmp_path)
    assert proc.returncode == 107, proc.stdout + proc.stderr  # script exception outranks 99
    assert sorted(p.name for p in out.iterdir()) == [
        "01-fine", "02-failing", "03-broken", "04-api", "index.html", "index.md", "junit.xml", "suite.json",
    ]  # fmt: skip
    record = json.loads((out / "suite.json").read_text())
    assert [(r["label"], r["exit_code"]) for r in record["runs"]] == [
        ("fine", 0), ("failing", 99), ("broken", 107), ("api", 0),
    ]  # fmt: skip
    assert record["exit_code"] == 107 and record["verdict"].startswith("error")
    assert record["runs"][3]["figures"]["requests"] > 0
    for row in record["runs"]:  # each run folder is a complete run folder
        assert (out / row["folder"] / "run.json").is_file()
    html = (out / "index.html").read_text()
    assert "a &lt;b&gt;bold&lt;/b&gt; | suite" in html and "<b>bold" not in html
    assert 'href="02-failing/report.html"' in html and "<script" not in html
    md = (out / "index.md").read_text()
    assert "| 2 | failing |" in md and "[report](04-api/report.html)" in md
    assert "a &lt;b&gt;bold&lt;/b&gt; \\| suite" in md
    root = ET.parse(out / "junit.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "novaload fine",
        "novaload failing",
        "novaload broken",
        "novaload api",
    ]
    runs = {s.get("name"): s.find("testcase[@name='run']") for s in suites}
    assert runs["novaload fine"].find("failure") is None
    assert runs["novaload failing"].find("failure").get("message").startswith("exit 99")
    assert runs["novaload broken"].find("error").get("message").startswith("exit 107")
    # the run's own threshold test cases are kept inside its suite
    assert suites[1].find("testcase[@classname='thresholds.iterations']/failure") is not None
    assert int(root.get("failures")) >= 2 and int(root.get("errors")) == 1
    assert "suite verdict: error" in proc.stdout


@pytest.mark.k6
def test_parallel_suite_and_fail_fast(tmp_path: Path, scripts: Path, k6_bin: str) -> None:
    parallel = write_suite(
        tmp_path / "par.yaml",
        "mode: parallel\nruns:\n  - {script: k6/passing.js}\n  - {script: k6/failing.js}\n  - {script: k6/passing.js, name: again}\n",
    )
    proc = cli("suite", str(parallel), "--out-dir", str(tmp_path / "par"), "--k6", k6_bin, cwd=tmp_path)
    assert proc.returncode == 99, proc.stdout + proc.stderr
    rows = json.loads((tmp_path / "par" / "suite.json").read_text())["runs"]
    assert [r["exit_code"] for r in rows] == [0, 99, 0]
    fail_fast = write_suite(
        tmp_path / "ff.yaml",
        "fail_fast: true\nruns:\n  - {script: k6/failing.js}\n  - {script: k6/passing.js}\n",
    )
    proc = cli("suite", str(fail_fast), "--out-dir", str(tmp_path / "ff"), "--k6", k6_bin, cwd=tmp_path)
    assert proc.returncode == 99
    rows = json.loads((tmp_path / "ff" / "suite.json").read_text())["runs"]
    assert rows[1]["verdict"] == "not run" and rows[1]["message"] == "fail_fast after failing"
    skipped = (
        ET.parse(tmp_path / "ff" / "junit.xml")
        .getroot()
        .find(".//testcase[@classname='suite.passing']/skipped")
    )
    assert skipped is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runs: []\n", "suite.yaml: runs: Tuple should have at least 1 item"),
        ("runs:\n  - {scenario: api, script: x.js}\n", "runs.0: give exactly one of scenario or script"),
        ("runs:\n  - {scenario: api}\n  - {scenario: api}\n", "run labels must be unique"),
        ("runs:\n  - {scenario: apx}\n", "runs.0.scenario: unknown scenario (got 'apx')"),
        ("runs:\n  - {scenario: api, profile: huge}\n", "runs.0.profile: unknown profile (got 'huge')"),
        (
            "defaults: {env: mars}\nruns:\n  - {scenario: api}\n",
            "runs.0.env: unknown environment (got 'mars')",
        ),
        ("runs:\n  - {script: nope.js}\n", "runs.0.script: script not found (got 'nope.js')"),
        ("runs:\n  - {scenario: api, duration: soon}\n", "runs.0.duration: not a k6 duration"),
        ("mode: sideways\nruns:\n  - {scenario: api}\n", "suite.yaml: mode:"),
        ("runs: [\n", "invalid YAML"),
    ],
    ids=["empty", "both", "dupes", "scenario", "profile", "env", "script", "duration", "mode", "yaml"],
)
def test_bad_suite_is_one_line_exit_2_and_runs_nothing(tmp_path: Path, text: str, message: str) -> None:
    suite = write_suite(tmp_path / "suite.yaml", text)
    proc = cli("suite", str(suite), "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", sorted((REPO / "configs" / "suites").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_suites_validate_and_name_existing_scenarios(path: Path) -> None:
    from novaload.config.loader import load_project
    from novaload.config.suite import load_suite
    from novaload.suite.runner import check_suite

    suite = load_suite(path)
    check_suite(suite, path, load_project(REPO / "configs", REPO / "k6-scenarios"))
    assert suite.runs


SLOW = """
import { sleep } from 'k6';
export const options = { vus: 1, duration: '40s' };
export default function () { sleep(0.1); }
"""


@pytest.mark.k6
@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_ctrl_c_stops_the_running_k6_gracefully_and_still_writes_the_index(
    tmp_path: Path, scripts: Path, k6_bin: str, mode: str
) -> None:
    """Ctrl-C in a terminal signals the whole foreground group (here: killpg)."""
    import signal
    import time

    (scripts / "slow.js").write_text(SLOW)
    suite = write_suite(
        tmp_path / "s.yaml",
        f"mode: {mode}\nmax_parallel: 2\nruns:\n  - {{script: k6/slow.js}}\n"
        "  - {script: k6/slow.js, name: slow2}\n  - {script: k6/passing.js}\n",
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "novaload", "suite", str(suite), "--out-dir", str(out), "--k6", k6_bin],
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / "01-slow" / "k6.log").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # k6 is running its iterations
        os.killpg(proc.pid, signal.SIGINT)
        started = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert time.monotonic() - started < 25, "k6 was not stopped: it ran its 40 s"
    assert proc.returncode == 105, stderr
    rows = {r["label"]: r for r in json.loads((out / "suite.json").read_text())["runs"]}
    assert rows["slow"]["verdict"] == "interrupted" and rows["slow"]["exit_code"] == 105
    assert rows["passing"]["verdict"] == "not run"  # nothing starts after the interrupt
    if mode == "parallel":
        assert rows["slow2"]["verdict"] == "interrupted"
    assert (out / "index.html").is_file() and (out / "01-slow" / "run.json").is_file()


@pytest.mark.k6
def test_only_if_env_runs_an_entry_only_when_its_variable_is_true(
    tmp_path: Path, scripts: Path, k6_bin: str
) -> None:
    suite = write_suite(
        tmp_path / "cond.yaml",
        "runs:\n  - {script: k6/passing.js}\n  - {script: k6/failing.js, only_if_env: NOVALOAD_TEST_EXTRA}\n",
    )
    off = cli("suite", str(suite), "--out-dir", str(tmp_path / "off"), "--k6", k6_bin, cwd=tmp_path)
    assert off.returncode == 0, off.stdout + off.stderr
    rows = json.loads((tmp_path / "off" / "suite.json").read_text())["runs"]
    assert rows[1]["verdict"] == "not run" and rows[1]["message"] == "NOVALOAD_TEST_EXTRA is not true"
    env = {**os.environ, "NO_COLOR": "1", "NOVALOAD_TEST_EXTRA": "true"}
    on = subprocess.run(
        [sys.executable, "-m", "novaload", "suite", str(suite), "--out-dir", str(tmp_path / "on"), "--k6", k6_bin],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert on.returncode == 99, on.stdout + on.stderr


def test_fail_fast_is_not_triggered_by_an_entry_only_if_env_left_out(
    tmp_path: Path, scripts: Path, k6_bin: str
) -> None:
    """An entry left out by only_if_env did not fail: the next one still runs and is judged."""
    suite = write_suite(
        tmp_path / "ff-cond.yaml",
        "fail_fast: true\nruns:\n  - {script: k6/passing.js, only_if_env: NOVALOAD_TEST_UNSET}\n"
        "  - {script: k6/failing.js}\n",
    )
    env = {k: v for k, v in os.environ.items() if k != "NOVALOAD_TEST_UNSET"}
    done = subprocess.run(
        [sys.executable, "-m", "novaload", "suite", str(suite), "--out-dir", str(tmp_path / "s"), "--k6", k6_bin],
        capture_output=True, text=True, timeout=240, env={**env, "NO_COLOR": "1"}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 99, done.stdout + done.stderr
    rows = json.loads((tmp_path / "s" / "suite.json").read_text())["runs"]
    assert [(r["verdict"], r["exit_code"]) for r in rows] == [("not run", None), ("failed", 99)]


def test_a_suite_by_name_and_novaload_list_shows_suites(tmp_path: Path) -> None:
    listed = cli("list")
    assert (
        listed.returncode == 0 and "core" in listed.stdout and "suites (novaload suite NAME)" in listed.stdout
    )
    cfg = tmp_path / "configs"
    import shutil

    shutil.copytree(REPO / "configs", cfg)
    (cfg / "suites" / "typo.yaml").write_text("runs:\n  - {scenario: apx}\n")
    proc = cli("--config-dir", str(cfg), "suite", "typo", "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 2 and "typo.yaml: runs.0.scenario: unknown scenario (got 'apx')" in proc.stderr


@pytest.mark.k6
def test_rerun_into_the_same_out_dir_is_refused_unless_overwrite(
    tmp_path: Path, scripts: Path, k6_bin: str
) -> None:
    """Without --overwrite a second suite into the folder is one line, exit 2, and the first
    suite's runs and index stay as they were; with it each run replaces its earlier folder."""
    suite = write_suite(
        tmp_path / "again.yaml", "runs:\n  - {script: k6/passing.js}\n  - {script: k6/failing.js}\n"
    )
    out = tmp_path / "out"
    args = ("suite", str(suite), "--out-dir", str(out), "--k6", k6_bin)
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 99, first.stdout + first.stderr
    earlier = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "notes.txt").write_text("mine")
    (out / "01-passing" / "notes.txt").write_text("mine too")
    (out / "01-passing" / "k6-results-2of2.json").write_text("{}")  # a run file the new run won't write

    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert f"{out.resolve()}: already holds" in refused.stderr and "--overwrite" in refused.stderr
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        **earlier,
        Path("notes.txt"): b"mine",
        Path("01-passing/notes.txt"): b"mine too",
        Path("01-passing/k6-results-2of2.json"): b"{}",
    }

    replaced = cli(*args, "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 99, replaced.stdout + replaced.stderr
    before = json.loads(earlier[Path("suite.json")])["runs"]
    after = json.loads((out / "suite.json").read_text())["runs"]
    assert [r["exit_code"] for r in after] == [0, 99]
    for old, new in zip(before, after, strict=True):
        assert new["run_id"] != old["run_id"]
        record = json.loads((out / new["folder"] / "run.json").read_text())
        assert record["run_id"] == new["run_id"] and record["status"] == "finished"
        assert new["run_id"] in (out / new["folder"] / "report.md").read_text()
    assert (out / "index.md").read_bytes() != earlier[Path("index.md")]
    assert not (out / "01-passing" / "k6-results-2of2.json").exists()  # the earlier run went as a whole
    assert (out / "notes.txt").read_text() == "mine"  # files that are not a run's stay
    assert (out / "01-passing" / "notes.txt").read_text() == "mine too"
