"""Fixtures for the results engine: a loopback HTTP server and cached real k6 runs.

The server is our own tiny aiohttp app (fixed routes incl. /status/{code}) rather
than the demo target, because the scripts need exact 404/500 routes. Each k6 run
is bounded (a few seconds or a fixed iteration count) and cached per session, so
xdist workers each run a script at most once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import stop_process

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"


@dataclass(frozen=True)
class K6Run:
    json: Path
    export: Path  # --summary-export
    handle: Path  # handleSummary data
    script: str


@pytest.fixture(scope="session")
def loopback_url() -> Iterator[str]:
    """One server per session (per xdist worker): starting one per test is slow."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "loopback_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        words = proc.stdout.readline().split()
        assert words and words[0] == "PORT", "loopback server did not start"
        yield f"http://127.0.0.1:{words[1]}"
    finally:
        stop_process(proc)


def run_k6(
    k6_bin: str, script: str, out_dir: Path, base: str, *extra: str, out_name: str = "out.json"
) -> K6Run:
    out_dir.mkdir(parents=True, exist_ok=True)
    run = K6Run(out_dir / out_name, out_dir / "export.json", out_dir / "handle.json", script)
    cmd = [
        k6_bin,
        "run",
        "-q",
        "--no-color",
        "-e",
        f"BASE={base}",
        "-e",
        f"HANDLE={run.handle}",
        "--out",
        f"json={run.json}",
        "--summary-export",
        str(run.export),
        *extra,
        str(SCRIPTS / script),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=out_dir)
    assert res.returncode in (0, 99), f"k6 failed ({res.returncode}): {res.stderr[-2000:]}"
    return run


@pytest.fixture(scope="session")
def k6_runs(k6_bin, loopback_url, tmp_path_factory):
    """Run a script once per session; returns a getter ``runs(script) -> K6Run``."""
    cache: dict[str, K6Run] = {}

    def get(script: str) -> K6Run:
        if script not in cache:
            out = tmp_path_factory.mktemp(script.replace(".", "_"))
            cache[script] = run_k6(k6_bin, script, out, loopback_url)
        return cache[script]

    return get


def replay_live(sources: list[Path], into: Path, **kw: object):
    """``ingest`` through the live path: each results file is written again, in
    pieces, while a ``LiveScan`` follows the copies (as during a run)."""
    import threading

    from novaload.results.ingest import ingest
    from novaload.results.live import LiveScan

    into.mkdir(parents=True, exist_ok=True)
    copies = [into / f"{i}-{p.name}" for i, p in enumerate(sources)]
    live = LiveScan(copies, poll_s=0.005).start()

    def write(src: Path, dst: Path) -> None:
        with src.open("rb") as fin, dst.open("wb") as fout:
            while piece := fin.read(50_001):  # lines cut anywhere
                fout.write(piece)
                fout.flush()

    writers = [threading.Thread(target=write, args=pair) for pair in zip(sources, copies, strict=True)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    return ingest(copies, live=live.finish(timeout=60), **kw)  # type: ignore[arg-type]
