"""A loopback HTTP server that records the trace context of every request it gets.

Routes: ``/fast`` (at once), ``/slow`` (sleeps ``SLOW_S`` plus up to ``SLOW_JITTER_S``:
the slow path exemplars must point at), ``/fail`` (HTTP 500), anything else 200. Every
request is appended to a JSON-lines file as ``{method, path, traceparent, uber-trace-id,
b3, baggage, t}`` before it is answered.

As a test helper: ``with TraceServer(tmp_path) as server: ... server.url, server.requests()``.
The server runs in its own process (``python trace_server.py LOG``), so k6's load does not
compete with the test's own event loop; it prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

# A plain k6 script (TRACE_TARGET: the server's URL), nothing about tracing in it: named
# requests, a slow path, a failing one, a batch and a named import.
TRACED_SCRIPT = """
import http from 'k6/http';
import { get } from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    browse: { executor: 'per-vu-iterations', vus: 2, iterations: 8, maxDuration: '60s' },
  },
  thresholds: { http_req_failed: ['rate<0.9'] },
};

// --target (every runner passes it on), else the environment (the local runner's)
const BASE = __ENV.NOVALOAD_BASE_URL || __ENV.TRACE_TARGET;

export default function () {
  check(http.get(`${BASE}/fast`, { tags: { name: 'fast' } }), { 'fast 200': (r) => r.status === 200 });
  get(`${BASE}/slow`, { tags: { name: 'slow' } });
  http.post(`${BASE}/fail`, JSON.stringify({ n: __ITER }), { tags: { name: 'fail' } });
  http.batch([['GET', `${BASE}/fast?batch=1`, null, { tags: { name: 'batch' } }]]);
}
"""
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
PATHS = {"fast": "/fast", "slow": "/slow", "fail": "/fail", "batch": "/fast"}
SLOW_S = 0.12
SLOW_JITTER_S = 0.08
HEADERS = ("traceparent", "uber-trace-id", "b3", "baggage")


class TraceServer:
    def __init__(self, folder: Path) -> None:
        self.log = folder / "trace-server.jsonl"
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> TraceServer:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.log)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        words = self.proc.stdout.readline().split()
        assert words and words[0] == "PORT", "trace server did not start"
        self.url = f"http://127.0.0.1:{words[1]}"
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def check_traced_run(summary: dict, received: list[dict], out: Path) -> None:
    """What a run of TRACED_SCRIPT with --traces must show (NOVALOAD_JAEGER_URL
    http://jaeger.test:16686): W3C context on every request, exemplars the server saw on
    their own requests, slowest first on the slow path, linked from both reports."""
    assert len(received) == 2 * 8 * 4
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    ids = {}
    for r in received:
        assert r["baggage"] == f"testid={run_id}"  # the run's id: a span's way to its logs
        m = TRACEPARENT.match(r["traceparent"] or "")
        assert m, f"request without W3C trace context: {r}"
        ids.setdefault(m.group(1), []).append(r["path"])
    assert len(ids) == len(received)  # a new trace for every request (a one-request batch too)

    exemplars = summary["novaload"]["exemplars"]
    assert {e["endpoint"] for e in exemplars} == set(PATHS)
    for e in exemplars:
        assert set(e) == {"endpoint", "trace_id", "duration_ms", "status", "time", "kind"}
        assert e["trace_id"] in ids, f"{e} names a trace the server never saw"
        assert ids[e["trace_id"]] == [PATHS[e["endpoint"]]], e  # on the request it describes
    slowest = [e for e in exemplars if e["kind"] == "slowest"]
    assert [e["duration_ms"] for e in slowest] == sorted((e["duration_ms"] for e in slowest), reverse=True)
    assert [e["endpoint"] for e in slowest[:5]] == ["slow"] * 5  # the slow path is the slowest
    assert min(e["duration_ms"] for e in slowest if e["endpoint"] == "slow") >= 100
    assert {e["status"] for e in exemplars if e["endpoint"] == "fail"} == {"500"}

    page = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    from novaload.reports.exemplars import MARKDOWN_ROWS

    for i, e in enumerate(exemplars):
        link = f"http://jaeger.test:16686/trace/{e['trace_id']}"
        assert f'href="{html.escape(link)}"' in page
        assert (f"({link})" in md) == (i < MARKDOWN_ROWS)  # report.md: the slowest few


def _serve(log: Path) -> None:
    from aiohttp import web

    out = log.open("a", buffering=1)

    async def handle(request: web.Request) -> web.Response:
        record = {"method": request.method, "path": request.path, "t": time.time()}
        record.update({h: request.headers.get(h) for h in HEADERS})
        out.write(json.dumps(record) + "\n")
        if request.path == "/slow":
            await asyncio.sleep(SLOW_S + random.random() * SLOW_JITTER_S)
        if request.path == "/fail":
            return web.Response(status=500, text="failed on purpose")
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    try:
        _serve(Path(sys.argv[1]))
    except KeyboardInterrupt:
        sys.exit(0)
