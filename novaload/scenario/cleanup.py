"""Delete what the ``vm`` (and ``mixed``) scenarios created on a target, by tag.

Every VM a novaload script creates carries ``run_id:<run id>`` and
``created_by:novaload``; the target's bulk ``DELETE /api/v1/vms?tag=k:v``
removes them in one request. The scripts' own teardown does this per run;
:func:`cleanup_vms` is the backstop behind ``novaload cleanup`` / ``make cleanup``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from novaload.errors import RunnerError

NOVALOAD_TAG = ("created_by", "novaload")


def cleanup_vms(
    base_url: str, run_id: str | None = None, headers: Mapping[str, str] | None = None, timeout: float = 30.0
) -> int:
    """Delete the VMs of run ``run_id`` (or of every novaload run); return how many went."""
    key, value = ("run_id", run_id) if run_id else NOVALOAD_TAG
    query = urllib.parse.urlencode({"tag": f"{key}:{value}"})
    url = f"{base_url.rstrip('/')}/api/v1/vms?{query}"
    request = urllib.request.Request(
        url, method="DELETE", headers={"User-Agent": "novaload/cleanup", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise RunnerError(f"VM cleanup at {base_url} failed: HTTP {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise RunnerError(f"VM cleanup at {base_url} failed: {exc}") from None
    deleted = body.get("deleted") if isinstance(body, dict) else None
    if not isinstance(deleted, int):
        raise RunnerError(f"VM cleanup at {base_url}: unexpected answer {str(body)[:200]!r}")
    return deleted


__all__ = ["NOVALOAD_TAG", "cleanup_vms"]
