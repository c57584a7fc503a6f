"""Fixtures for the protocol sections: real k6 runs of k6's own gRPC, WebSocket, browser
and custom-metric examples (``scripts/``, see ``NOTICE.md``) against real peers on
loopback: a grpcio server (``grpc_peer.py``), the demo target's echo WebSocket and
pages, Debian's Chromium for k6/browser. Each run is bounded and made once per session.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import require_tool, stop_process

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Run:
    json: Path
    export: Path  # k6's --summary-export: the oracle
    stdout: str


@pytest.fixture(scope="session")
def grpc_addr() -> Iterator[str]:
    require_tool(importlib.util.find_spec("grpc_tools") is not None, "grpcio-tools not installed")
    proc = subprocess.Popen([sys.executable, str(HERE / "grpc_peer.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        words = proc.stdout.readline().split()
        assert words and words[0] == "PORT", "gRPC peer did not start"
        yield f"127.0.0.1:{words[1]}"
    finally:
        stop_process(proc)


def run_k6(k6_bin: str, script: str, out: Path, env: dict[str, str], *extra: str) -> Run:
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out / "out.json", out / "export.json", "")
    args = [f"-e{k}={v}" for k, v in env.items()]
    cmd = [
        k6_bin,
        "run",
        "-q",
        "--no-color",
        *args,
        "--out",
        f"json={run.json}",
        "--summary-export",
        str(run.export),
        str(SCRIPTS / script),
    ]
    browser_env = {
        "K6_BROWSER_EXECUTABLE_PATH": CHROMIUM,
        "K6_BROWSER_ARGS": "no-sandbox",
        "K6_BROWSER_HEADLESS": "true",
    }
    res = subprocess.run(
        cmd, capture_output=True, text=True, timeout=180, cwd=SCRIPTS, env={**os.environ, **browser_env}
    )
    assert res.returncode in (0, 99), f"k6 failed ({res.returncode}): {res.stderr[-3000:]}"
    return Run(run.json, run.export, res.stdout)


def _ws_url(demo_target: str) -> str:
    return demo_target.replace("http://", "ws://", 1) + "/ws/console"


@pytest.fixture(scope="session")
def grpc_run(k6_bin, grpc_addr, tmp_path_factory) -> Run:
    return run_k6(k6_bin, "grpc_invoke.js", tmp_path_factory.mktemp("grpc"), {"GRPC_ADDR": grpc_addr})


@pytest.fixture(scope="session")
def ws_run(k6_bin, demo_target, tmp_path_factory) -> Run:
    """k6/ws (k6's examples/websocket.js)."""
    return run_k6(k6_bin, "ws_k6ws.js", tmp_path_factory.mktemp("ws"), {"WS_URL": _ws_url(demo_target)})


@pytest.fixture(scope="session")
def websockets_run(k6_bin, demo_target, tmp_path_factory) -> Run:
    """k6/websockets (k6's examples/websockets/test-echo.js)."""
    return run_k6(
        k6_bin, "ws_websockets.js", tmp_path_factory.mktemp("websockets"), {"WS_URL": _ws_url(demo_target)}
    )


@pytest.fixture(scope="session")
def custom_run(k6_bin, demo_target, tmp_path_factory) -> Run:
    return run_k6(k6_bin, "custom_metrics.js", tmp_path_factory.mktemp("custom"), {"BASE": demo_target})


@pytest.fixture(scope="session")
def browser_run(k6_bin, demo_target, tmp_path_factory) -> Run:
    require_tool(shutil.which(CHROMIUM) is not None, "chromium not installed (apt-get install chromium)")
    # p(75) in k6's export too: Google judges a Web Vital by its 75th percentile
    stats = "--summary-trend-stats=avg,min,med,max,p(75),p(90),p(95)"
    return run_k6(
        k6_bin, "browser_vitals.js", tmp_path_factory.mktemp("browser"), {"BASE": demo_target}, stats
    )
