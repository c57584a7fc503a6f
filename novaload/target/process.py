"""The demo target as a child process: :class:`TargetProcess`, and :func:`is_target_running`.

Used by tests and by the runner (which reuses a target that is already up).
The child binds port 0 and reports its URL through a ready file, so there is
no race between picking a free port and binding it.

The child never outlives its owner (``--exit-with-parent``): it asks the kernel for
SIGTERM when the owner dies (``PR_SET_PDEATHSIG``), and it also stops when its stdin,
a pipe only the owner holds, reaches end of file, which covers a platform without the
prctl and an owner that died before the child asked. It runs in its own process group
(not session: the kernel's autogroup scheduler would schedule it apart from k6), so a
terminal's Ctrl-C reaches novaload only: the target keeps serving until k6's teardown
has run, and novaload stops it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from novaload.errors import RunnerError
from novaload.target.app import SERVICE_NAME
from novaload.target.settings import TargetSettings
from novaload.urls import ws_url_for

_STOP_GRACE_S = 5.0
# The target is on loopback: an HTTP(S)_PROXY from the environment must not be used.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_target_running(url: str, timeout: float = 2.0) -> bool:
    """True if ``url`` answers ``GET /health`` 200 as the novaload demo target."""
    try:
        with _DIRECT.open(url.rstrip("/") + "/health", timeout=timeout) as resp:
            if resp.status != 200:
                return False
            body = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("service") == SERVICE_NAME


def _args(settings: TargetSettings, ready_file: Path) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "novaload.target",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--ready-file",
        str(ready_file),
        "--latency-median-ms",
        repr(settings.latency_median_ms),
        "--latency-p99-ms",
        repr(settings.latency_p99_ms),
        "--error-rate",
        repr(settings.error_rate),
        "--drift-ms-per-min",
        repr(settings.latency_drift_ms_per_min),
        "--ws-interval-ms",
        repr(settings.ws_interval_ms),
    ]
    if settings.capacity_rps is not None:
        args += ["--capacity-rps", repr(settings.capacity_rps)]
    if settings.seed is not None:
        args += ["--seed", str(settings.seed)]
    if settings.otlp_endpoint is not None:
        args += ["--otlp-endpoint", settings.otlp_endpoint]
    return args


class TargetProcess:
    """A running ``python -m novaload.target`` child; use :meth:`start` or ``with``."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, workdir: Path) -> None:
        self._proc = proc
        self.url = url
        self._workdir = workdir

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def ws_url(self) -> str:
        return ws_url_for(self.url)

    @property
    def log_path(self) -> Path:
        return self._workdir / "target.log"

    @classmethod
    def start(cls, settings: TargetSettings | None = None, timeout: float = 15.0) -> TargetProcess:
        """Launch the target (port 0 unless settings say otherwise); wait for /health 200.

        Raises RunnerError (with the child's last log lines) if it does not come up.
        """
        settings = settings or TargetSettings()
        workdir = Path(tempfile.mkdtemp(prefix="novaload-target-"))
        ready = workdir / "ready"
        with open(workdir / "target.log", "wb") as log:
            proc = subprocess.Popen(
                [*_args(settings, ready), "--exit-with-parent"],
                stdin=subprocess.PIPE,  # never written: its end of file tells the child we are gone
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # off the terminal's Ctrl-C; same scheduling group as k6
            )
        target = cls(proc, "", workdir)
        try:
            target.url = target._wait_ready(ready, timeout)
        except BaseException:
            target.stop()
            raise
        return target

    def _wait_ready(self, ready: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RunnerError(f"demo target exited with {self._proc.returncode}: {self._log_tail()}")
            if ready.exists():
                url = ready.read_text(encoding="utf-8").strip()
                if is_target_running(url, timeout=1.0):
                    return url
            time.sleep(0.05)
        raise RunnerError(f"demo target not ready after {timeout:g} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(empty log)"

    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 5 s; always reaps. Returns the exit status."""
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        code = self._proc.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)
        return code

    def __enter__(self) -> TargetProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"TargetProcess(pid={self.pid}, url={self.url!r}, running={self.running()})"
