"""Helpers shared by every test folder (importable as ``support``: pytest's
``pythonpath`` includes ``tests/``; conftest modules cannot import each other)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
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


def same_as_k6(key: str, ours: float | None, k6s: float | None) -> bool:
    """One value of k6's summary against novaload's: ``avg`` within 1e-12 (k6 adds the
    samples in arrival order, novaload pairwise); any other value equal, or one ulp off
    where k6's JavaScript summary printed a double in a form that does not round-trip
    (docs/results-engine.md; seen on a p(95): 0.1334366999999997 from k6,
    0.13343669999999969 exact)."""
    if ours is None or k6s is None:
        return ours == k6s
    if key == "avg":
        return abs(ours - k6s) <= 1e-12 * abs(k6s)
    return ours == k6s or abs(ours - k6s) <= math.ulp(k6s)


def k6_percentile(values: Sequence[float], p: float) -> float:
    """The reference: k6's TrendSink.P (linear interpolation between closest ranks) in
    plain Python, to check novaload's figures against without using novaload's code."""
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    i = p / 100 * (len(v) - 1)
    lo, hi = math.floor(i), math.ceil(i)
    return v[lo] + (v[hi] - v[lo]) * (i - lo)


def import_chains(importtime_log: str, wanted: set[str]) -> dict[str, str]:
    """For each wanted module, the chain of imports that loaded it first ("a > b > c"),
    from ``python -X importtime``'s lines (printed children first, indented by depth):
    what a start-up test names when a module it forbids was loaded."""
    rows = []
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        name = line.rsplit("|", 1)[1]
        rows.append(((len(name) - len(name.lstrip(" "))) // 2, name.strip()))
    chains: dict[str, str] = {}
    parents: dict[int, str] = {}
    # Walked backwards, a line's importer is the nearest earlier-walked line one level up.
    for depth, name in reversed(rows):
        parents[depth] = name
        if name in wanted and name not in chains:
            chains[name] = " > ".join(parents[d] for d in range(depth + 1) if d in parents)
    return chains
