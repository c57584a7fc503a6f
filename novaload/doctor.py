"""``novaload doctor``: is this machine ready to run load tests?

Required (fail): a usable k6 and a valid configuration. Optional (warn): the
Docker engine, docker compose, and the monitoring stack.
"""

from __future__ import annotations

import shutil
import sys
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


def _compose() -> Check:
    if shutil.which("docker-compose"):
        return Check("docker compose", "ok", "docker-compose (v1)")
    if shutil.which("docker"):
        return Check("docker compose", "ok", "docker compose (v2 plugin, if installed)")
    return Check("docker compose", "warn", "not found; needed only for `novaload monitor`")


def run_checks(config_dir: Path | None = None, scenarios_dir: Path | None = None) -> list[Check]:
    py = sys.version_info
    return [
        Check("python", "ok" if py >= (3, 11) else "fail", f"{py.major}.{py.minor}.{py.micro}"),
        _k6(),
        _config(config_dir, scenarios_dir),
        _docker(),
        _compose(),
    ]


__all__ = ["Check", "run_checks"]
