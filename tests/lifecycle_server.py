"""A loopback HTTP server that counts a k6 script's setup() and teardown() calls and records
what every VU got from setup(): the witness of ``--setup once`` in the Docker and Kubernetes
tests (importable as ``lifecycle_server``).

``POST /setup`` answers a fresh token (one per call), ``GET /seen?token=T&instance=I``
records that a VU iteration saw token T, ``POST /teardown?token=T`` records a teardown()
with T. Anything else answers 200. :data:`SCRIPT` is the k6 script that calls them.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# Split 3 ways each runner gets 2 VUs of 2 iterations: 12 iterations in all. setup() makes
# one request and returns the token; teardown() makes one with the token it was given.
SCRIPT = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 6, iterations: 2, maxDuration: '60s' } },
  setupTimeout: __ENV.SETUP_TIMEOUT || '60s',
  teardownTimeout: __ENV.TEARDOWN_TIMEOUT || '60s',
};
const BASE = __ENV.LIFECYCLE_URL;
export function setup() {
  const res = http.post(`${BASE}/setup`);
  if (__ENV.SETUP_FAILS === 'throw') { throw new Error('setup broke on purpose'); }
  if (__ENV.SETUP_FAILS === 'slow') { sleep(30); }
  return { token: res.json('token') };
}
export default function (data) {
  http.get(`${BASE}/seen?token=${data.token}&instance=${__ENV.INSTANCE || ''}`);
  sleep(Number(__ENV.ITERATION_SLEEP || '0'));
}
export function teardown(data) {
  http.post(`${BASE}/teardown?token=${data.token}`);
  if (__ENV.TEARDOWN_FAILS === 'throw') { throw new Error('teardown broke on purpose'); }
  if (__ENV.TEARDOWN_FAILS === 'slow') { sleep(30); }
}
"""


@dataclass
class Calls:
    setup_tokens: list[str] = field(default_factory=list)  # one per setup() call
    seen: list[str] = field(default_factory=list)  # the token of every iteration
    teardown_tokens: list[str] = field(default_factory=list)  # one per teardown() call
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    calls: Calls

    def _answer(self, body: dict[str, object] | None = None) -> None:
        data = json.dumps(body or {"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urlparse(self.path)
        token = (parse_qs(url.query).get("token") or [""])[0]
        with self.calls.lock:
            if url.path == "/setup":
                token = uuid.uuid4().hex
                self.calls.setup_tokens.append(token)
                return self._answer({"token": token})
            if url.path == "/seen":
                self.calls.seen.append(token)
            elif url.path == "/teardown":
                self.calls.teardown_tokens.append(token)
        self._answer()

    do_GET = _route
    do_POST = _route

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def lifecycle_server(host: str = "127.0.0.1") -> Iterator[tuple[str, Calls]]:
    """The server on a free port of ``host``: its base URL and what it has recorded."""
    calls = Calls()
    handler = type("Handler", (_Handler,), {"calls": calls})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
