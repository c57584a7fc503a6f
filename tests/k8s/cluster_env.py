"""Which cluster the Kubernetes tests and ``benchmarks/bench_k8s.py`` use, and how.

Plain functions (no pytest), so the benchmark uses the same rules as the tests. The
cluster is the one ``$KUBECONFIG`` names, whatever it is: ``.ci/run`` starts k8s-local (a
one-node Kubernetes 1.20 on this machine) where it has it, GitHub's hosted runners bring
up kind. The runner image gets into the cluster the cluster's way:

* ``NOVALOAD_TEST_K8S_LOAD_IMAGE``: a command that copies an image of this machine's Docker
  engine into the cluster, the image appended (``kind load docker-image --name NAME``,
  k8s-local's ``load-image.sh``). The image is built once and loaded;
* else ``NOVALOAD_TEST_K8S_DOCKER_HOST``: the cluster's own Docker engine (k8s-local's), set
  as ``DOCKER_HOST`` only for the runs that need it (the Docker runner's tests keep the
  machine's engine), where novaload builds the image as a run needs it;
* else a kubeconfig context ``kind-NAME`` with ``kind`` on PATH: ``kind load docker-image``.

Runner pods reach this machine at the address it has on the way to the node (k8s-local:
the pod bridge's; kind: its Docker network's gateway), or ``NOVALOAD_TEST_K8S_HOST_IP``.
novaload reaches the pods only through the API server, so pod IPs need not be routable.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from novaload.runners.base import K8sOptions

DOCKER_HOST_VAR = "NOVALOAD_TEST_K8S_DOCKER_HOST"
LOAD_IMAGE_VAR = "NOVALOAD_TEST_K8S_LOAD_IMAGE"
HOST_IP_VAR = "NOVALOAD_TEST_K8S_HOST_IP"


def _kind_load_command() -> list[str] | None:
    """``kind load docker-image --name NAME`` when the current context is kind's."""
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts()
    except Exception:  # noqa: BLE001 - no kubeconfig to read: not kind
        return None
    name = (active or {}).get("name", "")
    if name.startswith("kind-") and shutil.which("kind"):
        return ["kind", "load", "docker-image", "--name", name.removeprefix("kind-")]
    return None


def load_image_command() -> list[str] | None:
    """The command that copies an image of this machine's engine into the cluster, if any."""
    if os.environ.get(LOAD_IMAGE_VAR):
        return shlex.split(os.environ[LOAD_IMAGE_VAR])
    if os.environ.get(DOCKER_HOST_VAR):
        return None  # images are built in the cluster's engine itself
    return _kind_load_command()


def cluster_reason() -> str | None:
    """None when a cluster answers and there is a way to get images into it, else why not."""
    if not os.environ.get("KUBECONFIG"):
        return "no Kubernetes cluster (KUBECONFIG unset; .ci/run starts k8s-local)"
    if load_image_command() is None and not os.environ.get(DOCKER_HOST_VAR):
        return (
            f"no way to get the runner image into the cluster: set {LOAD_IMAGE_VAR} (e.g. "
            f"'kind load docker-image') or {DOCKER_HOST_VAR} (the cluster's Docker engine)"
        )
    try:
        from novaload.errors import NovaloadError
        from novaload.runners.k8s import connect

        connect(K8sOptions())
    except NovaloadError as exc:
        return str(exc)
    return None


def load_runner_image(k6_binary: Path) -> str | None:
    """novaload's runner image, built in this machine's engine and copied into the cluster
    (None: the cluster's engine builds it as a run needs it)."""
    command = load_image_command()
    if command is None:
        return None
    from novaload.runners.k8s_image import ensure_runner_image

    image = ensure_runner_image(k6_binary)
    proc = subprocess.run([*command, image], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join([*command, image])}: {proc.stdout}{proc.stderr}")
    return image


def node_ip() -> str:
    """The node's InternalIP (one-node clusters: the first node)."""
    from kubernetes import client

    from novaload.runners.k8s import connect

    for node in client.CoreV1Api(connect(K8sOptions()).api).list_node().items:
        for address in node.status.addresses or []:
            if address.type == "InternalIP":
                return str(address.address)
    raise AssertionError("the cluster's node has no InternalIP")


def _local_address_towards(ip: str) -> str:
    """This machine's source address for packets to ``ip`` (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((ip, 9))
        return str(s.getsockname()[0])


def host_ip() -> str:
    """This machine as pods see it: ``NOVALOAD_TEST_K8S_HOST_IP``, else the API server's
    address when it is not loopback (k8s-local listens on the pod bridge), else this
    machine's address on the way to the node (kind: its Docker network's gateway)."""
    if os.environ.get(HOST_IP_VAR):
        return os.environ[HOST_IP_VAR]
    from novaload.runners.k8s import connect

    api = urlparse(connect(K8sOptions()).host).hostname or "127.0.0.1"
    if not api.startswith("127.") and api not in ("localhost", "::1"):
        return api
    return _local_address_towards(node_ip())


def node_is_this_machine() -> bool:
    """Whether the node's network is this machine's (k8s-local), so that host-network
    pods share its loopback; a kind node is a container with a loopback of its own."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((node_ip(), 0))
        return True
    except OSError:
        return False


@dataclass
class FastTarget:
    url: str

    def served(self) -> int:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/__count", timeout=10) as resp:
            return int(resp.read())


@contextmanager
def serve_fast(bind: str, tmp: Path) -> Iterator[FastTarget]:
    """``fast_target.py`` in a process of its own, stopped by its PID afterwards."""
    port_file = tmp / "fast-target.port"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fast_target.py")), bind, str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "fast_target.py did not start"
            time.sleep(0.05)
        yield FastTarget(f"http://{bind}:{port_file.read_text()}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
