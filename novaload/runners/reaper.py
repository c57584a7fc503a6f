"""Remove k6 containers whose novaload is gone: what every novaload command does first.

The run's watchdog removes a killed novaload's containers within seconds; this is the
fallback when the watchdog died too (SIGKILL of the whole session, OOM, a reboot of the
client). A container's owner is in its labels (``docker.owner_of``); containers of live
runs, of other machines sharing the engine and of novaload versions that did not label
an owner are left alone.

Every command runs this, so it must cost nothing when there is nothing to do: it talks
to the engine's HTTP API over its unix socket with the standard library (no Docker SDK
import), gives up after a few seconds and never raises. Engines reached over TCP are
left to ``novaload cleanup`` (which uses the SDK and its TLS settings).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from pathlib import Path
from urllib.parse import quote

from novaload.runners.docker import MANAGED_LABEL, owner_of

_DEFAULT_SOCKET = "/var/run/docker.sock"
_TIMEOUT_S = 3.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def engine_socket() -> str | None:
    """The engine's unix socket (from ``DOCKER_HOST`` or the default), if there is one."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host[len("unix://") :] if host.startswith("unix://") else None
    return _DEFAULT_SOCKET if Path(_DEFAULT_SOCKET).exists() else None


def _request(path: str, method: str, target: str) -> tuple[int, bytes]:
    conn = _UnixConnection(path, _TIMEOUT_S)
    try:
        conn.request(method, target)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def reap_orphans() -> list[str]:
    """Remove novaload's containers whose owner died on this machine; return their names.

    Never raises: an engine that is absent, dead or slow means nothing is reaped now.
    """
    path = engine_socket()
    if path is None:
        return []
    filters = quote(json.dumps({"label": [f"{MANAGED_LABEL}=true"]}))
    try:
        status, body = _request(path, "GET", f"/containers/json?all=1&filters={filters}")
        if status != 200:
            return []
        removed = []
        for container in json.loads(body):
            owner = owner_of(container.get("Labels") or {})
            if owner is None or not owner.on_this_machine() or owner.alive():
                continue
            status, _ = _request(path, "DELETE", f"/containers/{container['Id']}?force=1")
            if status == 204:  # 404: removed meanwhile (by the run's watchdog)
                removed.append(str((container.get("Names") or ["?"])[0]).lstrip("/"))
        return removed
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
        return []


__all__ = ["engine_socket", "reap_orphans"]
