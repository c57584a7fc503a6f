"""TargetProcess, ``python -m novaload.target``, /metrics validity, and a k6 smoke run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from novaload.errors import RunnerError
from novaload.target import TargetProcess, TargetSettings, is_target_running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_target_process_starts_serves_and_leaves_no_process():
    with TargetProcess.start(TargetSettings(seed=1, error_rate=1.0)) as target:
        pid = target.pid
        assert target.ws_url.startswith("ws://127.0.0.1:")
        assert is_target_running(target.url)
        assert requests.get(target.url + "/api/v1/vms", timeout=5).status_code in (500, 503)
    assert not _alive(pid)  # reaped: not even a zombie remains
    assert not is_target_running(target.url)


def test_stop_is_idempotent_and_reports_clean_exit():
    target = TargetProcess.start()
    assert target.stop() == 0
    assert target.stop() == 0
    assert not target.running()


def test_stop_closes_open_websocket_streams_promptly():
    target = TargetProcess.start()

    async def hold_stream_while_stopping() -> tuple[int, int | None]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{target.ws_url}/ws/metrics") as ws,
        ):
            await ws.receive(timeout=5)
            code = await asyncio.to_thread(target.stop)
            msg = await ws.receive(timeout=5)
            while msg.type == aiohttp.WSMsgType.TEXT:
                msg = await ws.receive(timeout=5)
            # The server sent its close frame; it may be gone before the client's reply.
            assert msg.type == aiohttp.WSMsgType.CLOSE
            return code, msg.data

    code, close_code = asyncio.run(hold_stream_while_stopping())
    assert code == 0  # exited on SIGTERM by itself, not killed after the grace period
    assert close_code == 1001


def test_start_failure_raises_runner_error_naming_the_cause():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RunnerError, match="cannot listen"):
            TargetProcess.start(TargetSettings(port=port), timeout=10)


def test_is_target_running_is_false_for_other_servers(target):
    assert is_target_running(target.url)
    assert not is_target_running(target.url + "/api/v1/cluster")  # answers 404 at /health
    assert not is_target_running("http://127.0.0.1:9")


def test_module_entry_point_rejects_bad_settings():
    proc = subprocess.run(
        [sys.executable, "-m", "novaload.target", "--error-rate", "7"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "error_rate" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_serve_writes_ready_file_logs_url_and_stops_on_signal(tmp_path, sig):
    ready = tmp_path / "url"
    proc = subprocess.Popen(
        [sys.executable, "-m", "novaload.target", "--ready-file", str(ready)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        url = ready.read_text().strip()
        assert url in line
        assert requests.get(url + "/ready", timeout=5).json()["ready"] is True
    finally:
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0


def test_metrics_pass_promtool(target, promtool):
    requests.get(target.url + "/api/v1/vms", timeout=5)
    requests.get(target.url + "/api/v1/vms/nope", timeout=5)
    requests.post(target.url + "/api/v1/db/batch", json={"count": 3}, timeout=5)
    text = requests.get(target.url + "/metrics", timeout=5).text
    assert 'route="/api/v1/vms/{id}",status="404"' in text
    assert "novaload_demo_vms{" in text
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_metrics_parse_as_prometheus_text(target):
    requests.get(target.url + "/api/v1/items", timeout=5)
    samples = {}
    for line in requests.get(target.url + "/metrics", timeout=5).text.splitlines():
        if line and not line.startswith("#"):
            name_labels, value = line.rsplit(" ", 1)
            samples[name_labels] = float(value)
    key = 'novaload_demo_http_requests_total{method="GET",route="/api/v1/items",status="200"}'
    assert samples[key] == 1.0
    assert samples['novaload_demo_http_request_duration_seconds_count{route="/api/v1/items"}'] == 1.0


K6_SMOKE = textwrap.dedent("""
    import http from 'k6/http';
    import { check } from 'k6';
    export const options = { vus: 2, duration: '2s', thresholds: { checks: ['rate==1'] } };
    const BASE = __ENV.BASE_URL;
    export default function () {
      check(http.get(`${BASE}/api/v1/cluster/status`), { 'status 200': (r) => r.status === 200 });
      check(http.get(`${BASE}/api/v1/db/records/7`), { 'record 7': (r) => r.json('id') === 7 });
      const created = http.post(`${BASE}/api/v1/vms`, JSON.stringify({ name: 'k6', tags: { run_id: 'smoke' } }),
                                { headers: { 'Content-Type': 'application/json' } });
      check(created, { 'created 201': (r) => r.status === 201 });
    }
""")


@pytest.mark.k6
def test_k6_smoke_against_target_process(k6_bin, tmp_path: Path):
    script = tmp_path / "smoke.js"
    script.write_text(K6_SMOKE)
    summary = tmp_path / "summary.json"
    with TargetProcess.start(TargetSettings(latency_median_ms=1, latency_p99_ms=5)) as target:
        proc = subprocess.run(
            [
                k6_bin,
                "run",
                "--quiet",
                "--no-color",
                f"--summary-export={summary}",
                "-e",
                f"BASE_URL={target.url}",
                str(script),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        deleted = requests.delete(
            target.url + "/api/v1/vms", params={"tag": "run_id:smoke"}, timeout=5
        ).json()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    checks = json.loads(summary.read_text())["metrics"]["checks"]
    assert checks["fails"] == 0 and checks["passes"] > 0
    assert deleted["deleted"] == checks["passes"] // 3
