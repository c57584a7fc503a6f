"""``--traces`` with the Docker runner: the entry script sits in the run folder and imports
the user's script from its own folder, which the container must see too (mounted
read-only at its path). Same checks as the local runner's (``tests/run/test_traces.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trace_server import TRACED_SCRIPT, TraceServer, check_traced_run

pytestmark = [pytest.mark.docker, pytest.mark.k6]


def test_the_docker_runner_carries_the_tracing_along(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    script = tmp_path / "user" / "script.js"
    script.parent.mkdir()
    script.write_text(TRACED_SCRIPT)
    out = tmp_path / "run"
    with TraceServer(tmp_path) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "novaload",
                "run",
                str(script),
                "--traces",
                "--runner",
                "docker",
                "--image",
                k6_image,
                "--target",
                server.url,
                "--out-dir",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={
                **os.environ,
                "NO_COLOR": "1",
                "TRACE_TARGET": server.url,
                "NOVALOAD_JAEGER_URL": "http://jaeger.test:16686",
            },
        )
        received = server.requests()
    no_leftovers.append(json.loads((out / "run.json").read_text())["run_id"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_traced_run(json.loads((out / "summary.json").read_text()), received, out)
