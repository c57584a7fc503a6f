"""The demo target as a Prometheus scrape target for exactly the length of a run.

A demo target started for a run listens on a port picked at run time, so no static
scrape config can name it. Instead novaload writes one file-based service-discovery
entry per run into the directory Prometheus watches (``monitoring/prometheus/targets``,
mounted into the compose Prometheus) and removes it *before* it stops the target: the
``novaload-target`` job then only ever holds targets that really run, and
``NovaloadTargetDown`` fires only when one of them stops answering.

From the compose Prometheus the host is ``host.docker.internal`` (the Docker bridge's
gateway address), which a target bound to 127.0.0.1 cannot be reached on: for that
case :func:`bind_host_for` binds the target to the gateway address instead (still an
address of this machine, on its Docker bridge).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from novaload.errors import MonitoringError
from novaload.monitoring.settings import MonitoringSettings

# The name compose maps to the Docker bridge's gateway (`extra_hosts: host-gateway`).
DOCKER_HOST_ALIAS = "host.docker.internal"
JOB_LABEL_SERVICE = "novaload-demo-target"


def entry_path(directory: Path, run_id: str) -> Path:
    return directory / f"novaload-run-{run_id}.yml"


@contextlib.contextmanager
def scrape_entry(directory: Path, run_id: str, address: str) -> Iterator[Path]:
    """Write the run's service-discovery entry (``address`` is ``host:port`` as the
    scraping Prometheus sees it); remove it on exit."""
    if not directory.is_dir():
        raise MonitoringError(f"{directory}: Prometheus target directory not found")
    path = entry_path(directory, run_id)
    entry = [{"targets": [address], "labels": {"service": JOB_LABEL_SERVICE, "testid": run_id}}]
    # Prometheus re-reads the file on every change: it must never see half of it.
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(
        "# written by novaload for the run it names; removed when the run ends\n" + yaml.safe_dump(entry),
        encoding="utf-8",
    )
    os.replace(partial, path)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def docker_bridge_gateway(timeout: float = 5.0) -> str | None:
    """The address ``host-gateway`` resolves to (the default bridge's gateway), or None.

    Docker 20.10 may list only the subnet; the bridge's gateway is then its first host.
    """
    try:
        done = subprocess.run(
            ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        configs = json.loads(done.stdout) if done.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    for config in configs or []:
        with contextlib.suppress(ValueError, TypeError, StopIteration):
            gateway = (
                str(config["Gateway"])
                if config.get("Gateway")
                else str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
            )
            if ipaddress.ip_address(gateway).version == 4:
                return gateway
    return None


def bind_host_for(scrape_host: str) -> str | None:
    """The address a demo target must listen on to be scraped at ``scrape_host``.

    Loopback or an IP address: that address. ``host.docker.internal``: the Docker bridge
    gateway (None when Docker cannot say). Any other name: None (not known here).
    """
    if scrape_host == DOCKER_HOST_ALIAS:
        return docker_bridge_gateway()
    if scrape_host == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(scrape_host))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ScrapePlan:
    """Where a run's demo target listens and how Prometheus is told about it."""

    bind_host: str  # what the target binds
    scrape_host: str  # what Prometheus connects to
    directory: Path  # Prometheus' file-SD directory

    def entry(self, run_id: str, port: int | str) -> contextlib.AbstractContextManager[Path]:
        return scrape_entry(self.directory, run_id, f"{self.scrape_host}:{port}")


def scrape_plan(settings: MonitoringSettings) -> tuple[ScrapePlan | None, str]:
    """The plan for announcing a demo target to the Prometheus of ``settings``, or None
    and one line saying why it cannot be scraped."""
    directory = settings.prometheus_targets_dir
    if directory is None or not directory.is_dir():
        return None, (
            "monitoring: no Prometheus target directory (NOVALOAD_PROMETHEUS_TARGETS_DIR): "
            "the demo target is not scraped"
        )
    bind = bind_host_for(settings.target_scrape_host)
    if bind is None:
        return None, (
            "monitoring: no local address to bind the demo target to for Prometheus to scrape it at "
            f"{settings.target_scrape_host} (set NOVALOAD_TARGET_SCRAPE_HOST): the demo target is not scraped"
        )
    return ScrapePlan(bind, settings.target_scrape_host, directory), ""


__all__ = [
    "DOCKER_HOST_ALIAS",
    "ScrapePlan",
    "bind_host_for",
    "docker_bridge_gateway",
    "entry_path",
    "scrape_entry",
    "scrape_plan",
]
