"""setup() and teardown() once across the runners of a split run (``--setup once``).

k6 has no coordinator: split into N instances, each runs setup() and teardown() itself, so
a test on N machines calls them N times and its VUs see N different setup results
(k6-operator issue #223), where on one machine they run once. This module owns running them
once, through k6's REST API, for the Docker and Kubernetes (Jobs) runners:

* every runner starts ``--paused --no-setup --no-teardown``; the *coordinator* (the last
  runner) also ``--linger``, so that it stays up after its iterations;
* before the release, ``POST /v1/setup`` runs setup() in the coordinator (its requests land
  in its results once, tagged ``group=::setup``) and ``PUT /v1/setup`` gives the data it
  returned to every other runner; then all are released together;
* once every runner has finished its iterations, ``POST /v1/teardown`` runs teardown() in
  the coordinator with that data, and a SIGINT ends its lingering: it then evaluates its
  thresholds and writes its summary as any k6 does at its end.

k6-operator does the same for its cloud runs (``runSetup``, ``runTeardown``, runners
``--no-setup --no-teardown --linger``). k6 2.x keeps these routes, ``--linger`` and
``--paused`` as in 1.1 (its REST API starts only with an explicit ``--address``, which every
runner passes) and adds an execution status after Interrupted (MarkedAsFailed). The REST API runs setup() whatever the options say, so
the user's own ``noSetup``/``noTeardown`` (flag, ``K6_NO_SETUP``, ``--config`` file, script
options) are read here and honoured. A setup() that fails releases nobody; teardown() still
runs after a Ctrl-C or a failed runner, as k6 runs it; the second Ctrl-C skips it, as in k6.
The runners do what needs a process or a pod (start, signal, remove); this module only talks
to k6's REST API, from the runner's supervising loop, with the calls that can take long
(setup(), teardown()) in a thread of their own.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from novaload.runners.base import SETUP_ONCE, SETUP_PER_RUNNER, ExecutionPlan, SetupTeardown

# k6's lib.ExecutionStatus (lib/execution.go): Ended, then Interrupted, then (k6 2.x)
# MarkedAsFailed. From Ended on, the run's iterations are over (a lingering k6 waits).
_STATUS_ENDED = 9
_STATUS_INTERRUPTED = 10
_STATUS_POLL_S = 1.0  # the coordinator's status while the others still run
_END_RETRY_S = 2.0  # a lost SIGINT (a pod's results server did not answer) is sent again
_HANDOUT_ATTEMPTS = 3


def wanted(plan: ExecutionPlan) -> bool:
    """Whether ``plan`` asks for setup() and teardown() once: a split run not asked otherwise."""
    return plan.parallelism > 1 and plan.setup != SETUP_PER_RUNNER


def coordinator_index(count: int) -> int:
    """The runner (0-based) that runs setup() and teardown(): the last one, because the run's
    duration is read from the first runner's summary, and a lingering k6 stopped through the
    REST API keeps counting its duration until it exits."""
    return count - 1


def instance_args(index: int, count: int) -> list[str]:
    """k6 flags for runner ``index`` of ``count`` under ``--setup once`` (after the user's
    own, so they win): nobody runs setup() or teardown() by itself, the coordinator lingers."""
    return ["--no-setup", "--no-teardown", *(["--linger"] if index == coordinator_index(count) else [])]


# ---- what the user switched off -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Switches:
    """Whether k6 would run setup() and teardown() for this script and these settings."""

    setup: bool = True
    teardown: bool = True


def _go_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool, which k6's flags and environment variables use."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _flag(args: Sequence[str], name: str) -> bool | None:
    """The last ``--name`` / ``--name=BOOL`` in ``args`` (cobra: the last one wins)."""
    value = None
    for arg in args:
        if arg == name:
            value = True
        elif arg.startswith(name + "="):
            value = _go_bool(arg.split("=", 1)[1])
    return value


def _config_file(args: Sequence[str], env: Mapping[str, str]) -> Mapping[str, Any]:
    """k6's ``--config``/``-c`` JSON file (or ``K6_CONFIG``), when one is named and readable."""
    path = env.get("K6_CONFIG")
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            path = args[i + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # k6 reports an unreadable config file itself, at start
    return doc if isinstance(doc, dict) else {}


def user_switches(
    k6_args: Sequence[str], env: Mapping[str, str], script_options: Mapping[str, Any] | None
) -> Switches:
    """setup()/teardown() as k6 would decide: flag, else environment, else config file, else
    the script's ``options`` (k6's order of precedence)."""
    config = _config_file(k6_args, env)
    script = script_options or {}

    def enabled(flag: str, variable: str, option: str) -> bool:
        for found in (
            _flag(k6_args, flag),
            _go_bool(env[variable]) if variable in env else None,
            config.get(option),
            script.get(option),
        ):
            if isinstance(found, bool):  # the first source that says something decides
                return not found
        return True

    return Switches(
        setup=enabled("--no-setup", "K6_NO_SETUP", "noSetup"),
        teardown=enabled("--no-teardown", "K6_NO_TEARDOWN", "noTeardown"),
    )


def _inspect_args(k6_args: Sequence[str]) -> list[str]:
    """The user's flags that change what the script's init code sees: ``-e``/``--env`` and
    ``--compatibility-mode`` (``k6 inspect`` takes no other run flag)."""
    kept: list[str] = []
    for i, arg in enumerate(k6_args):
        if arg in ("-e", "--env", "--compatibility-mode") and i + 1 < len(k6_args):
            kept += [arg, k6_args[i + 1]]
        elif arg.startswith(("--env=", "--compatibility-mode=")):
            kept.append(arg)
    return kept


def script_options(
    k6_binary: str, script: Path, k6_args: Sequence[str], env: Mapping[str, str], cwd: Path
) -> dict[str, Any] | None:
    """The script's own ``options`` as ``k6 inspect`` reads them (its init code runs, with
    the environment the runners get); None when k6 cannot read the script (the runners then
    fail at init as this would, with k6's own message)."""
    command = [k6_binary, "inspect", "--include-system-env-vars", *_inspect_args(k6_args), str(script)]
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env={**env, "K6_NO_USAGE_REPORT": "true", "HOME": "/tmp"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        doc = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def switches_for(plan: ExecutionPlan, k6_binary: str | None = None) -> Switches:
    """What the plan's flags and environment and the script's options say of setup() and
    teardown(); the options are read with the local k6 (``k6_binary``, else the plan's)."""
    cwd = (plan.working_dir or plan.script.resolve().parent).resolve()
    options = script_options(k6_binary or plan.k6_binary, plan.script.resolve(), plan.k6_args, plan.env, cwd)
    return user_switches(plan.k6_args, plan.env, options)


# ---- k6's REST API -----------------------------------------------------------------------------


class K6Api(Protocol):
    """One runner's k6 REST API, however it is reached (loopback, the API server's pod proxy)."""

    def call(
        self, method: str, path: str, body: bytes | None = None, timeout: float | None = 2.0
    ) -> tuple[int, bytes]:
        """The HTTP status and body of ``method path`` (``path`` without the leading slash);
        raises an exception (``OSError``, the client's own) when k6 cannot be reached.
        ``timeout`` None: as long as k6 takes (it bounds setup() and teardown() itself)."""
        ...


class HttpK6Api:
    """k6's REST API at a URL this process reaches directly (the Docker runner's loopback)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def call(
        self, method: str, path: str, body: bytes | None = None, timeout: float | None = 2.0
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{self.base_url}/{path}", data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()


def error_detail(body: bytes) -> str:
    """k6's error text from a REST API error answer (``{"errors": [{"detail": ...}]}``), on
    one line (an exception's stack follows its message on lines of its own)."""
    try:
        first = (json.loads(body).get("errors") or [])[0]
        text = str(first.get("detail") or first.get("title") or "")
    except (ValueError, AttributeError, IndexError, TypeError):
        text = body.decode("utf-8", "replace")[:300]
    return " ".join(text.split())


# ---- the coordination -------------------------------------------------------------------------


class CoordinationError(Exception):
    """k6's REST API did not answer setup()'s call, or a runner could not be given its data:
    the runner could not coordinate the run (not a verdict on the script)."""


class _Job:
    """A blocking REST call in a thread of its own, so the supervising loop goes on handling
    Ctrl-C and exits while k6 runs setup() or teardown()."""

    def __init__(self, work: Callable[[], None], name: str) -> None:
        self._done = threading.Event()
        self.exception: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - handed to the supervising loop
                self.exception = exc
            finally:
                self._done.set()

        threading.Thread(target=run, name=name, daemon=True).start()

    @property
    def done(self) -> bool:
        return self._done.is_set()


# What the supervising loop is told to do (Coordination.before_release / after_release).
WAIT = "wait"
RELEASE = "release"  # every runner holds setup()'s data: release them together
FAILED = "failed"  # setup() failed: release nobody, stop them all
STOP_OTHERS = "stop-others"  # the coordinator's run ended by itself (test.abort()): as a crash
END = "end"  # send the coordinator SIGINT: teardown() is done (or cannot run)


class Coordination:
    """setup() and teardown() once across ``apis`` (one per runner, in segment order); the
    coordinator is the last. Driven by one runner's supervising loop: every method is called
    from that thread, the long REST calls run in their own."""

    def __init__(
        self,
        apis: Sequence[K6Api],
        switches: Switches,
        log: Callable[[str], None],
        redact: Callable[[str], str] = str,
    ) -> None:
        self.apis = list(apis)
        self.count = len(self.apis)
        self.index = coordinator_index(self.count)
        self.log = log
        self.redact = redact  # k6's error text quotes the script's exception: it may hold a secret
        self.setup = "not called" if switches.setup else "disabled"
        self.teardown = "not called" if switches.teardown else "disabled"
        self.error: str | None = None
        self.released = False
        self.stopped = False  # the coordinator was stopped through the REST API
        self.stopped_for_interrupt = False
        self._phase = "before"  # before, running, teardown, ending, done
        self._job: _Job | None = None
        self._checked_at = 0.0
        self._ended_at = 0.0
        self._stopped_others = False

    @property
    def setup_started(self) -> bool:
        return self._job is not None

    @property
    def label(self) -> str:
        return f"runner {self.index + 1}/{self.count}"

    @property
    def coordinator(self) -> K6Api:
        return self.apis[self.index]

    # -- before the release --

    def before_release(self) -> str:
        """Called once every runner's API answers, until it says RELEASE or FAILED; raises
        CoordinationError when a runner could not be given setup()'s data."""
        if self.setup == "disabled":
            return self._released()
        if self._job is None:
            self._job = _Job(self._run_setup, "novaload-setup")
            return WAIT
        if not self._job.done:
            return WAIT
        if isinstance(self._job.exception, CoordinationError):
            raise self._job.exception
        if self._job.exception is not None:
            raise CoordinationError(f"setup() could not be asked of {self.label}: {self._job.exception}")
        if self.setup == "called":
            return self._released()
        self._phase = "done"
        return FAILED

    def _released(self) -> str:
        self.released = True
        self._phase = "running"
        return RELEASE

    def _run_setup(self) -> None:
        status, body = self.coordinator.call("POST", "v1/setup", timeout=None)
        if status != 200:
            self.setup, self.error = "failed", self.redact(error_detail(body))
            self.log(f"setup() failed in {self.label}: nobody is released: {self.error}")
            return
        attributes = json.loads(body)["data"].get("attributes") or {}
        self.setup = "called"
        if "data" not in attributes:  # setup() returned undefined: the runners hold none already
            self.log(f"setup() called once, in {self.label} (it returned no data)")
            return
        data = attributes["data"]
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for i, api in enumerate(self.apis):
            if i != self.index:
                self._hand_out(api, i, payload, data)
        self.log(f"setup() called once, in {self.label}; its data went to all {self.count} runners")

    def _hand_out(self, api: K6Api, index: int, payload: bytes, data: object) -> None:
        """``PUT /v1/setup`` (idempotent: retried), checked against the data k6 echoes."""
        problem = ""
        for _ in range(_HANDOUT_ATTEMPTS):
            try:
                status, body = api.call("PUT", "v1/setup", payload, timeout=30)
                if status == 200 and json.loads(body)["data"]["attributes"].get("data") == data:
                    return
                problem = f"HTTP {status}: {error_detail(body)}" if status != 200 else "it holds other data"
            except Exception as exc:  # noqa: BLE001 - any failure to reach it: retried, then reported
                problem = str(exc)
            time.sleep(0.5)
        raise CoordinationError(
            f"setup()'s data could not be given to runner {index + 1}/{self.count}: {problem}"
        )

    # -- after the release --

    def after_release(self, others_exited: bool, coordinator_exited: bool) -> str:
        """Called on every turn of the loop once released. ``others_exited``: every runner but
        the coordinator has exited."""
        now = time.monotonic()
        if not self.released:
            return WAIT
        if coordinator_exited:
            if self._phase in ("running", "teardown") and self.teardown == "not called":
                self.log(f"teardown() did not run: {self.label} exited before it could")
            self._phase = "done"
            return WAIT
        if self._phase == "running":
            if not others_exited and now - self._checked_at < _STATUS_POLL_S:
                return WAIT
            self._checked_at = now
            status = self._status()
            if status is None or int(status.get("status", 0)) < _STATUS_ENDED:
                return WAIT
            if not others_exited:
                # Its run ended while the others' go on: stopped by test.abort() (not by a
                # threshold's abortOnFail, which taints it, nor by novaload): as a crash.
                early = int(status.get("status", 0)) == _STATUS_INTERRUPTED
                if early and not self.stopped and not status.get("tainted") and not self._stopped_others:
                    self._stopped_others = True
                    return STOP_OTHERS
                return WAIT
            if self.teardown == "not called":
                self._phase = "teardown"
                self._job = _Job(self._run_teardown, "novaload-teardown")
                return WAIT
            self._phase = "ending"
        if self._phase == "teardown" and self._job is not None and self._job.done:
            if self._job.exception is not None and self.teardown == "not called":
                self.log(f"teardown() did not run: k6's REST API did not answer: {self._job.exception}")
            self._phase = "ending"
        if self._phase == "ending" and now - self._ended_at >= _END_RETRY_S:
            self._ended_at = now
            return END
        return WAIT

    def _run_teardown(self) -> None:
        status, body = self.coordinator.call("POST", "v1/teardown", timeout=None)
        if status == 200:
            self.teardown = "called"
            self.log(f"teardown() called once, in {self.label}, after every runner's iterations")
        else:
            self.teardown, self.error = "failed", self.redact(error_detail(body))
            self.log(f"teardown() failed in {self.label}: {self.error}")

    def _status(self) -> dict[str, Any] | None:
        try:
            status, body = self.coordinator.call("GET", "v1/status", timeout=2.0)
            found = json.loads(body)["data"]["attributes"] if status == 200 else None
        except Exception:  # noqa: BLE001 - not answering now: asked again on a later turn
            return None
        return found if isinstance(found, dict) else None

    # -- stopping --

    def stop(self, *, for_interrupt: bool) -> bool:
        """A graceful stop of the coordinator (a Ctrl-C, or another runner failed): through the
        REST API, so that it lingers and teardown() still runs, as k6 runs teardown() after its
        first Ctrl-C. True when handled so (the runner must not signal it); False before the
        release (setup() is not followed by teardown(), as in k6) or when its API is gone."""
        if for_interrupt:
            self.stopped_for_interrupt = True
        if self._phase in ("teardown", "ending"):
            return True  # teardown() is not interrupted by the first Ctrl-C, as in k6
        if not self.released or self._phase != "running":
            return False
        if self.stopped:
            return True
        body = json.dumps({"data": {"type": "status", "id": "default", "attributes": {"stopped": True}}})
        try:
            status, _ = self.coordinator.call("PATCH", "v1/status", body.encode(), timeout=5.0)
        except Exception:  # noqa: BLE001 - its API is gone: the runner signals it instead
            return False
        self.stopped = status == 200
        return self.stopped

    def abandon(self) -> None:
        """The second Ctrl-C: everything is killed, teardown() is not run (as in k6)."""
        self._phase = "done"

    def report(self, runner_exit_code: int | None) -> SetupTeardown:
        return SetupTeardown(
            mode=SETUP_ONCE,
            runner=self.index + 1,
            setup=self.setup,
            teardown=self.teardown,
            error=self.error,
            runner_exit_code=runner_exit_code,
            stopped_for_interrupt=self.stopped_for_interrupt,
        )


__all__ = [
    "END",
    "FAILED",
    "RELEASE",
    "STOP_OTHERS",
    "WAIT",
    "Coordination",
    "CoordinationError",
    "HttpK6Api",
    "K6Api",
    "Switches",
    "coordinator_index",
    "error_detail",
    "instance_args",
    "script_options",
    "switches_for",
    "user_switches",
    "wanted",
]
