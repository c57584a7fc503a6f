"""``run --dashboard``: k6's own web dashboard, served while the local k6 runs and exported
into the run folder as ``dashboard.html`` whose figures are the run's (k6's counts equal
summary.json's); and what is refused in one line before anything starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_check import SCRIPT, cumulative, events, free_ports, watch
from test_run_e2e import novaload

from novaload.errors import UsageError
from novaload.runfolder import is_run_file
from novaload.runners.dashboard import Dashboard, resolve, short_run_note
from novaload.runners.ports import free_port


def _start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    script = tmp_path / "script.js"
    script.write_text(SCRIPT)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("K6_WEB_DASHBOARD")}
    return subprocess.Popen(
        [sys.executable, "-m", "novaload", "run", str(script), "--out-dir", str(tmp_path / "run"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, "NO_COLOR": "1", **(env or {})},
        cwd=tmp_path,
    )


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port something listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.k6
@pytest.mark.parametrize("how", ["flags", "k6-variables"])
def test_the_local_run_serves_the_dashboard_and_exports_it(
    tmp_path: Path, demo_target: str, how: str
) -> None:
    port = free_port()
    if how == "flags":
        proc = _start(
            tmp_path, "--target", demo_target, "--dashboard-port", str(port), "--dashboard-period", "1s"
        )
    else:  # k6's own variables mean the same to novaload
        proc = _start(
            tmp_path,
            "--target",
            demo_target,
            env={
                "K6_WEB_DASHBOARD": "true",
                "K6_WEB_DASHBOARD_PORT": str(port),
                "K6_WEB_DASHBOARD_PERIOD": "1s",
            },
        )
    try:
        seen = watch(proc, f"http://127.0.0.1:{port}")
        _, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert f"dashboard: http://127.0.0.1:{port} while k6 runs" in stderr
    # while k6 ran: the dashboard's page and the report of the run so far
    assert "<html" in seen.ui and "k6" in seen.ui, seen.errors[-3:]
    assert any(e["event"] == "config" for e in events(seen.report))
    # at the end: the export, with the run's own figures
    out = tmp_path / "run"
    export = out / "dashboard.html"
    assert export.read_text(encoding="utf-8").lstrip().startswith("<!--") and "<html" in export.read_text()
    figures = cumulative(export)
    summary = json.loads((out / "summary.json").read_text())["metrics"]
    assert figures["http_reqs"][0] == summary["http_reqs"]["count"] > 0
    assert figures["iterations"][0] == summary["iterations"]["count"]
    assert "dashboard.html" in json.loads((out / "run.json").read_text())["files"]


def test_a_port_in_use_is_refused_before_the_run(tmp_path: Path, listening: int) -> None:
    proc = novaload("run", "x.js", "--dashboard-port", str(listening), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"127.0.0.1 port {listening} is in use" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "reports").exists()


@pytest.mark.k6
def test_no_dashboard_switches_off_the_users_k6_web_dashboard(tmp_path: Path, listening: int) -> None:
    """The local k6 inherits K6_WEB_DASHBOARD=true: without novaload's "false" it would start a
    dashboard on the taken port and fail the test."""
    (tmp_path / "s.js").write_text("export default function () {}\n")
    proc = novaload(
        "run",
        "s.js",
        "--no-dashboard",
        "--out-dir",
        str(tmp_path / "run"),
        env={"K6_WEB_DASHBOARD": "true", "K6_WEB_DASHBOARD_PORT": str(listening)},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "run" / "dashboard.html").exists()


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--dashboard", "--runner", "k8s"], {}, "--dashboard: not on the Kubernetes runner"),
        (["--runner", "k8s"], {"K6_WEB_DASHBOARD": "true"}, "--dashboard: not on the Kubernetes runner"),
        (["--dashboard", "--", "--out", "web-dashboard"], {}, "--out web-dashboard beside --dashboard"),
        (["-o", "web-dashboard", "--dashboard"], {}, "--out web-dashboard beside --dashboard"),
        (
            ["--runner", "docker", "--parallelism", "2", "--", "--out", "web-dashboard=port=6000"],
            {},
            "--out web-dashboard on a split run",
        ),
        (["--dashboard-period", "0s"], {}, "--dashboard-period '0s': must be longer than 0s"),
        (["--dashboard-period", "1d"], {}, "--dashboard-period '1d': is not a duration"),
        (["--dashboard"], {"K6_WEB_DASHBOARD_PORT": "x"}, "K6_WEB_DASHBOARD_PORT='x': not a port number"),
        ([], {"K6_WEB_DASHBOARD": "yes"}, "K6_WEB_DASHBOARD='yes': not true or false"),
    ],
    ids=[
        "k8s",
        "k8s-from-env",
        "out-beside",
        "out-in-front",
        "out-split",
        "zero-period",
        "bad-period",
        "bad-port",
        "bad-flag",
    ],
)
def test_what_is_refused_in_one_line(tmp_path: Path, args: list[str], env: dict[str, str], says: str) -> None:
    (tmp_path / "s.js").write_text("export default function () {}\n")
    proc = novaload("run", "s.js", *args, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "reports").exists()


def _resolve(**kw: object) -> Dashboard | None:
    args = {
        "asked": None,
        "host": None,
        "port": None,
        "period": None,
        "environ": {},
        "runner": "local",
        "parallelism": 1,
    }
    return resolve(**{**args, **kw})  # type: ignore[arg-type]


def test_options_win_over_k6s_variables_and_imply_the_dashboard() -> None:
    environ = {"K6_WEB_DASHBOARD_HOST": "", "K6_WEB_DASHBOARD_PORT": str(free_port())}
    assert _resolve(environ=environ) is None  # no K6_WEB_DASHBOARD=true: off
    theirs = _resolve(asked=True, environ=environ)
    assert theirs == Dashboard(host="", port=int(environ["K6_WEB_DASHBOARD_PORT"]))
    assert theirs.url() == f"http://127.0.0.1:{theirs.port}"  # every interface, opened on loopback
    port = free_port()
    ours = _resolve(port=port, environ={**environ, "K6_WEB_DASHBOARD": "true"})
    assert ours == Dashboard(host="", port=port)
    assert _resolve(asked=False, environ={"K6_WEB_DASHBOARD": "true"}) is None


def test_a_split_run_gets_a_port_and_an_export_per_instance(tmp_path: Path) -> None:
    port = free_ports(3)
    dashboard = _resolve(port=port, runner="docker", parallelism=3)
    assert dashboard is not None
    env = dashboard.env(tmp_path, 2, 3, listen_host="0.0.0.0")
    assert env["K6_WEB_DASHBOARD_PORT"] == str(port + 2)
    assert env["K6_WEB_DASHBOARD_HOST"] == "0.0.0.0"
    assert env["K6_WEB_DASHBOARD_EXPORT"] == str(tmp_path.resolve() / "dashboard-3of3.html")
    assert f"http://127.0.0.1:{port + 1}" in dashboard.describe(3)
    # a run's files: --overwrite removes them, a folder holding one holds a run
    assert is_run_file("dashboard.html") and is_run_file("dashboard-3of3.html")
    with pytest.raises(UsageError, match="65535-65536 \\(one per k6 instance\\) is not within 1-65535"):
        _resolve(port=65535, runner="docker", parallelism=2)


def test_a_run_shorter_than_two_periods_is_told_it_gets_no_export() -> None:
    assert short_run_note(Dashboard(), 15.0) is not None  # k6's 10s period: 20s needed
    assert short_run_note(Dashboard(), 20.0) is None
    assert short_run_note(Dashboard(period="1s"), 5.0) is None
    assert short_run_note(Dashboard(), None) is None  # unknown length: nothing to say
