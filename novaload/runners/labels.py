"""The labels every k6 container of the Docker runner carries, and its owner in them.

Kept apart from the runner so the reaper, which every command runs, can read them
without importing the runner and its dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping

from novaload.lifetime import Owner

MANAGED_LABEL = "io.novaload.managed"
RUN_ID_LABEL = "io.novaload.run-id"
INSTANCE_LABEL = "io.novaload.instance"
OWNER_PID_LABEL = "io.novaload.owner-pid"
OWNER_START_LABEL = "io.novaload.owner-start"
OWNER_BOOT_LABEL = "io.novaload.owner-boot"


def owner_labels(owner: Owner) -> dict[str, str]:
    return {
        OWNER_PID_LABEL: str(owner.pid),
        OWNER_START_LABEL: owner.started,
        OWNER_BOOT_LABEL: owner.boot_id,
    }


def owner_of(labels: Mapping[str, str]) -> Owner | None:
    """The owner recorded in a container's labels (None for containers without one)."""
    try:
        return Owner(int(labels[OWNER_PID_LABEL]), labels[OWNER_START_LABEL], labels[OWNER_BOOT_LABEL])
    except (KeyError, ValueError):
        return None


__all__ = [
    "INSTANCE_LABEL",
    "MANAGED_LABEL",
    "OWNER_BOOT_LABEL",
    "OWNER_PID_LABEL",
    "OWNER_START_LABEL",
    "RUN_ID_LABEL",
    "owner_labels",
    "owner_of",
]
