"""``novaload doctor``: is this machine ready to run load tests?

Required (fail): a usable k6 and a valid configuration. Optional (warn): the
Docker engine, docker compose, and the monitoring stack (its settings, each service
`run --monitor` sends to, Grafana, and the Prometheus target directory), each with
what to do about it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from novaload.errors import NovaloadError


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str


def _k6() -> Check:
    from novaload.runners.k6binary import find_k6

    try:
        k6 = find_k6()
    except NovaloadError as exc:
        return Check("k6", "fail", str(exc))
    return Check("k6", "ok", f"{k6.version} at {k6.path}")


def _config(config_dir: Path | None, scenarios_dir: Path | None) -> Check:
    from novaload.config import load_project

    try:
        p = load_project(config_dir, scenarios_dir)
    except NovaloadError as exc:
        return Check("configuration", "fail", str(exc))
    return Check(
        "configuration",
        "ok",
        f"{len(p.scenarios)} scenarios, {len(p.environments)} environments, {len(p.profiles)} profiles",
    )


def _docker() -> Check:
    try:
        import docker

        client = docker.from_env(timeout=3)
        version = client.version().get("Version", "?")
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return Check(
            "docker engine",
            "warn",
            f"not reachable ({type(exc).__name__}); needed only for --runner docker and the monitoring stack",
        )
    return Check("docker engine", "ok", f"engine {version}")


def _compose(environ: Mapping[str, str] | None = None) -> Check:
    """Run as `novaload monitor` would run it: the v2 plugin, else the v1 binary."""
    from novaload.errors import MonitoringError
    from novaload.monitoring.stack import find_compose

    env = os.environ if environ is None else environ
    try:
        found = find_compose(which=lambda name: shutil.which(name, path=env.get("PATH")), environ=env)
    except MonitoringError as exc:
        return Check("docker compose", "warn", f"{exc}; needed only for `novaload monitor`")
    kind = "v2 plugin" if found.command == ("docker", "compose") else "v1"
    return Check("docker compose", "ok", f"`{' '.join(found.command)}` ({kind}): {found.version}")


def _monitoring(environ: Mapping[str, str] | None = None) -> list[Check]:
    """The stack as `run --monitor` would use it: optional, so problems are warnings."""
    from novaload.monitoring.outputs import check_outputs
    from novaload.monitoring.settings import MonitoringSettings
    from novaload.monitoring.stack import http_get, reason_of

    try:
        settings = MonitoringSettings.from_env(environ)
    except NovaloadError as exc:
        return [Check("monitoring settings", "warn", f"{exc}; `run --monitor` will refuse to start")]
    checks = []
    start = "start the stack with `novaload monitor up`, or point NOVALOAD_{}_URL at yours"
    for check in check_outputs(settings, settings.outputs):
        name = f"monitoring: {check.output}"
        if check.ok:
            checks.append(Check(name, "ok", f"{check.url} answers; `run --monitor` sends to it"))
        else:
            todo = start.format(check.output.upper())
            checks.append(Check(name, "warn", f"{check.describe()}; {todo}"))
    grafana = f"{settings.grafana_url}/api/health"
    try:
        code, _ = http_get(grafana, {})
        answer = f"answers (HTTP {code})" if code < 500 else f"is not ready (HTTP {code})"
        ok = code < 500
    except OSError as exc:
        answer, ok = f"is not reachable ({reason_of(exc)})", False
    todo = "" if ok else "; live dashboards need it: `novaload monitor up`"
    checks.append(
        Check("monitoring: grafana", "ok" if ok else "warn", f"{settings.grafana_url} {answer}{todo}")
    )
    if settings.grafana_password is None:
        checks.append(
            Check(
                "monitoring: grafana password",
                "warn",
                "GRAFANA_ADMIN_PASSWORD is not set: `monitor up` needs it (`monitor down` does not)",
            )
        )
    targets = settings.prometheus_targets_dir
    if targets is None or not targets.is_dir():
        checks.append(
            Check(
                "monitoring: demo target discovery",
                "warn",
                "no monitoring/prometheus/targets here: set NOVALOAD_PROMETHEUS_TARGETS_DIR to the directory "
                "your Prometheus reads, or the demo target of a run is not scraped",
            )
        )
    else:
        checks.append(
            Check(
                "monitoring: demo target discovery",
                "ok",
                f"{targets} (scraped at {settings.target_scrape_host}:<port>)",
            )
        )
    return checks


def run_checks(
    config_dir: Path | None = None,
    scenarios_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Check]:
    py = sys.version_info
    return [
        Check("python", "ok" if py >= (3, 11) else "fail", f"{py.major}.{py.minor}.{py.micro}"),
        _k6(),
        _config(config_dir, scenarios_dir),
        _docker(),
        _compose(environ),
        *_monitoring(environ),
    ]


__all__ = ["Check", "run_checks"]
