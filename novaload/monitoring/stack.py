"""Driving the monitoring stack (``docker-compose.monitoring.yml``) and saying plainly
whether it works.

:class:`ComposeStack` runs ``docker compose`` (v2) when the plugin works, else
``docker-compose`` (v1), detected once by :func:`find_compose`, which runs each one's
``version`` (``doctor`` reports what it found the same way). :meth:`ComposeStack.status` asks each service
over HTTP — readiness endpoints, Prometheus's scrape targets, Grafana's provisioned
datasources — so a stack whose containers are "up" but broken is reported as broken.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.errors import MonitoringError
from novaload.monitoring.settings import DASHBOARD_UIDS, DATASOURCE_UIDS, MonitoringSettings

if TYPE_CHECKING:
    import urllib.request

Runner = Callable[[Sequence[str], Mapping[str, str]], subprocess.CompletedProcess[str]]
# (url, headers) -> (HTTP status, body); raises OSError when nothing answers.
Fetch = Callable[[str, Mapping[str, str]], tuple[int, str]]
# (url, body, headers) -> (HTTP status, body); raises OSError when nothing answers.
Post = Callable[[str, bytes, Mapping[str, str]], tuple[int, str]]


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One check: ``ok`` plus a plain-words ``detail`` ("ready", or what is wrong)."""

    name: str
    url: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ComposeTool:
    """A docker compose that answered ``version``: its command and what it said."""

    command: tuple[str, ...]  # ("docker", "compose") or ("docker-compose",)
    version: str  # the first line of its `version` output


def find_compose(
    run: Runner | None = None,
    which: Callable[[str], str | None] = shutil.which,
    environ: Mapping[str, str] | None = None,
) -> ComposeTool:
    """The v2 plugin (``docker compose version`` exits 0) if it works, else the v1 binary
    (``docker-compose version`` exits 0); :class:`MonitoringError` saying what each did
    when neither works. Both are run: a ``docker`` CLI without the plugin, or a v1 binary
    that is on the PATH but broken, is not a compose."""
    run = run or _run_process
    env = dict(os.environ if environ is None else environ)
    tried: list[str] = []
    for command, name in ((("docker", "compose"), "v2 plugin"), (("docker-compose",), "v1")):
        shown = " ".join(command)
        if which(command[0]) is None:
            tried.append(f"`{shown}` ({name}): {command[0]} not found")
            continue
        try:
            done = run([*command, "version"], env)
        except OSError as exc:
            tried.append(f"`{shown}` ({name}): {reason_of(exc)}")
            continue
        said = _first_line(done.stdout) or _first_line(done.stderr) or "no output"
        if done.returncode == 0:
            return ComposeTool(command, said)
        tried.append(f"`{shown} version` ({name}) failed: {said}")
    raise MonitoringError(f"no docker compose works: {'; '.join(tried)}; install one")


def not_started(statuses: Sequence[ServiceStatus]) -> str | None:
    """One line saying the stack is not started and what to do, when none of its services
    answers (else None: the table of what answers and what does not says more)."""
    if not statuses or any(s.ok or not s.detail.startswith("not reachable") for s in statuses):
        return None
    names = ", ".join(s.name for s in statuses)
    return (
        f"the monitoring stack is not started (none of {names} answers): start it with `novaload monitor up`"
    )


def urls(settings: MonitoringSettings) -> dict[str, str]:
    """User-facing URLs of the stack's services and dashboards."""
    grafana = settings.grafana_url
    return {
        "prometheus": settings.prometheus_url,
        "alertmanager": settings.alertmanager_url,
        "grafana": grafana,
        "influxdb": settings.influxdb_url,
        "loki": settings.loki_url,
        "jaeger": settings.jaeger_url,
        **{f"dashboard_{name}": f"{grafana}/d/{uid}" for name, uid in DASHBOARD_UIDS.items()},
    }


class ComposeStack:
    """The stack described by one compose file, under one compose project name."""

    def __init__(
        self,
        compose_file: Path,
        project: str = "novaload-monitoring",
        *,
        settings: MonitoringSettings | None = None,
        environ: Mapping[str, str] | None = None,
        runner: Runner | None = None,
        fetch: Fetch | None = None,
        which: Callable[[str], str | None] = shutil.which,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.compose_file = Path(compose_file)
        self.project = project
        self.environ = dict(os.environ if environ is None else environ)
        self.settings = settings or MonitoringSettings.from_env(self.environ)
        self._run = runner or _run_process
        self._fetch = fetch or http_get
        self._which = which
        self._sleep = sleep
        self._clock = clock
        self._compose: list[str] | None = None

    # --- compose -----------------------------------------------------------------

    def compose_command(self) -> list[str]:
        """``["docker", "compose"]`` or ``["docker-compose"]``; detected on first use."""
        if self._compose is None:
            self._compose = self._detect()
        return list(self._compose)

    def command(self, *args: str) -> list[str]:
        return [*self.compose_command(), "-f", str(self.compose_file), "-p", self.project, *args]

    def up(self, wait_timeout: float = 120.0) -> list[ServiceStatus]:
        """Start the stack detached and wait until every check passes.

        When ``up`` itself fails (an image cannot be pulled, a port is taken), what it had
        created is removed again: its containers and network, and the volumes that did
        not exist before (a volume holding earlier data is kept).
        """
        self._check_file()
        if not self.environ.get("GRAFANA_ADMIN_PASSWORD"):
            raise MonitoringError(
                "GRAFANA_ADMIN_PASSWORD is not set; the stack needs a Grafana admin password"
            )
        volumes_before = set(self.volumes())
        try:
            self._compose_run("up", "-d")
        except MonitoringError as exc:
            created = sorted(set(self.volumes()) - volumes_before)
            undone = self._undo_failed_up(created)
            raise MonitoringError(f"{exc}; {undone}") from None
        deadline = self._clock() + wait_timeout
        while True:
            checks = self.status()
            failing = [c for c in checks if not c.ok]
            if not failing:
                return checks
            if self._clock() >= deadline:
                raise MonitoringError(
                    f"monitoring stack not ready after {wait_timeout:g}s: "
                    + "; ".join(f"{c.name}: {c.detail}" for c in failing)
                )
            self._sleep(2.0)

    def down(self, volumes: bool = False) -> None:
        """Stop and remove the stack's containers and network (and its named volumes when
        asked). Needs no Grafana password: nothing is created."""
        self._check_file()
        self._compose_run("down", "--remove-orphans", *(["-v"] if volumes else []))

    def volumes(self) -> list[str]:
        """Names of the Docker volumes of this compose project (any state)."""
        cmd = ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={self.project}"]
        try:
            done = self._run(cmd, self.environ)
        except OSError:
            return []  # no docker CLI: compose could not have created volumes either
        return sorted(line.strip() for line in done.stdout.splitlines() if line.strip())

    def _undo_failed_up(self, created_volumes: list[str]) -> str:
        try:
            self._compose_run("down", "--remove-orphans")
        except MonitoringError as exc:
            return f"cleaning up failed too: {exc}"
        if created_volumes:
            cmd = ["docker", "volume", "rm", *created_volumes]
            try:
                done = self._run(cmd, self.environ)
            except OSError as exc:
                return f"removing its volumes failed: {reason_of(exc)}"
            if done.returncode != 0:
                return f"removing its volumes failed: {_last_line(done.stderr or done.stdout)}"
        return f"removed the containers, network and {len(created_volumes)} volume(s) it had created"

    def _check_file(self) -> None:
        if not self.compose_file.is_file():
            raise MonitoringError(f"{self.compose_file}: compose file not found")

    def urls(self) -> dict[str, str]:
        return urls(self.settings)

    # --- health ------------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        """Every service's readiness, then Prometheus targets and Grafana datasources."""
        s = self.settings
        checks = [
            self._ready("prometheus", f"{s.prometheus_url}/-/ready"),
            self._ready("alertmanager", f"{s.alertmanager_url}/-/ready"),
            self._ready("grafana", f"{s.grafana_url}/api/health"),
            self._ready("influxdb", f"{s.influxdb_url}/ping"),
            self._ready("loki", f"{s.loki_url}/ready"),
            # the query service answers once the collector and storage are up
            self._ready("jaeger", f"{s.jaeger_url}/api/services"),
        ]
        by_name = {c.name: c for c in checks}
        if by_name["prometheus"].ok:
            checks.append(self._prometheus_targets())
        if by_name["grafana"].ok:
            checks.append(self._grafana_datasources())
        return checks

    def _ready(self, name: str, url: str) -> ServiceStatus:
        try:
            code, body = self._fetch(url, {})
        except OSError as exc:
            return ServiceStatus(name, url, False, f"not reachable ({reason_of(exc)})")
        if 200 <= code < 300:
            return ServiceStatus(name, url, True, "ready")
        return ServiceStatus(name, url, False, f"not ready (HTTP {code}: {_first_line(body)})")

    def _prometheus_targets(self) -> ServiceStatus:
        url = f"{self.settings.prometheus_url}/api/v1/targets?state=active"
        try:
            code, body = self._fetch(url, {})
            targets = json.loads(body)["data"]["activeTargets"] if code == 200 else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return ServiceStatus("prometheus targets", url, False, f"cannot list targets ({reason_of(exc)})")
        if targets is None:
            return ServiceStatus("prometheus targets", url, False, f"cannot list targets (HTTP {code})")
        # A system under test that is down (the novaload-target job, or a file of the
        # user's in targets/) is the run's problem, reported by NovaloadTargetDown; the
        # stack itself is healthy, and `up` must not wait for it.
        down = [t for t in targets if t.get("health") == "down"]
        stack_down = [t for t in down if t.get("labels", {}).get("job") in _STACK_JOBS]
        if stack_down:
            return ServiceStatus("prometheus targets", url, False, _describe_down(stack_down))
        pending = sum(1 for t in targets if t.get("health") not in ("up", "down"))
        up = sum(1 for t in targets if t.get("health") == "up")
        detail = f"{up} up" + (f", {pending} not scraped yet" if pending else "")
        if down:
            detail += f"; system under test down: {_describe_down(down)}"
        return ServiceStatus("prometheus targets", url, True, detail)

    def _grafana_datasources(self) -> ServiceStatus:
        s = self.settings
        url = f"{s.grafana_url}/api/datasources"
        if not s.grafana_password:
            return ServiceStatus(
                "grafana datasources", url, False, "not checked: GRAFANA_ADMIN_PASSWORD is not set"
            )
        token = base64.b64encode(f"{s.grafana_user}:{s.grafana_password}".encode()).decode()
        try:
            code, body = self._fetch(url, {"Authorization": f"Basic {token}"})
            if code in (401, 403):
                return ServiceStatus(
                    "grafana datasources",
                    url,
                    False,
                    "Grafana rejected GRAFANA_ADMIN_USER/GRAFANA_ADMIN_PASSWORD",
                )
            if code != 200:
                return ServiceStatus("grafana datasources", url, False, f"HTTP {code}: {_first_line(body)}")
            present = {d.get("uid") for d in json.loads(body)}
        except (OSError, ValueError, AttributeError) as exc:
            return ServiceStatus(
                "grafana datasources", url, False, f"cannot list datasources ({reason_of(exc)})"
            )
        missing = [uid for uid in DATASOURCE_UIDS if uid not in present]
        if missing:
            return ServiceStatus(
                "grafana datasources",
                url,
                False,
                f"not provisioned: {', '.join(missing)} (check monitoring/grafana/provisioning)",
            )
        return ServiceStatus("grafana datasources", url, True, f"{len(DATASOURCE_UIDS)} provisioned")

    # --- processes ---------------------------------------------------------------

    def _detect(self) -> list[str]:
        return list(find_compose(self._run, self._which, self.environ).command)

    def _compose_run(self, *args: str) -> None:
        cmd = self.command(*args)
        env = self.environ
        if args[0] != "up" and not env.get("GRAFANA_ADMIN_PASSWORD"):
            # Compose interpolates the whole file for every command, so the file's
            # mandatory ${GRAFANA_ADMIN_PASSWORD:?} would stop `down`/`ps` too; only a
            # container being created needs the real value.
            env = {**env, "GRAFANA_ADMIN_PASSWORD": "unused-by-" + args[0]}
        try:
            done = self._run(cmd, env)
        except OSError as exc:
            raise MonitoringError(f"`{' '.join(cmd)}` could not start: {reason_of(exc)}") from None
        if done.returncode != 0:
            last = _last_line(done.stderr or done.stdout or "") or "no output"
            raise MonitoringError(f"`{' '.join(cmd)}` failed (exit {done.returncode}): {last}")


# Scrape jobs of the stack itself (monitoring/prometheus/prometheus.yml); any other job
# scrapes a system under test.
_STACK_JOBS = frozenset({"prometheus", "alertmanager"})


def _describe_down(targets: list[dict]) -> str:
    return "; ".join(
        f"{t.get('labels', {}).get('job', '?')} {t.get('scrapeUrl', '?')} down: "
        f"{_first_line(t.get('lastError', '')) or 'no reason given'}"
        for t in targets
    )


def _run_process(cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), env=dict(env), capture_output=True, text=True, check=False)


@cache
def _direct() -> urllib.request.OpenerDirector:
    """The stack is local or named by the user: an HTTP(S)_PROXY from the environment
    must not be used to reach it. Built on first use: ``urllib.request`` brings
    ``http.client`` and ``ssl``, which a run without ``--monitor`` never needs (every run
    imports this module before k6 starts, through ``outputs``)."""
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, headers: Mapping[str, str]) -> tuple[int, str]:
    """GET ``url``: (status, body); raises OSError when nothing answers."""
    import urllib.request

    return _send(urllib.request.Request(url, headers=dict(headers)))


def http_post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """POST ``body`` to ``url``: (status, body); raises OSError when nothing answers."""
    import urllib.request

    return _send(urllib.request.Request(url, data=body, headers=dict(headers), method="POST"))


def _send(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with _direct().open(request, timeout=3.0) as response:
            return response.status, response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:  # a status is an answer, not an outage
        return exc.code, exc.read(65536).decode("utf-8", "replace")


def reason_of(exc: BaseException) -> str:
    """Why a request failed, in a few words ("Connection refused", "timed out")."""
    inner = getattr(exc, "reason", None)
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = _first_line(str(inner if inner is not None else exc))
    return re.sub(r"^\[Errno -?\d+\] ", "", text) or type(exc).__name__


def _last_line(text: str) -> str:
    # Compose v1 prints a failed interpolation as one line holding the service's whole
    # environment block: keep the message after the last ": " of such a line.
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if len(last) > 200 and " in service " in last:
        last = last.rsplit(": ", 1)[-1]
    return last[:300]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text and text.strip() else ""


__all__ = [
    "ComposeStack",
    "ComposeTool",
    "Fetch",
    "Post",
    "ServiceStatus",
    "find_compose",
    "http_get",
    "http_post",
    "not_started",
    "reason_of",
    "urls",
]
