"""Seeded mutation fuzzing of the C scanner (``_k6fast``) against the DuckDB scan.

Two checks per mutated input (real k6 lines from ``data/k6_seed.jsonl`` and, traced with
``run --traces``'s module and vu/iter metadata, ``data/k6_seed_traced.jsonl``, mutated):

* memory: the bytes are fed to a fresh Scanner from a buffer that ends exactly at an
  inaccessible page (an over-read faults at once, even without a sanitizer), then
  again in random chunks as ``fastscan`` feeds files, and its results are read back;
* figures: batches of inputs are written as files and scanned by both engines
  (``run_scan(engine="fast")`` and ``engine="duckdb"``); per file, the invalid-line
  count, the line count, the Metric rows, every Point group (count, sum, min, max,
  non-zero count, first/last time, all values) and the exemplars kept (trace ids read
  from the metadata) must agree.

Used by ``test_fastscan_fuzz.py`` (a few thousand inputs in the normal suite) and as a
script for long runs, also with a sanitizer build (``benchmarks/fuzz/run_asan_fuzz.sh``):

    python tests/results/k6fast_fuzz.py --iterations 100000 [--so /tmp/asan/_k6fast.so]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import math
import mmap
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

SEED_FILE = Path(__file__).resolve().parent / "data" / "k6_seed.jsonl"
TRACED_SEED_FILE = SEED_FILE.with_name("k6_seed_traced.jsonl")
EXEMPLAR_METRICS = b"http_req_duration"
TIMESERIES = b"http_reqs\nhttp_req_failed\nhttp_req_duration\nvus\niterations\ndata_sent\ndata_received"
SKIP = b"http_reqs\nhttp_req_failed\nchecks\ndata_sent\ndata_received\niterations\nvus\nvus_max"

SPECIAL_BYTES = b'"{}[]\\:,\n\r\x00\xff\xc3 \t\x0b0-.eE+'
NUMBERS = [
    b"1e999",
    b"-1e999",
    b"-0",
    b"0",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e-400",
    b"9" * 30,
    b"1" + b"0" * 400,
    b"0." + b"0" * 300 + b"1",
    b"00",
    b"01",
    b"-",
    b".5",
    b"1.",
    b"1e",
    b"1e+",
    b"2.5E+3",
    b"9007199254740993",
    b"1.7976931348623157e308",
    b"4.9e-324",
    b"0.30000000000000004",
    b"true",
    b'"1"',
    b"null",
    b"[]",
    b"{}",
    b"123456789012345678901234567890",
    b"-1.5e-7",
    b"1E400",
    b"12.000000000000001",
]
TIMES = [
    b"2026-02-29T00:00:01Z",
    b"2024-02-29T00:00:01Z",
    b"2026-01-01T24:00:00Z",
    b"2026-01-01T00:00:60Z",
    b"2026-01-01t00:00:01z",
    b"2026-01-01 00:00:01Z",
    b"2026-01-01T00:00:01",
    b"2026-01-01T00:00:01.Z",
    b"2026-01-01T00:00:01+99:00",
    b"2026-01-01T00:00:01+00:60",
    b"0000-01-01T00:00:01Z",
    b"9999-12-31T23:59:59.9999999Z",
    b"0001-01-01T00:00:00Z",
    b"2026-01-01T00:00:01.123456789123Z",
    b"2026-13-01T00:00:01Z",
    b"2026-01-01T00:00:01+0200",
    b"2026-1-01T00:00:01Z",
    b"1969-12-31T23:59:59.999999Z",
    b"2026-01-01T00:00:01-00:00",
    b"2026-01-01T00:00:01Z ",
    b"",
    b"x",
]


def seed_lines(path: Path = SEED_FILE, traced: Path | None = TRACED_SEED_FILE) -> list[bytes]:
    lines = path.read_bytes().split(b"\n")[:-1]
    return lines + (traced.read_bytes().split(b"\n")[:-1] if traced is not None else [])


def load_module(so_path: str | None):
    """The extension to fuzz: the installed one, or a (sanitizer) build at ``so_path``."""
    if so_path is None:
        from novaload.results import _k6fast

        return _k6fast
    spec = importlib.util.spec_from_file_location("novaload.results._k6fast", so_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------- mutation


# Metadata objects a line's own is replaced by (op 13): where the trace id is and is not.
METADATA = [
    b'{"trace_id":"0af7651916cd43dd8448eb211c80319c"}',
    b'{"vu":"1","iter":"0","trace_id":"abc"}',
    b'{"trace\\u005fid":"escaped-key"}',
    b'{"trace_id":"a\\u0062c"}',
    b'{"trace_id":"a\\"b"}',
    b'{"trace_id":5}',
    b'{"trace_id":null}',
    b'{"trace_id":""}',
    b'{"trace_id":"first","trace_id":"second"}',
    b'{"x":{"trace_id":"nested"}}',
    b'{"x":{"a":[1,{"b":"}"}]},"trace_id":"after"}',
    b'{ "trace_id" : "spaced" }',
    b'{"trace_id":"' + b"f" * 64 + b'"}',
    b'{"trace_id":"' + b"f" * 65 + b'"}',
    b'{"trace_id":"ab cd"}',
    b'{"x":"\\"trace_id\\":\\"fake"}',
    b"{}",
]

# Mutations on which both engines are meant to agree line by line today. The others
# (byte flips, inserted bytes, ...) also reach JSON that Python's json module and
# DuckDB's reader judge differently (trailing \f, control characters in strings,
# extra data): those are checked for memory safety, and their mismatches are reported.
AGREED_OPS = (4, 5, 7, 8, 13)
AGREED_TIMES = [
    t
    for t in TIMES
    if t
    not in (
        b"2026-01-01T24:00:00Z",
        b"2026-01-01T00:00:01",
        b"2026-01-01T00:00:01.Z",
        b"0000-01-01T00:00:01Z",
        b"2026-01-01T00:00:01+0200",
        b"2026-1-01T00:00:01Z",
        b"2026-01-01T00:00:01Z ",
    )
]


def _mutate_line(rng: random.Random, line: bytes, ops=None) -> bytes:
    b = bytearray(line)
    op = rng.choice(ops) if ops else rng.randrange(14)
    pos = rng.randrange(len(b) + 1)
    if op == 0 and b:  # flip bits
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    elif op == 1 and b:  # structural byte
        b[rng.randrange(len(b))] = rng.choice(SPECIAL_BYTES)
    elif op == 2:
        b[pos:pos] = bytes([rng.choice(SPECIAL_BYTES)]) * rng.randint(1, 3)
    elif op == 3 and b:  # delete a range
        del b[pos : pos + rng.randint(1, 8)]
    elif op == 4:  # truncate
        del b[pos:]
    elif op == 5:  # replace the value
        i = b.find(b'"value":')
        if i >= 0:
            j = i + 8
            k = j
            while k < len(b) and b[k : k + 1] not in (b",", b"}"):
                k += 1
            b[j:k] = rng.choice(NUMBERS)
    elif op == 6:  # replace the time
        i = b.find(b'"time":"')
        if i >= 0:
            j = b.find(b'"', i + 8)
            if j > 0:
                b[i + 8 : j] = rng.choice(TIMES)
    elif op == 7:  # very long metric name
        i = b.find(b'"metric":"')
        if i >= 0:
            b[i + 10 : i + 10] = b"m" * rng.choice((1, 100, 5000, 70000))
    elif op == 8:  # large or odd tag set
        i = b.find(b'"tags":{')
        if i >= 0:
            n = rng.choice((1, 50, 2000))
            extra = b"".join(b'"k%d":"%s",' % (k, b"v" * rng.randint(0, 40)) for k in range(n))
            b[i + 8 : i + 8] = extra
    elif op == 9:  # invalid UTF-8 or escapes inside a string
        b[pos:pos] = rng.choice(
            (
                b"\xff",
                b"\xc3",
                b"\xed\xa0\x80",
                b"\\u0000",
                b"\\ud800",
                b'\\"',
                b"\\",
                b"\xe2\x82\xac",
                b"\\u00e9",
            )
        )
    elif op == 10:  # CRLF / whitespace
        b += rng.choice((b"\r", b" ", b"\t", b"\x0b", b"\x0c"))
    elif op == 11:  # duplicate a chunk (nested braces, doubled keys)
        j = rng.randrange(len(b) + 1)
        b[pos:pos] = b[min(pos, j) : max(pos, j)][:200]
    elif op == 12:  # the tags replaced by another JSON value
        i = b.find(b'"tags":')
        if i >= 0:
            end = b.rfind(b"}}")
            if end > i:
                b[i + 7 : end] = rng.choice(
                    (
                        b"null",
                        b"[]",
                        b'"x"',
                        b"1",
                        b"{}",
                        b'{"a":NaN}',
                        b'{"a":1,"a":2}',
                        b'{"name":"\\u0041"}',
                        b"{",
                    )
                )
    elif op == 13:  # the metadata (added where there is none) replaced
        i = b.find(b',"metadata":')
        end = b.rfind(b"}}")
        if i >= 0 and end > i:
            b[i + 12 : end] = rng.choice(METADATA)
        elif b.endswith(b"}}}"):
            b[len(b) - 2 : len(b) - 2] = b',"metadata":' + rng.choice(METADATA)
    return bytes(b)


def mutate(rng: random.Random, seed: list[bytes], ops=None) -> bytes:
    """A small file: a window of seed lines with a few mutations, odd line ends."""
    start = rng.randrange(len(seed))
    lines = list(seed[start : start + rng.randint(1, 12)])
    if rng.random() < 0.7 or start > 0:  # most files start with a valid line (sniffable)
        lines.insert(0, seed[1])
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        i = rng.randrange(len(lines))
        if rng.random() < 0.85 or i == 0:
            i = max(i, 1) if len(lines) > 1 else i
        lines[i] = _mutate_line(rng, lines[i], ops)
    if rng.random() < 0.1 and not ops:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice((b"", b"  ", b"\r", b"\x00")))
    data = b"\n".join(lines)
    return data if rng.random() < 0.15 else data + (b"\r\n" if rng.random() < 0.05 else b"\n")


# --------------------------------------------------------------------------- memory check


class GuardedBuffer:
    """Bytes placed to end exactly where an inaccessible page starts (and to start right
    after one), so a read past either end faults even without a sanitizer."""

    PAGE = mmap.PAGESIZE

    def __init__(self, capacity: int = 1 << 20):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.libc = libc
        self.pages = -(-capacity // self.PAGE)
        self.size = (self.pages + 2) * self.PAGE
        addr = libc.mmap(
            None, self.size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0
        )
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap failed")
        self.addr = addr
        libc.mprotect(addr, self.PAGE, 0)  # guard before
        libc.mprotect(addr + self.size - self.PAGE, self.PAGE, 0)  # guard after
        self.lo = addr + self.PAGE
        self.hi = addr + self.size - self.PAGE

    def at_end(self, data: bytes) -> memoryview:
        """``data`` ending at the upper guard page (as long as it fits)."""
        data = data[-(self.hi - self.lo) :]
        start = self.hi - len(data)
        ctypes.memmove(start, data, len(data))
        return memoryview((ctypes.c_char * len(data)).from_address(start)).cast("B")

    def at_start(self, data: bytes) -> memoryview:
        data = data[: self.hi - self.lo]
        ctypes.memmove(self.lo, data, len(data))
        return memoryview((ctypes.c_char * len(data)).from_address(self.lo)).cast("B")


def exercise(mod, data: bytes, rng: random.Random, guard: GuardedBuffer) -> int:
    """Feed ``data`` three ways; the Scanner must neither crash nor disagree with itself.
    Returns the number of points kept."""
    results = []
    for how in ("end", "start", "chunks"):
        sc = mod.Scanner(0, 1_000_000, TIMESERIES, SKIP, EXEMPLAR_METRICS, 5, 3)
        slow: list[bytes] = []
        if how == "chunks":
            pos = 0
            while True:
                cut = min(len(data), pos + rng.randint(1, 64))
                final = cut == len(data)
                used, lines = sc.feed(guard.at_end(data[pos:cut]), final)
                slow += lines
                if final:
                    break
                if used == 0:  # no newline yet: hand over more, as fastscan does
                    cut2 = data.find(b"\n", cut)
                    cut2 = len(data) if cut2 < 0 else cut2 + 1
                    used, lines = sc.feed(guard.at_end(data[pos:cut2]), cut2 == len(data))
                    slow += lines
                    if cut2 == len(data):
                        break
                pos += used
        else:
            view = guard.at_end(data) if how == "end" else guard.at_start(data)
            used, slow = sc.feed(view, True)
            assert used == len(data), (used, len(data))
            view.release()
        keys, groups, kept = sc.keys(), sc.groups(), sorted(sc.exemplars())
        ng = len(groups["key"]) // 4
        remap = np.arange(ng, dtype=np.int64).tobytes()
        vals, offs = mod.scatter([sc], [remap], ng, b"\x01" * ng)
        sc.release()
        results.append((keys, groups, bytes(vals), offs, slow, kept))
    first = results[0]
    for other in results[1:]:
        assert other[0] == first[0] and other[1] == first[1], "feeding order changed results"
        assert other[2] == first[2] and other[4] == first[4], "feeding order changed values"
        assert other[5] == first[5], "feeding order changed the exemplars"
    return len(first[2]) // 8


# --------------------------------------------------------------------------- figures check


def _canon_tags(tg) -> str:
    if not isinstance(tg, str):
        return "{}"
    try:
        return json.dumps(json.loads(tg), sort_keys=True)
    except ValueError:
        return "<invalid:" + tg + ">"


def _summaries(res, nsrc: int) -> list[dict]:
    """Per source: what the figures are made of, independent of group order/splitting."""
    g = res.groups
    out = [{"bad": 0, "lines": 0, "meta": Counter(), "points": {}, "exemplars": set()} for _ in range(nsrc)]
    for e in res.exemplars.itertuples(index=False):
        out[int(e.src)]["exemplars"].add(
            (e.metric, _canon_tags(e.tg), int(e.kind), float(e.value), int(e.us), e.trace_id)
        )
    vals, offs = res.values, res.offsets
    for row in g.itertuples(index=False):
        s = out[int(row.src)]
        s["lines"] += int(row.n)
        if bool(row.bad):
            s["bad"] += int(row.n)
            continue
        if row.type == "Metric":
            thr = json.loads(row.thr) if isinstance(row.thr, str) else None
            sub = json.loads(row.sub) if isinstance(row.sub, str) else None
            s["meta"][(row.metric, row.mtype, row.contains, json.dumps(thr), json.dumps(sub))] += int(row.n)
            continue
        win = None if pd.isna(row.win) else int(row.win)
        key = (row.metric, _canon_tags(row.tg), win)
        v = vals[offs[int(row.gid)] : offs[int(row.gid) + 1]]
        p = s["points"].setdefault(
            key,
            {
                "n": 0,
                "nz": 0,
                "s": 0.0,
                "mn": math.inf,
                "mx": -math.inf,
                "first": None,
                "last": None,
                "vals": [],
            },
        )
        p["n"] += int(row.n)
        p["nz"] += int(row.nz)
        p["s"] += float(row.s)
        p["mn"] = min(p["mn"], float(row.mn))
        p["mx"] = max(p["mx"], float(row.mx))
        p["first"] = int(row.first_us) if p["first"] is None else min(p["first"], int(row.first_us))
        p["last"] = int(row.last_us) if p["last"] is None else max(p["last"], int(row.last_us))
        p["vals"] += list(v)
    return out


def _same_float(a: float, b: float, rel: float = 0.0) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or (rel > 0 and math.isclose(a, b, rel_tol=rel))


def compare(fast: dict, ref: dict) -> str | None:
    """Why the two summaries of one source differ, or None."""
    for k in ("bad", "lines"):
        if fast[k] != ref[k]:
            return f"{k}: fast {fast[k]} duckdb {ref[k]}"
    if fast["meta"] != ref["meta"]:
        return f"metric lines: fast {dict(fast['meta'])} duckdb {dict(ref['meta'])}"
    if fast["points"].keys() != ref["points"].keys():
        a, b = set(fast["points"]), set(ref["points"])
        return f"groups: only fast {sorted(a - b)[:3]} only duckdb {sorted(b - a)[:3]}"
    for key, p in fast["points"].items():
        q = ref["points"][key]
        for f in ("n", "nz", "first", "last"):
            if p[f] != q[f]:
                return f"{key} {f}: fast {p[f]} duckdb {q[f]}"
        for f, rel in (("mn", 0.0), ("mx", 0.0), ("s", 1e-9)):
            if not _same_float(p[f], q[f], rel):
                return f"{key} {f}: fast {p[f]} duckdb {q[f]}"
        a, b = np.sort(np.asarray(p["vals"], float)), np.sort(np.asarray(q["vals"], float))
        if len(a) != len(b) or not np.array_equal(a, b, equal_nan=True):
            return f"{key} values: fast {a[:5]} duckdb {b[:5]}"
    if fast["exemplars"] != ref["exemplars"]:
        a, b = fast["exemplars"], ref["exemplars"]
        return f"exemplars: only fast {sorted(a - b)[:3]} only duckdb {sorted(b - a)[:3]}"
    return None


def differential(datas: list[bytes], workdir: Path, *, threads: int = 2) -> list[tuple[int, str]]:
    """Scan each input as one source with both engines; (index, why) for every mismatch.
    Inputs that neither engine accepts as a results file (sniff fails) are skipped."""
    from novaload.errors import InputError
    from novaload.results.scan import run_scan
    from novaload.results.sources import sniff

    srcs, index = [], []
    for i, data in enumerate(datas):
        path = workdir / f"in{i}.json"
        path.write_bytes(data)
        try:
            src = sniff(path)
        except InputError:
            continue
        if src.format == "json":
            srcs.append(src)
            index.append(i)
    if not srcs:
        return []
    firsts = [s.first_us for s in srcs if s.first_us is not None]
    origin = min(firsts) if firsts else 0
    out = {}
    for engine in ("fast", "duckdb"):
        res = run_scan(
            srcs, origin_us=origin, window_s=1.0, memory_limit="256MB", threads=threads, engine=engine
        )
        out[engine] = _summaries(res, len(srcs))
    bad = []
    for j, i in enumerate(index):
        why = compare(out["fast"][j], out["duckdb"][j])
        if why:
            bad.append((i, why))
    return bad


def _differential_isolated(datas: list[bytes], workdir: Path) -> list[tuple[int, str]]:
    """``differential``; when a scan raises, each input again alone to name the culprit
    (an exception other than the same InputError from both engines is a finding)."""
    try:
        return differential(datas, workdir)
    except Exception:  # noqa: BLE001 - reported as a finding below
        if len(datas) == 1:
            import traceback

            return [(0, "exception: " + traceback.format_exc(limit=-3))]
    found = []
    for i, data in enumerate(datas):
        found += [(i, why) for _, why in _differential_isolated([data], workdir)]
    return found


# --------------------------------------------------------------------------- driver


def run(
    iterations: int,
    seed: int,
    *,
    batch: int = 40,
    diff: bool = True,
    so: str | None = None,
    out_dir: Path | None = None,
    log=print,
) -> dict:
    """Fuzz ``iterations`` inputs; returns counts. Mismatching inputs are saved to ``out_dir``."""
    mod = load_module(so)
    if so is not None:  # make the pipeline (fastscan) use the build under test too
        from novaload.results import fastscan

        fastscan._k6fast = mod
    rng = random.Random(seed)
    seed_data = seed_lines()
    guard = GuardedBuffer()
    stats = {"inputs": 0, "points": 0, "mismatches": 0, "diff_inputs": 0}
    failures: list[tuple[bytes, str]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="k6fast-fuzz-") as tmp:
        pending: list[bytes] = []
        for it in range(iterations):
            data = mutate(rng, seed_data)
            stats["points"] += exercise(mod, data, rng, guard)
            stats["inputs"] += 1
            if diff:
                pending.append(data)
            if diff and (len(pending) == batch or it == iterations - 1):
                for i, why in _differential_isolated(pending, Path(tmp)):
                    failures.append((pending[i], why))
                stats["diff_inputs"] += len(pending)
                pending = []
            if (it + 1) % 5000 == 0:
                log(f"{it + 1} inputs, {len(failures)} mismatches, {time.monotonic() - started:.0f} s")
    stats["mismatches"] = len(failures)
    stats["seconds"] = round(time.monotonic() - started, 1)
    if out_dir is not None and failures:
        out_dir.mkdir(parents=True, exist_ok=True)
        for n, (data, why) in enumerate(failures):
            (out_dir / f"mismatch{n}.json").write_bytes(data)
            (out_dir / f"mismatch{n}.txt").write_text(why + "\n")
    stats["failures"] = failures
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=40, help="inputs per differential scan")
    ap.add_argument("--no-diff", action="store_true", help="memory checks only (faster)")
    ap.add_argument("--so", help="path of a _k6fast build to test (e.g. with ASan)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/k6fast-fuzz-failures"))
    args = ap.parse_args(argv)
    stats = run(
        args.iterations, args.seed, batch=args.batch, diff=not args.no_diff, so=args.so, out_dir=args.out
    )
    for data, why in stats.pop("failures")[:20]:
        print("MISMATCH", why, "\n   ", data[:300])
    print(json.dumps(stats))
    return 1 if stats["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
