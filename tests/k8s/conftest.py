"""Fixtures for the Kubernetes runner tests: a real cluster (whichever ``$KUBECONFIG``
names; see ``cluster_env.py`` for how images get into it and how pods reach this
machine), a namespace per test, and targets the runner pods reach."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cluster_env import (
    DOCKER_HOST_VAR,
    FastTarget,
    cluster_reason,
    host_ip,
    load_runner_image,
    node_is_this_machine,
    serve_fast,
)
from support import require_tool

from novaload.runners.base import K8sOptions

# Exactly one runner executes the test's 4th iteration: it aborts (exit 108), the others run on.
FAILING_RUNNER = """
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
export const options = {
  scenarios: { s: { executor: 'shared-iterations', vus: 3, iterations: 60, maxDuration: '60s' } },
};
export default function () {
  // Exactly one runner executes the test's 4th iteration: it aborts, the others run on.
  if (exec.scenario.iterationInTest === 3) { exec.test.abort('runner failure'); }
  http.get(`${__ENV.TARGET}/item`);
  sleep(0.3);
}
"""


@pytest.fixture(scope="session")
def cluster_available() -> bool:
    reason = cluster_reason()
    require_tool(reason is None, reason or "")
    return True


@pytest.fixture(scope="session")
def runner_image_loaded(cluster_available: bool) -> str | None:
    """The runner image, copied into the cluster once for the session (None: the
    cluster's engine builds it as a run needs it)."""
    from support import k6_path

    return load_runner_image(Path(k6_path() or "k6"))


@pytest.fixture
def k8s_env(
    cluster_available: bool, runner_image_loaded: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runner_image_loaded is None:
        monkeypatch.setenv("DOCKER_HOST", os.environ[DOCKER_HOST_VAR])


@pytest.fixture
def namespace(k8s_env: None) -> Iterator[str]:
    """A fresh namespace; after the test, nothing novaload made may be left in it."""
    from kubernetes import client

    from novaload.runners.k8s import connect

    name = f"novaload-test-{secrets.token_hex(3)}"
    cluster = connect(K8sOptions())
    core = client.CoreV1Api(cluster.api)
    core.create_namespace({"metadata": {"name": name}})
    # The namespace's default ServiceAccount appears asynchronously; pods need it.
    for _ in range(100):
        if core.list_namespaced_service_account(name).items:
            break
        time.sleep(0.1)
    try:
        yield name
    finally:
        core.delete_namespace(name)


def cluster_for(namespace: str):  # -> Cluster
    from novaload.runners.k8s import connect

    return connect(K8sOptions(namespace=namespace))


@dataclass
class Target:
    url: str
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _serve(bind: str) -> Iterator[Target]:
    target = Target(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with target.lock:
                target.requests += 1
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((bind, 0), Handler)
    target.url = f"http://{bind}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_target() -> Iterator[Target]:
    """A counting HTTP server on 127.0.0.1."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def node_target(cluster_available: bool) -> Iterator[Target]:
    """A counting HTTP server that host-network runner pods reach: on this machine's
    loopback when the node's network is this machine's, else where the node reaches it."""
    yield from _serve("127.0.0.1" if node_is_this_machine() else host_ip())


@pytest.fixture
def bridge_target(cluster_available: bool) -> Iterator[Target]:
    """The same on the host's address on the pod network (reached by ordinary pods)."""
    yield from _serve(host_ip())


@pytest.fixture
def fast_bridge_target(cluster_available: bool, tmp_path: Path) -> Iterator[FastTarget]:
    """A target that keeps up with full-rate runner pods, where pods reach this machine."""
    with serve_fast(host_ip(), tmp_path) as target:
        yield target
