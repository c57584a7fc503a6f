"""The fault catalogue's harness: novaload as a real subprocess, and what every probe checks.

A probe runs ``python -m novaload`` as a user or a CI job would (a real k6 against the
demo target on loopback, a few seconds at most), does something hostile to it (bad
input, a signal, a dead engine, a killed container, an injection) and then asserts the
promises of docs/guarantees.md:

* the exit code (:meth:`Probe.exit_ok`);
* an error is one line on stderr, never a traceback (:meth:`Probe.one_line_error`);
* nothing outlives novaload: after the test, no process that inherited the probe's
  token (novaload, the demo target, k6) is alive (checked by the ``probe`` fixture),
  and no container carries the run's labels (:meth:`Probe.containers`);
* nothing is lost: ``run.json`` and the reports exist (:meth:`Probe.record`).

Processes are found by a token in their environment, which every child inherits and
which survives re-parenting to init: a PID list taken from novaload's children would
miss exactly the orphans this catalogue looks for. Whatever is found is killed by PID
(they are the probe's own), never by name.

Test modules use the ``probe`` fixture only: conftest modules are not importable by
name (``tests/`` has its own), so every helper is a method of :class:`Probe`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE_VAR = "NOVALOAD_FAULT_PROBE"
# The Makefile's wiring variables and --debug: a probe must not depend on the calling shell.
_WIRING = ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS", "TEST_DURATION", "API_TARGET", "NOVALOAD_DEBUG")


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def processes_of(token: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``token``."""
    needle = f"{PROBE_VAR}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and _state(int(entry.name)) not in (None, "Z"):
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@dataclass(frozen=True)
class Probe:
    """One probe: its token (inherited by every process it starts) and its temp folder."""

    token: str
    tmp: Path

    # ---- starting novaload ---------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _WIRING}
        env.update({"NO_COLOR": "1", "COLUMNS": "200", PROBE_VAR: self.token, "PYTHONUNBUFFERED": "1"})
        env.update(extra or {})
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 90, cwd: Path = REPO
    ) -> subprocess.CompletedProcess[str]:
        """``novaload ARGS`` to completion; ``timeout`` turns a hang into a failure."""
        try:
            return subprocess.run(
                [sys.executable, "-m", "novaload", *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            # subprocess.run has killed novaload; its children are the fixture's to find.
            err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            pytest.fail(f"novaload {' '.join(args)} hung for {timeout:g} s; stderr:\n{(err or '')[-2000:]}")

    def start(self, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.Popen[str]:
        """``novaload ARGS`` in the background, leading its own process group.

        A terminal's Ctrl-C goes to the whole foreground process group; :meth:`ctrl_c`
        does the same to this group, so whatever novaload leaves in it gets one too.
        """
        return subprocess.Popen(
            [sys.executable, "-m", "novaload", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env(env),
            cwd=cwd,
            process_group=0,
        )

    @staticmethod
    def ctrl_c(proc: subprocess.Popen[str]) -> None:
        """What a terminal does on Ctrl-C: SIGINT to the foreground process group."""
        os.killpg(proc.pid, signal.SIGINT)

    @staticmethod
    def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
        """Wait for a started novaload; a hang fails the probe (and the process is killed)."""
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"novaload hung for {timeout:g} s; stderr so far:\n{err[-2000:]}")
        return proc.returncode, out, err

    @staticmethod
    def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
        return wait_for(predicate, timeout, interval)

    # ---- what outlives novaload ----------------------------------------------------------
    def processes(self) -> list[int]:
        """PIDs of live processes this probe started (novaload and every descendant)."""
        return processes_of(self.token)

    def processes_named(self, fragment: str) -> list[int]:
        """This probe's live processes whose command line contains ``fragment``."""
        return [pid for pid in self.processes() if fragment in command_line(pid)]

    def programs(self, name: str) -> list[int]:
        """This probe's live processes whose program (argv[0]'s base name) is ``name``."""
        return [pid for pid in self.processes() if Path(command_line(pid).split(" ")[0]).name == name]

    def assert_no_orphans(self, grace_s: float = 10.0) -> None:
        """Every process of the probe is gone within ``grace_s``; leftovers are killed by PID."""
        if wait_for(lambda: not self.processes(), grace_s, 0.1):
            return
        left = {pid: command_line(pid) for pid in self.processes()}
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pytest.fail(f"processes outlived novaload: {left}")

    @staticmethod
    def containers(run_id: str | None = None, owner_pid: int | None = None) -> list[str]:
        """Containers (running or exited) labelled with this run id and/or owner PID."""
        from novaload.runners import docker as runner
        from novaload.runners.image import docker_client

        filters = runner.label_filters(run_id)
        if owner_pid is not None:
            filters.append(f"{runner.OWNER_PID_LABEL}={owner_pid}")
        client = docker_client()
        try:
            return [
                c.name
                for c in client.containers.list(all=True, filters={"label": filters}, ignore_removed=True)
            ]
        finally:
            client.close()

    @staticmethod
    def remove_containers(names: list[str]) -> None:
        """Remove containers a probe created (found by its labels)."""
        import docker

        from novaload.runners.image import docker_client

        client = docker_client()
        try:
            for name in names:
                try:
                    client.containers.get(name).remove(force=True)
                except docker.errors.NotFound:
                    pass
        finally:
            client.close()

    # ---- what every probe asserts --------------------------------------------------------
    @staticmethod
    def no_traceback(*texts: str) -> None:
        for text in texts:
            assert "Traceback (most recent call last)" not in text, text[-3000:]
            assert "MarkupError" not in text, text[-3000:]

    def exit_ok(self, code: int, expected: int, out: str, err: str) -> None:
        """Exit ``expected`` and no traceback anywhere."""
        assert code == expected, (
            f"exit {code}, expected {expected}\nstdout:\n{out[-2000:]}\nstderr:\n{err[-3000:]}"
        )
        self.no_traceback(out, err)

    def one_line_error(self, proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
        """Exit ``code``, no traceback, and exactly one ``error:`` line containing ``fragments``."""
        self.exit_ok(proc.returncode, code, proc.stdout, proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, proc.stderr
        for fragment in fragments:
            assert fragment in errors[0], errors[0]
        return errors[0]

    @staticmethod
    def record(run_dir: Path) -> dict:
        """``run.json`` of a run folder (the probe fails when it is missing)."""
        path = run_dir / "run.json"
        assert path.is_file(), f"no run.json in {run_dir}: {sorted(p.name for p in run_dir.iterdir())}"
        return json.loads(path.read_text(encoding="utf-8"))

    @staticmethod
    def all_text(folder: Path) -> str:
        """Every file under ``folder`` as text (for "the secret is nowhere" checks)."""
        return "\n".join(
            p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file()
        )

    def script(self, body: str, options: str = "{ vus: 1, duration: '2s' }", name: str = "probe.js") -> Path:
        """A k6 script in the probe's folder: ``body`` is the default function's body."""
        path = self.tmp / name
        path.write_text(
            "import http from 'k6/http';\n"
            "import { sleep } from 'k6';\n"
            f"export const options = {options};\n"
            f"export default function () {{\n{body}\n}}\n",
            encoding="utf-8",
        )
        return path


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    """A probe; after the test, no process it started may be alive (leftovers are killed)."""
    p = Probe(token=secrets.token_hex(8), tmp=tmp_path)
    yield p
    p.assert_no_orphans()


# ---- a system under test that records what it receives -------------------------------------


@dataclass
class Recorder:
    """A loopback HTTP server answering 200 to everything and keeping each request's headers."""

    url: str
    requests: list[dict[str, str]]

    def header_values(self, name: str) -> set[str]:
        return {r[name.lower()] for r in list(self.requests) if name.lower() in r}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append({k.lower(): v for k, v in self.headers.items()} | {":path": self.path})
            body = b'{"id": 1, "items": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Recorder(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()


def project_with_environment(tmp: Path, name: str, environment_yaml: str) -> Path:
    """A copy of the repository's configs/ with one more environment (``--config-dir``)."""
    import shutil

    config = tmp / "configs"
    shutil.copytree(REPO / "configs", config)
    (config / "environments" / f"{name}.yaml").write_text(environment_yaml, encoding="utf-8")
    return config


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str, str], Path]:
    """``project(name, yaml)``: a config folder with an extra environment ``name``."""
    return lambda name, text: project_with_environment(tmp_path, name, text)


# ---- Docker ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def k6_image() -> Iterator[str]:
    """novaload's scratch k6 image under a tag of this session (no registry is reachable).

    CI starts the engine (``.ci/run``); locally a missing engine skips the Docker probes.
    """
    from support import k6_path, require_tool

    from novaload.errors import RunnerError
    from novaload.runners.image import build_k6_image, docker_client

    try:
        client = docker_client()
    except RunnerError as exc:
        require_tool(False, f"Docker engine: {exc}")
        return
    k6 = k6_path()
    require_tool(k6 is not None, "k6 binary not found")
    assert k6 is not None
    tag = build_k6_image(Path(k6), tag=f"novaload/k6:faults-{os.getpid()}")
    try:
        yield tag
    finally:
        client.images.remove(tag, noprune=False)
        client.close()
