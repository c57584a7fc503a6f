"""Helpers shared by every test folder (importable as ``support``: pytest's
``pythonpath`` includes ``tests/``; conftest modules cannot import each other)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def require_tool(available: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a real component is not available.

    In CI a skipped integration test would hide exactly the breakage CI exists to catch.
    """
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a server a fixture started; kill it if it does not exit within ``timeout``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def k6_path() -> str | None:
    """The k6 installed with novaload (the venv's bin/), else one on PATH."""
    candidate = Path(sys.executable).parent / "k6"
    if candidate.exists():
        return str(candidate)
    return shutil.which("k6")
