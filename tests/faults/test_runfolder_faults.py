"""Fault probes on the run folder: OS errors on ``--out-dir``, a folder that already holds a
run, concurrent runs into one folder, planted symlinks, runs without results.

Every probe runs the real ``novaload`` (a real k6 against the demo target, a few seconds)
on real file systems (a small tmpfs for a full disk, a read-only bind mount: tests run as
root, where permissions would not stop a write) and asserts the exit code, a one-line
error without traceback, and that nothing already in the folder was lost or changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import require_tool

pytestmark = pytest.mark.k6

REPO = Path(__file__).resolve().parents[2]
_WIRING = ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS", "TEST_DURATION", "API_TARGET", "NOVALOAD_DEBUG")

QUICK = """
import http from 'k6/http';
export const options = { vus: 1, iterations: 3, tags: { testid: __ENV.NOVALOAD_RUN_ID } };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); }
"""
# Enough samples to outgrow a 64 KiB file system in a second or two.
CHATTY = """
import http from 'k6/http';
export const options = { vus: 2, iterations: 400 };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); }
"""
SYNTAX_ERROR = "import http from 'k6/http';\nexport default function () { http.get( }\n"


# ---- helpers -------------------------------------------------------------------------------


def novaload(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """``python -m novaload ARGS`` as a CI job runs it; a hang fails the probe."""
    full = {k: v for k, v in os.environ.items() if k not in _WIRING}
    full.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    try:
        return subprocess.run(
            [sys.executable, "-m", "novaload", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"novaload {' '.join(args)} hung for {timeout:g} s")


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The run's one ``error:`` line (it must contain ``needles``); no traceback anywhere."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def contents(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` with a hash of what it holds (symlinks: their target)."""
    out: dict[str, str] = {}
    if not folder.exists():
        return out
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            out[entry.name] = "-> " + os.readlink(entry)
        elif entry.is_file():
            out[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()
        else:
            out[entry.name] = "dir"
    return out


def run_ids_in(results: Path) -> set[str]:
    ids = set()
    with results.open() as fh:
        for line in fh:
            doc = json.loads(line)
            if doc.get("type") == "Point":
                ids.add(doc["data"]["tags"].get("testid"))
    return ids


def record(run_dir: Path) -> dict[str, object]:
    doc = json.loads((run_dir / "run.json").read_text())
    assert isinstance(doc, dict)
    return doc


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs of our own at ``where`` (a full disk on demand); unmounted after."""
    require_tool(_can_mount(), "mounting a tmpfs needs root and mount(8)")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` bind-mounted read-only onto itself (root ignores permission bits)."""
    require_tool(_can_mount(), "a read-only bind mount needs root and mount(8)")
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "quick.js"
    path.write_text(QUICK)
    return path


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory, demo_target: str, k6_bin: str) -> Path:
    """One finished run folder (a user's script), copied by each probe that needs one."""
    base = tmp_path_factory.mktemp("earlier")
    script = base / "earlier.js"
    script.write_text(QUICK)
    out = base / "run"
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture
def earlier(earlier_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(earlier_run, copy, symlinks=True)
    return copy


# ---- OS errors on --out-dir ----------------------------------------------------------------


def test_out_dir_that_is_a_file(tmp_path: Path, script: Path, demo_target: str) -> None:
    target = tmp_path / "taken"
    target.write_text("precious\n")
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(target))
    assert proc.returncode == 2
    one_line_error(proc, str(target), "not a folder")
    assert target.read_text() == "precious\n"


def test_out_dir_below_a_file(tmp_path: Path, script: Path, demo_target: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(blocker / "run"))
    assert proc.returncode == 2
    one_line_error(proc, str(blocker / "run"), f"{blocker} is not a folder")
    assert blocker.read_text() == "x"


def test_out_dir_on_a_read_only_file_system(tmp_path: Path, script: Path, demo_target: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    with read_only(folder):
        proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(folder / "run"))
    assert proc.returncode == 2
    one_line_error(proc, str(folder / "run"), "Read-only file system")
    assert contents(folder) == {"keep.txt": hashlib.sha256(b"keep").hexdigest()}


def test_an_existing_empty_out_dir_on_a_read_only_file_system(
    tmp_path: Path, script: Path, demo_target: str
) -> None:
    folder = tmp_path / "ro-run"
    folder.mkdir()
    with read_only(folder):
        proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(folder))
    assert proc.returncode == 2
    one_line_error(proc, str(folder), "Read-only file system")
    assert contents(folder) == {}


def test_out_dir_on_a_full_disk(tmp_path: Path, script: Path, demo_target: str) -> None:
    with tmpfs(tmp_path / "full", "64k") as disk:
        fill(disk)
        before = contents(disk)
        proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(disk / "run"))
        after = contents(disk)
    assert proc.returncode == 2
    one_line_error(proc, str(disk / "run"), "No space left on device")
    assert after == before  # no half-made run folder left behind


def test_the_disk_fills_up_during_the_run(tmp_path: Path, demo_target: str) -> None:
    """k6's results outgrow the disk mid-run: no hang, no traceback, never "passed", and
    run.json still says how the run ended."""
    chatty = tmp_path / "chatty.js"
    chatty.write_text(CHATTY)
    with tmpfs(tmp_path / "small", "64k") as disk:
        out = disk / "run"
        proc = novaload("run", str(chatty), "--target", demo_target, "--out-dir", str(out), timeout=120)
        doc = record(out)
    assert proc.returncode not in (0, 1), proc.stdout + proc.stderr
    out_text = proc.stdout + proc.stderr
    assert "Traceback" not in out_text and "internal error" not in out_text, out_text
    if proc.returncode == 2:
        one_line_error(proc, str(out), "No space left on device")
        assert doc["status"] == "failed" and "No space left on device" in str(doc["error"])
    assert doc["exit_code"] == proc.returncode and doc["verdict"] != "passed"


def test_report_into_an_out_dir_that_is_a_file(tmp_path: Path, earlier_run: Path) -> None:
    target = tmp_path / "report-here"
    target.write_text("precious\n")
    proc = novaload("report", str(earlier_run / "k6-results.json"), "--out-dir", str(target))
    assert proc.returncode == 2
    one_line_error(proc, str(target))
    assert target.read_text() == "precious\n"


def test_report_on_a_read_only_file_system(tmp_path: Path, earlier_run: Path) -> None:
    folder = tmp_path / "ro-report"
    folder.mkdir()
    with read_only(folder):
        proc = novaload("report", str(earlier_run / "k6-results.json"), "--out-dir", str(folder))
    assert proc.returncode == 2
    one_line_error(proc, str(folder), "Read-only file system")
    assert contents(folder) == {}


# ---- a run folder belongs to one run -------------------------------------------------------


def test_a_second_run_into_a_run_folder_is_refused(earlier: Path, script: Path, demo_target: str) -> None:
    before = contents(earlier)
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(earlier))
    assert proc.returncode == 2
    one_line_error(proc, str(earlier), "already holds a run", "--overwrite")
    assert contents(earlier) == before
    assert "demo target started" not in proc.stderr and "k6 v" not in proc.stderr


def test_overwrite_replaces_the_earlier_run_as_a_whole(earlier: Path, script: Path, demo_target: str) -> None:
    old_id = record(earlier)["run_id"]
    # Files of an earlier split or --baseline run that this run will not write again,
    # and a file that is not a run's.
    shutil.copy(earlier / "k6-results.json", earlier / "k6-results-2of2.json")
    (earlier / "comparison.md").write_text("old comparison")
    (earlier / "notes.txt").write_text("mine")
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(earlier), "--overwrite")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = record(earlier)
    assert doc["run_id"] != old_id and doc["status"] == "finished"
    assert not (earlier / "k6-results-2of2.json").exists() and not (earlier / "comparison.md").exists()
    assert (earlier / "notes.txt").read_text() == "mine"
    assert run_ids_in(earlier / "k6-results.json") == {doc["run_id"]}


@pytest.mark.parametrize(
    "bad",
    [["--duration", "0s"], ["--duration", "soon"], ["--env", "nowhere"], ["--vus", "0"]],
    ids=["zero-duration", "bad-duration", "unknown-env", "zero-vus"],
)
@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_a_failing_run_never_touches_an_earlier_run(
    earlier: Path, script: Path, demo_target: str, bad: list[str], overwrite: bool
) -> None:
    before = contents(earlier)
    script.write_text(QUICK + "// another version of the script\n")  # not the earlier run's
    args = ["run", str(script), "--target", demo_target, "--out-dir", str(earlier), *bad]
    proc = novaload(*args, *(["--overwrite"] if overwrite else []))
    assert proc.returncode == 2
    if bad[0] == "--vus":  # rejected by the command line parser (click's own usage message)
        assert "Traceback" not in proc.stderr
    else:
        one_line_error(proc, bad[0] if bad[0] != "--env" else "unknown environment")
    assert contents(earlier) == before  # the earlier run's script included


def test_a_script_error_never_gets_a_report_from_earlier_results(earlier: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.js"
    broken.write_text(SYNTAX_ERROR)
    proc = novaload("run", str(broken), "--out-dir", str(earlier), "--overwrite")
    assert proc.returncode == 107, proc.stdout + proc.stderr
    doc = record(earlier)
    assert doc["status"] == "finished" and doc["verdict"] == "error: script exception"
    assert doc["k6_exit_codes"] == [107]
    for name in ("summary.json", "report.html", "report.md", "junit.xml", "k6-results.json"):
        assert not (earlier / name).exists(), name
    assert (earlier / "script.js").read_text() == SYNTAX_ERROR


def test_two_runs_into_one_folder_at_once(tmp_path: Path, script: Path, demo_target: str) -> None:
    out = tmp_path / "shared"
    env = {k: v for k, v in os.environ.items() if k not in _WIRING}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    cmd = [
        sys.executable,
        "-m",
        "novaload",
        "run",
        str(script),
        "--target",
        demo_target,
        "--out-dir",
        str(out),
    ]
    procs = [
        subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        done = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], done
    loser = next(p for p, (_, err) in zip(procs, done, strict=True) if p.returncode == 2)
    err = done[procs.index(loser)][1]
    one_line_error(subprocess.CompletedProcess([], 2, "", err), str(out))
    assert "another novaload run" in err or "already holds a run" in err
    doc = record(out)
    assert doc["status"] == "finished" and doc["exit_code"] == 0
    assert run_ids_in(out / "k6-results.json") == {doc["run_id"]}


def test_a_planted_k6_log_symlink_is_refused(tmp_path: Path, script: Path, demo_target: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / "k6.log").symlink_to(victim)
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out))
    assert proc.returncode == 2
    one_line_error(proc, str(out), "already holds a run", "k6.log")
    assert victim.read_text() == "do not touch\n" and (out / "k6.log").is_symlink()


def test_overwrite_removes_a_planted_symlink_and_never_writes_through_it(
    tmp_path: Path, script: Path, demo_target: str
) -> None:
    victims = {
        name: tmp_path / f"victim-{name}" for name in ("k6.log", "run.json", "report.html", "script.js")
    }
    out = tmp_path / "run"
    out.mkdir()
    for name, victim in victims.items():
        victim.write_text("do not touch\n")
        (out / name).symlink_to(victim)
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out), "--overwrite")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name, victim in victims.items():
        assert victim.read_text() == "do not touch\n", name
        assert not (out / name).is_symlink() and (out / name).is_file(), name


def test_the_local_runner_never_writes_k6_log_through_a_symlink(tmp_path: Path, k6_bin: str) -> None:
    """The runner used on its own (library): an entry already at k6.log is replaced, not
    followed."""
    from novaload.runners.base import ExecutionPlan
    from novaload.runners.local import LocalRunner

    script = tmp_path / "t.js"
    script.write_text("export const options = { vus: 1, iterations: 1 };\nexport default function () {}\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    (run_dir / "k6.log").symlink_to(victim)
    plan = ExecutionPlan(run_id="t", script=script, run_dir=run_dir, k6_args=(), env={}, k6_binary=k6_bin)
    execution = LocalRunner().run(plan)
    assert execution.exit_code == 0
    assert victim.read_text() == "do not touch\n"
    assert not (run_dir / "k6.log").is_symlink() and (run_dir / "k6.log").is_file()


# ---- a run without results is never "passed" ----------------------------------------------

FAKE_K6 = """#!/bin/sh
# Answers like k6 but runs nothing: exits 0 without writing any results.
if [ "$1" = "version" ]; then echo "k6 v1.1.0 (go1.24.4, linux/amd64)"; exit 0; fi
exit 0
"""


def test_a_run_without_results_exits_4(tmp_path: Path, script: Path, demo_target: str) -> None:
    fake = tmp_path / "k6"
    fake.write_text(FAKE_K6)
    fake.chmod(0o755)
    out = tmp_path / "run"
    proc = novaload("run", str(script), "--target", demo_target, "--out-dir", str(out), "--k6", str(fake))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "passed" not in proc.stdout
    assert "k6 wrote no results" in proc.stdout + proc.stderr
    doc = record(out)
    assert doc["exit_code"] == 4 and doc["k6_exit_code"] == 0 and doc["status"] == "finished"
    assert doc["verdict"] == "error: k6 wrote no results, or they did not all arrive"


# ---- run.json ------------------------------------------------------------------------------


def test_run_json_is_written_at_the_start_and_at_the_end(earlier_run: Path) -> None:
    doc = record(earlier_run)
    assert doc["status"] == "finished" and doc["exit_code"] == 0 and doc["error"] is None
    assert doc["k6_exit_codes"] == [0] and doc["ended_at"] and doc["started_at"]
    assert "run.json" in doc["files"] and "k6-results.json" in doc["files"]
    assert not [p.name for p in earlier_run.iterdir() if p.name.startswith(".")]  # no temporary left


def test_run_json_of_an_older_novaload_is_read_leniently(tmp_path: Path) -> None:
    from novaload.runfolder import FINISHED, RunRecord, read_run_record

    (tmp_path / "run.json").write_text(
        json.dumps(
            {
                "run_id": "api-1",
                "scenario": "api",
                "k6_args": ["--tag", "testid=api-1"],
                "exit_code": 99,
                "verdict": "failed",
                "duration_s": 3,
                "parallelism": "two",  # wrong type: dropped, default kept
                "from_the_future": True,
            }
        )
    )
    rec = read_run_record(tmp_path)
    assert isinstance(rec, RunRecord)
    assert (rec.run_id, rec.exit_code, rec.k6_args, rec.duration_s) == (
        "api-1",
        99,
        ("--tag", "testid=api-1"),
        3.0,
    )
    assert rec.status == FINISHED and rec.parallelism == 1 and rec.extra == {"from_the_future": True}
    (tmp_path / "run.json").write_text("[1, 2]")
    assert read_run_record(tmp_path) is None
    with pytest.raises(AttributeError):
        rec.exit_code = 0  # type: ignore[misc]  # frozen


def test_a_run_killed_before_its_end_says_running(tmp_path: Path, demo_target: str) -> None:
    """SIGKILL mid-run: the record written when the folder was claimed stays, saying the
    run never ended (status running), so nobody mistakes the folder for a finished run."""
    slow = tmp_path / "slow.js"
    slow.write_text(
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n"
        "export const options = { vus: 1, duration: '20s' };\n"
        "export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); sleep(0.2); }\n"
    )
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in _WIRING}
    proc = subprocess.Popen(
        [sys.executable, "-m", "novaload", "run", str(slow), "--target", demo_target, "--out-dir", str(out)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (out / "k6-results.json").exists():
            time.sleep(0.1)
        assert (out / "k6-results.json").exists()
    finally:
        proc.kill()
        proc.wait()
    doc = record(out)
    assert doc["status"] == "running" and doc["exit_code"] is None and doc["ended_at"] is None
    # k6 dies with novaload (PR_SET_PDEATHSIG): wait for it to be gone before the tmp goes
    time.sleep(0.5)
