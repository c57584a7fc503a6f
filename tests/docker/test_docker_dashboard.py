"""``run --dashboard`` with the Docker runner: each k6 container serves its dashboard on the
host (``port + i`` for a split run's instance i) while it runs, and writes its export into
the mounted run folder; on a named network the port is published on the host address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dashboard_check import SCRIPT, cumulative, free_ports, watch

from novaload.runners.ports import free_port

pytestmark = [pytest.mark.docker, pytest.mark.k6]

_PACED = """
import { sleep } from 'k6';
export const options = { vus: 2, duration: '6s' };
export default function () { sleep(0.1); }
"""


def _start(tmp_path: Path, script_text: str, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "script.js"
    script.write_text(script_text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("K6_WEB_DASHBOARD")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--runner",
            "docker",
            "--out-dir",
            str(tmp_path / "run"),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, "NO_COLOR": "1"},
        cwd=tmp_path,
    )


def _finish(proc: subprocess.Popen[str], no_leftovers: list[str], out: Path) -> str:
    try:
        _, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    if (out / "run.json").is_file():
        no_leftovers.append(json.loads((out / "run.json").read_text())["run_id"])
    assert proc.returncode == 0, stderr[-3000:]
    return stderr


def test_a_split_run_has_a_dashboard_and_an_export_per_container(
    k6_image: str, tmp_path: Path, demo_target: str, no_leftovers: list[str]
) -> None:
    port = free_ports(2)
    proc = _start(
        tmp_path,
        SCRIPT,
        "--image",
        k6_image,
        "--parallelism",
        "2",
        "--target",
        demo_target,
        "--dashboard-port",
        str(port),
        "--dashboard-period",
        "1s",
    )
    first = watch(proc, f"http://127.0.0.1:{port}")
    second = watch(proc, f"http://127.0.0.1:{port + 1}")
    out = tmp_path / "run"
    stderr = _finish(proc, no_leftovers, out)
    assert f"http://127.0.0.1:{port}, http://127.0.0.1:{port + 1} while k6 runs" in stderr
    assert "<html" in first.ui and "<html" in second.ui, (first.errors[-3:], second.errors[-3:])
    summary = json.loads((out / "summary.json").read_text())["metrics"]
    parts = [cumulative(out / f"dashboard-{i}of2.html") for i in (1, 2)]
    # each container's export has its own segment's requests: together the run's
    assert all(p["http_reqs"][0] > 0 for p in parts)
    assert sum(p["http_reqs"][0] for p in parts) == summary["http_reqs"]["count"]


def test_on_a_named_network_the_port_is_published(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    from novaload.runners.image import docker_client

    client = docker_client()
    network = client.networks.create(f"novaload-pytest-{uuid.uuid4().hex[:8]}", driver="bridge")
    port = free_port()
    try:
        proc = _start(
            tmp_path,
            _PACED,
            "--image",
            k6_image,
            "--network",
            network.name,
            "--dashboard-port",
            str(port),
            "--dashboard-period",
            "1s",
        )
        seen = watch(proc, f"http://127.0.0.1:{port}")
        out = tmp_path / "run"
        _finish(proc, no_leftovers, out)
    finally:
        network.remove()
        client.close()
    assert "<html" in seen.ui, seen.errors[-3:]
    summary = json.loads((out / "summary.json").read_text())["metrics"]
    assert cumulative(out / "dashboard.html")["iterations"][0] == summary["iterations"]["count"] > 0
