"""The Kubernetes runner image's k6 wrapper, run as a container of the machine's Docker
engine (no cluster needed): real k6 writes its results into the wrapper's named pipe and
busybox ``httpd`` streams them at ``/cgi-bin/results`` while k6 runs.

A pod is this container plus the API server's pod proxy in front of its results server;
here the test reads that server directly (host network, a loopback port). What the
cluster adds is tested in ``test_k8s_stream.py``.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Target
from support import k6_path, require_tool

from novaload.runners import k8s_objects as objects

pytestmark = [pytest.mark.docker, pytest.mark.k6]

LABEL = "novaload.test"  # containers of these tests, removed by id when each test ends

STEADY = """
import http from 'k6/http';
export const options = { vus: 4, duration: __ENV.DURATION || '3s' };
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""
FEW = """
import http from 'k6/http';
export const options = { vus: 1, iterations: 3 };
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""
INIT_ERROR = "throw new Error('init failed');\nexport default function () {}\n"


@pytest.fixture(scope="module")
def runner_image() -> str:
    import docker

    try:
        docker.from_env(timeout=5).ping()
    except docker.errors.DockerException as exc:
        require_tool(False, f"no Docker engine: {exc}")
    require_tool(k6_path() is not None, "k6 not installed")
    from novaload.runners.k8s_image import ensure_runner_image

    return ensure_runner_image(Path(str(k6_path())))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Runner:
    container: object
    url: str
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (time, bytes) as read

    def get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(f"{self.url}/{path}", timeout=timeout) as resp:
            return bytes(resp.read())

    def stream(self, timeout: float = 60) -> bytes:
        """``/cgi-bin/results`` to its end, noting when each piece came."""
        out = bytearray()
        with urllib.request.urlopen(f"{self.url}/{objects.STREAM_PATH}", timeout=timeout) as resp:
            while piece := resp.read1(1 << 16):
                self.chunks.append((time.monotonic(), len(piece)))
                out += piece
        return bytes(out)

    def exit_code(self, within_s: float = 60) -> int:
        deadline = time.monotonic() + within_s
        while True:
            try:
                return int(self.get(objects.EXIT_CODE_FILE).decode())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def shell(self, command: str) -> str:
        code, out = self.container.exec_run(["/bin/sh", "-c", command])  # type: ignore[attr-defined]
        assert code == 0, out
        return str(out.decode())


@pytest.fixture
def start(runner_image: str, tmp_path: Path) -> Iterator:
    import docker

    client = docker.from_env()
    started: list = []

    def run(script: str, target: Target, *, orphan_s: int = 60, duration: str = "3s") -> Runner:
        (tmp_path / "test.js").write_text(script, encoding="utf-8")
        port = _free_port()
        env = {e["name"]: e["value"] for e in objects.wrapper_env(f"127.0.0.1:{port}", 30) if "value" in e}
        env |= {"NOVALOAD_ORPHAN_S": str(orphan_s), "TARGET": target.url, "DURATION": duration}
        container = client.containers.run(
            runner_image,
            ["run", "--quiet", *objects.results_args(), "/test/test.js"],
            detach=True,
            network_mode="host",
            environment=env,
            volumes={str(tmp_path): {"bind": "/test", "mode": "ro"}},
            labels={LABEL: "k8s-wrapper"},
        )
        started.append(container)
        runner = Runner(container, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:  # its results server answers within a second of the start
            try:
                runner.get(objects.READY_FILE, timeout=2)
                return runner
            except OSError:
                assert time.monotonic() < deadline, container.logs().decode()
                time.sleep(0.2)

    yield run
    for container in started:
        container.remove(force=True)


def _points(stream: bytes, metric: str) -> int:
    return sum(
        1
        for line in gzip.decompress(stream).splitlines()
        if f'"metric":"{metric}","type":"Point"'.encode() in line
    )


def test_results_leave_the_runner_while_k6_writes_them_and_nothing_stays_on_its_disk(
    start, loopback_target: Target
) -> None:
    runner = start(STEADY, loopback_target, duration="4s")
    disk: list[int] = []
    sampling = threading.Event()

    def sample() -> None:  # the results folder's size on disk while k6 runs
        while not sampling.is_set():
            try:
                disk.append(int(runner.shell("busybox du -sk /results").split()[0]))
            except Exception:  # noqa: BLE001 - the container ended between two samples
                return
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stream = runner.stream()
    ended = time.monotonic()
    sampling.set()
    sampler.join(10)

    assert runner.exit_code() == 0
    requests = _points(stream, "http_reqs")
    assert requests == loopback_target.requests > 100
    # it came in pieces over the test's 4 s, not as one copy at the end
    assert len(runner.chunks) > 5 and ended - runner.chunks[0][0] > 2
    assert len(gzip.decompress(stream)) > 1_000_000 and max(disk) < 100, disk  # KiB: a flat folder
    summary = json.loads(runner.get(objects.SUMMARY_EXPORT_FILE))
    assert summary["metrics"]["http_reqs"]["count"] == requests  # k6's own count: every sample came


def test_a_reader_that_comes_after_k6_exited_still_gets_everything(start, loopback_target: Target) -> None:
    """A short test can end before novaload's stream starts (operator mode): what k6
    wrote last waits in the pipe."""
    runner = start(FEW, loopback_target)
    assert runner.exit_code() == 0
    time.sleep(1.5)  # the wrapper is holding, k6 long gone
    assert _points(runner.stream(timeout=20), "http_reqs") == 3


def test_a_k6_that_fails_in_init_ends_the_stream_empty(start, loopback_target: Target) -> None:
    runner = start(INIT_ERROR, loopback_target)
    began = time.monotonic()
    assert runner.stream(timeout=30) == b""  # not a reader waiting for ever for k6 to open it
    assert time.monotonic() - began < 20
    assert runner.exit_code() == 107


def test_a_new_reader_ends_the_one_before(start, loopback_target: Target) -> None:
    """One reader at a time (novaload reconnecting): two would share the pipe's bytes."""
    runner = start(STEADY, loopback_target, duration="4s")
    first = urllib.request.urlopen(f"{runner.url}/{objects.STREAM_PATH}", timeout=30)
    assert first.read1(1 << 16)
    second = runner.stream()
    rest = first.read()  # ended by the second request, not by k6
    first.close()
    assert second and len(rest) < len(second)
    assert runner.exit_code() == 0


def test_a_runner_nobody_reads_any_more_drops_its_results_and_k6_finishes(
    start, loopback_target: Target
) -> None:
    """novaload gone mid-run: k6 would keep every sample in memory, waiting on the pipe."""
    runner = start(STEADY, loopback_target, orphan_s=2, duration="6s")
    with urllib.request.urlopen(f"{runner.url}/{objects.STREAM_PATH}", timeout=30) as resp:
        assert resp.read1(1 << 16)
    # the reader went away after its first piece; k6 still finishes its 6 s
    assert runner.exit_code(within_s=40) == 0
    assert "nobody has read this runner's results" in runner.container.logs().decode()  # type: ignore[attr-defined]
