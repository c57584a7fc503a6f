"""The corpus' stand-in server and the way a corpus script is made runnable: the public
hosts it names are pointed at the stand-in (the only change made at run time).

k6 imports remote modules over https only, so ``jslib.k6.io``'s k6-summary module is
staged as a file next to the script instead (``jslib/k6-summary.js``, vendored)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import stop_process

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
# Longest first: httpbin.test.k6.io before test.k6.io.
HOSTS = (
    "quickpizza.grafana.com",
    "httpbin.test.k6.io",
    "httpbin.org",
    "test.k6.io",
    "localhost:3333",
)
JSLIB = {"https://jslib.k6.io/k6-summary/0.0.2/index.js": "./jslib/k6-summary.js"}


@pytest.fixture(scope="session")
def standin() -> Iterator[str]:
    """The stand-in's host:port (one per session and xdist worker)."""
    proc = subprocess.Popen([sys.executable, str(HERE / "standin.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        words = proc.stdout.readline().split()
        assert words and words[0] == "PORT", "corpus stand-in did not start"
        yield f"127.0.0.1:{words[1]}"
    finally:
        stop_process(proc)


def point_at_standin(text: str, hostport: str) -> str:
    for url, local in JSLIB.items():
        text = text.replace(url, local)
    for host in HOSTS:
        for scheme in ("https://", "http://"):
            text = text.replace(scheme + host, f"http://{hostport}")
        text = text.replace("@" + host, "@" + hostport)  # http://user:pass@host/...
    return text


def stage(script: str, hostport: str, into: Path) -> Path:
    """Copy ``script`` (and the data files next to it) into ``into``, pointed at the stand-in."""
    into.mkdir(parents=True, exist_ok=True)
    if (SCRIPTS / "data").is_dir():
        shutil.copytree(SCRIPTS / "data", into / "data", dirs_exist_ok=True)
    shutil.copytree(HERE / "jslib", into / "jslib", dirs_exist_ok=True)
    path = into / script
    path.write_text(
        point_at_standin((SCRIPTS / script).read_text(encoding="utf-8"), hostport), encoding="utf-8"
    )
    return path
