"""Fixtures for the Kubernetes runner tests: a real cluster, a namespace, a loopback target.

The cluster is the one ``$KUBECONFIG`` names (in CI, ``.ci/run`` starts k8s-local, a real
one-node Kubernetes 1.20 on this machine). Runner images are built in the cluster's own
Docker engine, which ``.ci/run`` passes as ``NOVALOAD_TEST_K8S_DOCKER_HOST``: it is set as
``DOCKER_HOST`` only inside these tests, so the Docker runner's tests keep the machine's
engine. Every test gets its own namespace, deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from support import require_tool

from novaload.runners.base import K8sOptions

DOCKER_HOST_VAR = "NOVALOAD_TEST_K8S_DOCKER_HOST"

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


def _cluster_reason() -> str | None:
    """None when a cluster answers and the cluster's engine is known, else why not."""
    if not os.environ.get("KUBECONFIG"):
        return "no Kubernetes cluster (KUBECONFIG unset; .ci/run starts k8s-local)"
    if not os.environ.get(DOCKER_HOST_VAR):
        return f"{DOCKER_HOST_VAR} unset (the cluster's Docker engine, where runner images are built)"
    try:
        from novaload.errors import NovaloadError
        from novaload.runners.k8s import connect

        connect(K8sOptions())
    except NovaloadError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def cluster_available() -> bool:
    reason = _cluster_reason()
    require_tool(reason is None, reason or "")
    return True


@pytest.fixture
def k8s_env(cluster_available: bool, monkeypatch: pytest.MonkeyPatch) -> None:
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


def host_ip() -> str:
    """The host as pods on the pod network see it (the API server's address on k8s-local)."""
    from novaload.runners.k8s import connect

    return urlparse(connect(K8sOptions()).host).hostname or "127.0.0.1"


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
    """A counting HTTP server on 127.0.0.1 (reached by host-network runner pods)."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def bridge_target(cluster_available: bool) -> Iterator[Target]:
    """The same on the host's address on the pod network (reached by ordinary pods)."""
    yield from _serve(host_ip())
