"""Fixtures for the importers: a writable copy of the project's configs/ per test.

Imported scenarios are written into that copy, never into the checkout, and then
loaded with the same ``load_project`` the CLI uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def config_dir(repo_root: Path, tmp_path: Path) -> Path:
    """A copy of configs/ that a test may add scenarios to."""
    target = tmp_path / "configs"
    shutil.copytree(repo_root / "configs", target)
    return target


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
