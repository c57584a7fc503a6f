"""Helpers shared by the monitoring tests: free ports, HTTP, waiting for
servers (stopped with support.stop_process), and one bounded k6 run feeding the monitoring outputs."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from support import require_tool as require  # noqa: F401  (re-exported to the conftest)

from novaload.monitoring import MonitoringSettings, k6_output_args
from novaload.runners import ports

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
PROMETHEUS_BIN = "/usr/bin/prometheus"
INFLUXD_BIN = "/usr/bin/influxd"

# Two named endpoints (some requests fail: the target injects 5xx), checks, and an
# arrival-rate scenario that cannot keep up (1 VU, 100 ms per iteration, 30/s asked)
# so dropped_iterations and vus_max have data like a saturated generator would.
K6_SCRIPT = """
import http from 'k6/http';
import { check, sleep } from 'k6';
const B = __ENV.TARGET;
export const options = {
  scenarios: {
    users: { executor: 'constant-vus', vus: 5, duration: '8s' },
    arrivals: { executor: 'constant-arrival-rate', rate: 30, timeUnit: '1s', duration: '8s',
                preAllocatedVUs: 1, maxVUs: 1, exec: 'paced' },
  },
};
export default function () {
  const r = http.get(`${B}/api/v1/items`, { tags: { name: 'items' } });
  check(r, { 'items ok': (x) => x.status === 200 });
  const s = http.get(`${B}/api/v1/cluster/status`, { tags: { name: 'cluster-status' } });
  check(s, { 'cluster ok': (x) => x.status === 200 });
  sleep(0.01);
}
export function paced() {
  http.get(`${B}/api/v1/cluster/nodes`, { tags: { name: 'cluster-nodes' } });
  sleep(0.1);
}
"""


def free_port() -> int:
    """A loopback port nobody else is given until the server started on it binds it (Go's
    servers here and Python's set SO_REUSEADDR; see novaload.runners.ports)."""
    return ports.free_port()


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            status, _ = http_get(url, timeout=1.0)
            if 200 <= status < 300:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s: {log.read_text()[-2000:]}")


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    data_dir: Path


@dataclass
class LokiReceiver:
    """A local HTTP endpoint speaking Loki's push API far enough for k6's log output:
    ``/ready`` answers 200, ``/loki/api/v1/push`` stores each JSON push (204)."""

    url: str
    pushes: list[dict] = field(default_factory=list)

    def streams(self) -> list[dict]:
        return [stream for push in self.pushes for stream in push.get("streams", [])]


def start_loki_receiver() -> tuple[LokiReceiver, http.server.ThreadingHTTPServer]:
    receiver = LokiReceiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ready" else 404)
            self.end_headers()
            self.wfile.write(b"ready\n")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/loki/api/v1/push" or self.headers.get("Content-Type") != "application/json":
                self.send_response(400)  # k6 pushes JSON; anything else is a finding
            else:
                receiver.pushes.append(json.loads(body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def start_prometheus(
    data_dir: Path, config: str, log_name: str = "prometheus.log", *, remote_write: bool = True
) -> tuple[subprocess.Popen[bytes], Server]:
    """Prometheus 2.42 on a free loopback port with ``config``; the caller stops it."""
    port = free_port()
    (data_dir / "prometheus.yml").write_text(config, encoding="utf-8")
    log = data_dir / log_name
    flags = (
        ["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"] if remote_write else []
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                PROMETHEUS_BIN,
                f"--config.file={data_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={data_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                *flags,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, Server(f"http://127.0.0.1:{port}", port, data_dir)


@dataclass(frozen=True)
class K6Run:
    testid: str
    started_at: datetime
    ended_at: datetime
    exit_code: int
    stdout: str


INFLUXD_CONFIG = """
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
[coordinator]
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
"""


def run_k6(
    k6: str,
    script_dir: Path,
    target_url: str,
    settings: MonitoringSettings,
    testid: str,
    outputs: tuple[str, ...],
    native_histograms: bool = False,
) -> K6Run:
    """One bounded (~8 s) k6 run sending to ``outputs``, with the args the runner would add."""
    script = script_dir / "monitoring-feed.js"
    script.write_text(K6_SCRIPT, encoding="utf-8")
    args, env = k6_output_args(settings, testid, native_histograms, outputs=outputs)
    started = datetime.now(UTC)
    done = subprocess.run(
        [k6, "run", "--quiet", "--no-usage-report", *args, "--tag", f"testid={testid}", str(script)],
        env={**os.environ, **env, "TARGET": target_url},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return K6Run(testid, started, datetime.now(UTC), done.returncode, done.stdout + done.stderr)
