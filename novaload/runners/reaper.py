"""Remove k6 containers whose novaload is gone: what every novaload command does first.

The run's watchdog removes a killed novaload's containers within seconds; this is the
fallback when the watchdog died too (SIGKILL of the whole session, OOM, a reboot of the
client). A container's owner is in its labels (``labels.owner_of``); containers of live
runs, of other machines sharing the engine and of novaload versions that did not label
an owner are left alone.

Every command runs this, so it must cost nothing when there is nothing to do: it talks
to the engine's HTTP API over its unix socket with a plain socket (no Docker SDK or
http.client import: about 10 ms in all), gives up after a few seconds and never
raises. Engines reached over TCP are left to the run's watchdog and ``novaload cleanup
--force`` (which use the SDK and its TLS settings).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import quote

from novaload.runners.labels import MANAGED_LABEL, owner_of

_DEFAULT_SOCKET = "/var/run/docker.sock"
_TIMEOUT_S = 3.0


def engine_socket() -> str | None:
    """The engine's unix socket (from ``DOCKER_HOST`` or the default), if there is one."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host[len("unix://") :] if host.startswith("unix://") else None
    return _DEFAULT_SOCKET if Path(_DEFAULT_SOCKET).exists() else None


def _request(path: str, method: str, target: str) -> tuple[int, bytes]:
    """One HTTP/1.0 request over the unix socket (the engine then answers without
    chunking and closes): ``http.client`` would cost every command its ssl import."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_TIMEOUT_S)
        sock.connect(path)
        sock.sendall(f"{method} {target} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


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
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return []


__all__ = ["engine_socket", "reap_orphans"]
