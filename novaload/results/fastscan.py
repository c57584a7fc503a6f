"""The fast single pass over k6 JSON output: the C scanner (``_k6fast``) driven here.

The C part recognises k6's fixed Point layout and aggregates per (metric, raw tags
text, time window); this module does the I/O and everything else: a plain file is
split into newline-aligned byte ranges scanned by parallel threads (the parse loop
runs without the GIL), gzip is streamed; lines the C part does not recognise
(Metric lines, other key orders, invalid lines) come back here and are judged with
the json module. The output is the same :class:`~novaload.results.scan.ScanResult`
the DuckDB scan produces, so everything downstream is shared.

Exactness: values are parsed with correctly rounded conversions; each group's
values are kept in file order (threads cover consecutive ranges and are merged in
order), so per-group sums are k6's left-to-right sums.
"""

from __future__ import annotations

import functools
import io
import json
import math
import mmap
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from novaload.errors import InputError
from novaload.inputs import K6_LINE, json_depth_over
from novaload.results.sources import Source, parse_time_us
from novaload.results.store import ValueStore

if TYPE_CHECKING:
    from novaload.results.scan import ScanResult

_k6fast: Any  # the C extension module (no stubs), or None when it is not built
try:
    from novaload.results import _k6fast  # type: ignore[attr-defined,no-redef]
except ImportError:  # extension not built: the DuckDB scan is used instead
    _k6fast = None

# A C ``_k6fast.Scanner``: feed(), groups(), keys(), release()
Scanner = Any

CHUNK = 8 << 20
WINDOW = 16 << 20  # bytes mapped at a time per thread (resident while scanned)
MMAP = True  # False: read() into a buffer instead (same results; tests use both)
MIN_SPLIT = 32 << 20  # smaller files are scanned by one thread


def available() -> bool:
    return _k6fast is not None


FLUSH_POINTS = 1 << 18  # kept values a scanner holds before they go to the store


class Owners:
    """Scanners numbered in creation order (= file order, extras last) and the store
    their kept values are drained into."""

    def __init__(self, make: Callable[[], Any], store: ValueStore) -> None:
        self._make = make
        self.store = store
        self.ids: dict[int, int] = {}
        # sees every drained chunk too (the live scan's recent latencies)
        self.on_drain: Callable[[Scanner, bytes, bytes, bytes], None] | None = None

    def make(self) -> Any:
        sc = self._make()
        self.ids[id(sc)] = len(self.ids)
        return sc

    def drain(self, sc: Scanner, force: bool = False) -> None:
        if force or sc.npoints() >= FLUSH_POINTS:
            values, gids, counts = sc.drain()
            self.store.append(self.ids[id(sc)], values, gids, counts)
            if self.on_drain is not None:
                self.on_drain(sc, values, gids, counts)


def scan(
    sources: Sequence[tuple[int, Source]],
    *,
    origin_us: int,
    window_us: int,
    threads: int | None,
    non_trend: Sequence[str],
    timeseries: Sequence[str],
    store_dir: Path | None = None,
) -> ScanResult:
    """Scan k6 JSON sources (index, source) into a ScanResult."""
    if _k6fast is None:
        raise InputError("the fast scanner is not built (novaload/results/_k6fast.c)")
    owners = Owners(new_scanner_factory(origin_us, window_us, timeseries, non_trend), ValueStore(store_dir))
    nthreads = max(1, threads or min(2, os.cpu_count() or 1))
    runs: list[tuple[int, Scanner, list[bytes]]] = []  # (src, scanner, slow lines)
    for idx, src in sources:
        if src.gzip:
            sc = owners.make()
            runs.append((idx, sc, _scan_gzip(sc, src, owners)))
        else:
            runs += [(idx, sc, slow) for sc, slow in _scan_plain(src, nthreads, owners)]
    return finish(runs, owners, non_trend)


def new_scanner_factory(
    origin_us: int, window_us: int, timeseries: Sequence[str], non_trend: Sequence[str]
) -> Callable[[], Scanner]:
    from novaload.results.scan import EXEMPLAR_FIRST, EXEMPLAR_METRICS, EXEMPLAR_SLOWEST

    assert _k6fast is not None
    return functools.partial(
        _k6fast.Scanner,
        origin_us,
        window_us,
        "\n".join(timeseries).encode(),
        "\n".join(non_trend).encode(),
        "\n".join(EXEMPLAR_METRICS).encode(),
        EXEMPLAR_SLOWEST,
        EXEMPLAR_FIRST,
    )


def finish(
    runs: list[tuple[int, Scanner, list[bytes]]], owners: Owners, non_trend: Sequence[str]
) -> ScanResult:
    """The ScanResult of scanners that have read everything: slow lines judged, groups
    merged, every kept value in the sealed store."""
    extras: dict[int, Scanner] = {}  # per source: valid Points written in another layout

    def extra_for(idx: int) -> Scanner:
        if idx not in extras:
            extras[idx] = owners.make()
        return extras[idx]

    meta_rows, bad = _slow_lines(runs, extra_for)
    scanners = [(idx, sc) for idx, sc, _ in runs] + list(extras.items())
    groups, remaps, exemplars = _merge_groups(scanners, meta_rows, bad)
    return _with_values(groups, [sc for _, sc in scanners], remaps, non_trend, owners, exemplars)


def _with_values(
    groups: pd.DataFrame,
    scanners: list[Scanner],
    remaps: list[bytes],
    non_trend: Sequence[str],
    owners: Owners,
    exemplars: pd.DataFrame,
) -> ScanResult:
    """The ScanResult: each kept group's values in the sealed store, in file order."""
    from novaload.results.scan import ScanResult

    keep = (groups["type"].eq("Point") & ~groups["bad"] & ~groups["metric"].isin(list(non_trend))).to_numpy(
        dtype=bool
    )
    maps = {}
    for sc, remap in zip(scanners, remaps, strict=True):
        owners.drain(sc, force=True)
        maps[owners.ids[id(sc)]] = np.frombuffer(remap, dtype=np.int64)
        sc.release()
    store = owners.store.seal(maps, len(groups), keep)
    groups["nvals"] = store.group_n
    return ScanResult(groups, store, exemplars)


# --------------------------------------------------------------------------- reading


def _boundaries(path: Path, size: int, parts: int) -> list[int]:
    """``parts`` + 1 offsets; each inner one is the start of a line."""
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            pos = max(size * i // parts, cuts[-1])
            fh.seek(pos)
            while True:
                block = fh.read(1 << 16)
                if not block:
                    pos = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    pos += nl + 1
                    break
                pos += len(block)
            cuts.append(pos)
    cuts.append(size)
    return cuts


def _scan_plain(src: Source, parts: int, owners: Owners) -> list[tuple[Scanner, list[bytes]]]:
    size = src.path.stat().st_size
    if size < MIN_SPLIT:
        parts = 1
    cuts = _boundaries(src.path, size, parts)
    jobs: list[tuple[Scanner, int, int, list[bytes]]] = [
        (owners.make(), cuts[i], cuts[i + 1], []) for i in range(parts) if cuts[i] < cuts[i + 1]
    ]
    errors: list[BaseException] = []

    def work(sc: Scanner, start: int, end: int, slow: list[bytes]) -> None:
        try:
            with open(src.path, "rb", buffering=0) as fh:
                if MMAP:
                    _feed_mapped(sc, fh.fileno(), start, end, size, slow, owners)
                else:
                    fh.seek(start)
                    _feed_stream(sc, fh, end - start, slow, owners)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job, daemon=True) for job in jobs[1:]]
    for t in threads:
        t.start()
    if jobs:
        work(*jobs[0])
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [(sc, slow) for sc, _, _, slow in jobs]


def _feed_mapped(
    sc: Scanner, fd: int, start: int, end: int, size: int, slow: list[bytes], owners: Owners
) -> None:
    """Feed bytes [start, end) through read-only memory maps of WINDOW bytes.

    Mapping avoids read()'s copy into user space; each window is unmapped before
    the next one, so the mapped file pages never count more than one window
    toward the resident size."""
    pos = start
    window = WINDOW
    while pos < end:
        base = pos - pos % mmap.ALLOCATIONGRANULARITY
        length = min(end, base + window) - base
        mm = mmap.mmap(fd, length, offset=base, access=mmap.ACCESS_READ)
        try:
            view = memoryview(mm)
            try:
                final = base + length >= end
                used, lines = sc.feed(view[pos - base :], final)
            finally:
                view.release()
        finally:
            mm.close()
        slow += lines
        owners.drain(sc)
        if used == 0 and not final:  # one line longer than a window: map more
            window *= 2
        pos += used
        if final:
            break


def _feed_stream(
    sc: Scanner,
    fh: io.RawIOBase | io.BufferedIOBase,
    limit: int | None,
    slow: list[bytes],
    owners: Owners,
) -> None:
    """Feed ``limit`` bytes (or all) of ``fh`` to the scanner, whole lines at a time."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    have = 0
    left = limit
    while True:
        want = len(buf) - have
        if left is not None:
            want = min(want, left)
        got = fh.readinto(view[have : have + want]) if want else 0
        got = got or 0
        if left is not None:
            left -= got
        have += got
        final = got == 0 or left == 0
        used, lines = sc.feed(view[:have], final)
        slow += lines
        owners.drain(sc)
        rest = have - used
        if final:
            break
        if rest == len(buf):  # one line longer than the buffer: grow it
            buf.extend(bytes(len(buf)))
            view.release()
            view = memoryview(buf)
        elif rest:
            view[:rest] = view[used:have]
        have = rest
    view.release()


def _scan_gzip(sc: Scanner, src: Source, owners: Owners) -> list[bytes]:
    """Decompress in a reader thread while this one scans (zlib and the scanner both
    run without the GIL, so the two overlap on two cores)."""
    chunks: queue.Queue = queue.Queue(maxsize=3)  # bounded: at most ~4 chunks in memory

    def reader() -> None:
        try:
            for block in _gunzip_blocks(src.path):
                chunks.put(block)
            chunks.put(b"")
        except (OSError, EOFError, zlib.error) as exc:  # damaged or truncated stream
            chunks.put(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    slow: list[bytes] = []
    carry = b""
    while True:
        block = chunks.get()
        if isinstance(block, BaseException):  # counted as one bad "line"
            slow.append(b"\x00gzip: " + str(block).encode())
            break
        data = carry + block if carry else block
        used, lines = sc.feed(data, not block)
        slow += lines
        owners.drain(sc)
        if not block:
            break
        carry = data[used:]
    thread.join()
    return slow


def _gunzip_blocks(path: Path) -> Iterator[bytes]:
    """Decompressed blocks of a (multi-member) gzip file. zlib itself checks each
    member's CRC and length (wbits=31) and releases the GIL while inflating."""
    with open(path, "rb") as fh:
        dec = zlib.decompressobj(wbits=31)
        while True:
            raw = fh.read(1 << 16)  # small inputs inflate faster (cache-sized output)
            if not raw:
                if not dec.eof:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return
            while raw:
                block = dec.decompress(raw, CHUNK)
                if block:
                    yield block
                raw = dec.unconsumed_tail
                if dec.eof:
                    raw = dec.unused_data + raw
                    if not raw.lstrip(b"\x00"):  # trailing padding
                        break
                    dec = zlib.decompressobj(wbits=31)


# --------------------------------------------------------------------------- slow lines


def _slow_lines(
    runs: list[tuple[int, Scanner, list[bytes]]], extra_for: Callable[[int], Scanner]
) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    """Metric rows and invalid-line counts per source; valid Points go to ``extra_for``."""
    meta: list[tuple[Any, ...]] = []
    bad: dict[int, int] = {}
    for idx, _, lines in runs:
        for raw in lines:
            row = _slow_line(idx, raw, extra_for)
            if row is None:
                bad[idx] = bad.get(idx, 0) + 1
            elif isinstance(row, tuple):  # True: a valid Point, re-fed
                meta.append(row)
    return meta, bad


def _slow_line(idx: int, raw: bytes, extra_for: Callable[[int], Scanner]) -> tuple[Any, ...] | bool | None:
    """A Metric line → its group row; a valid Point → re-fed (True); invalid → None."""
    if json_depth_over(raw, K6_LINE.max_depth) is not None:
        return None  # k6 writes no such line; parsing it would recurse
    try:
        # strict UTF-8 first: json.loads(bytes) would let encoded surrogates through
        text = raw.decode("utf-8")
        obj = json.loads(text)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return None
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("metric"), str)
        or not isinstance(obj.get("data"), dict)
    ):
        return None
    data = obj["data"]
    if obj.get("type") == "Metric":
        thr, sub = data.get("thresholds"), data.get("submetrics")
        return (
            idx,
            False,
            "Metric",
            obj["metric"],
            _str(data.get("type")),
            _str(data.get("contains")),
            None if thr is None else json.dumps(thr),
            None if sub is None else json.dumps(sub),
        )
    if obj.get("type") != "Point":
        return None
    value, time, tags, metadata = data.get("value"), data.get("time"), data.get("tags"), data.get("metadata")
    if metadata is not None:
        # Of duplicate keys json.loads keeps the last, DuckDB (the reference scan) reads the
        # first: the trace id comes from the first "metadata" and its first "trace_id".
        first = json.loads(text, object_pairs_hook=_first_wins).get("data")
        metadata = first.get("metadata") if isinstance(first, dict) else None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not isinstance(time, str)
        or parse_time_us(time) is None
        or not (tags is None or isinstance(tags, dict))
    ):
        return None
    try:
        value = float(value)  # an int beyond a double (10**400) overflows
        # Re-written in k6's own layout so the C scanner aggregates it like any other
        # (a lone surrogate escape, "\ud800", cannot be encoded: not valid text).
        line = (
            b'{"metric":'
            + json.dumps(obj["metric"], ensure_ascii=False).encode()
            + b',"type":"Point","data":{"time":'
            + json.dumps(time).encode()
            + b',"value":'
            + repr(value).encode()
            + b',"tags":'
            + json.dumps(tags, separators=(",", ":"), ensure_ascii=False).encode()
            + _metadata_text(metadata)
            + b"}}"
        )
    except (OverflowError, UnicodeEncodeError):
        return None
    if not math.isfinite(value):  # NaN, Infinity, 1e999: not k6 values (nor DuckDB's)
        return None
    _, left = extra_for(idx).feed(line, True)
    return True if not left else None


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _metadata_text(metadata: object) -> bytes:
    """``,"metadata":{...}`` for a re-written Point (the C scanner reads its trace id);
    empty when there is none, or none that could be a trace id's carrier."""
    if not isinstance(metadata, dict):
        return b""
    try:
        return b',"metadata":' + json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()
    except (UnicodeEncodeError, ValueError):  # a lone surrogate: the sample stays, without it
        return b""


def _str(x: object) -> str | None:
    return None if x is None else str(x)


# --------------------------------------------------------------------------- groups

_NO_WIN = np.iinfo(np.int64).min
_META_COLS = ("src", "bad", "type", "metric", "mtype", "contains", "thr", "sub")


def _local_frame(idx: int, sc: Scanner) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The scanner's groups, and its exemplars (None when it kept none)."""
    raw = sc.groups()
    key = np.frombuffer(raw["key"], dtype=np.uint32)
    win = np.frombuffer(raw["win"], dtype=np.int64)
    metric, tags, bad = _decode_keys(sc.keys())
    exemplars = _exemplar_frame(idx, sc.exemplars(), metric, tags, bad)
    frame = pd.DataFrame(
        {
            "src": np.full(len(key), idx, dtype=np.int64),
            "metric": metric[key],
            "tg": tags[key],
            "bad": bad[key],
            "win": np.where(win == _NO_WIN, np.nan, win.astype(np.float64)),
        }
    )
    for col in ("n", "nz", "first_us", "last_us"):
        frame[col] = np.frombuffer(raw[col], dtype=np.int64)
    for col in ("s", "mn", "mx", "last_v"):
        frame[col] = np.frombuffer(raw[col], dtype=np.float64)
    return frame, exemplars


def _exemplar_frame(
    idx: int,
    rows: list[tuple[int, int, float, int, bytes]],
    metric: np.ndarray,
    tags: np.ndarray,
    bad: np.ndarray,
) -> pd.DataFrame | None:
    """``Scanner.exemplars()`` as EXEMPLAR_COLUMNS rows; none of a key whose tags are bad."""
    rows = [r for r in rows if not bad[r[0]]]
    if not rows:
        return None
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return pd.DataFrame(
        {
            "src": np.full(len(rows), idx, dtype=np.int64),
            "metric": metric[keys],
            "tg": tags[keys],
            "kind": np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            "value": np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows)),
            "us": np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows)),
            "trace_id": [r[4].decode("ascii") for r in rows],
        }
    )


def _decode_keys(keys: list[tuple[bytes, bytes]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metric names and tags texts as str; a key is bad when its tags are not a JSON
    object (the C scanner only bounds the tags text; this validates it, once per
    distinct text: a request's tags are the same for each of its ~9 metrics)."""
    metric = np.empty(len(keys), dtype=object)
    tags = np.empty(len(keys), dtype=object)
    bad = np.zeros(len(keys), dtype=bool)
    names: dict[bytes, str | None] = {}
    texts: dict[bytes, tuple[str, bool]] = {}
    for i, (m, t) in enumerate(keys):
        if m not in names:
            names[m] = _metric_name(m)
        name = names[m]
        got = texts.get(t)
        if got is None:
            got = texts[t] = _tags_text(t)
        if name is None:
            metric[i], tags[i], bad[i] = "", "", True
        else:
            metric[i] = name
            tags[i], bad[i] = got
    return metric, tags, bad


def _metric_name(raw: bytes) -> str | None:
    """The metric name of a key, or None when it is not a JSON string's text."""
    try:
        # strict UTF-8 (no encoded surrogates); control characters are not JSON
        return str(json.loads('"' + raw.decode("utf-8") + '"'))
    except (UnicodeDecodeError, ValueError):
        return None


def _tags_text(raw: bytes) -> tuple[str, bool]:
    """A key's tags as (text, bad): ``{}`` for null; bad when not a JSON object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "", True
    try:
        if json_depth_over(text, K6_LINE.max_depth) is not None:
            raise ValueError("nested too deeply")
        parsed = json.loads(text)
    except ValueError:
        return text, True
    if parsed is None:
        return "{}", False
    return text, not isinstance(parsed, dict)


def _merge_groups(
    scanners: list[tuple[int, Scanner]], meta_rows: list[tuple[Any, ...]], bad: dict[int, int]
) -> tuple[pd.DataFrame, list[bytes], pd.DataFrame]:
    """One groups frame over all scanners + the remap (local → global gid) of each, and
    the exemplars of all of them (per source and tag set)."""
    from novaload.results.scan import no_exemplars, reduce_exemplars

    local = [_local_frame(idx, sc) for idx, sc in scanners]
    frames = [frame for frame, _ in local]
    found = [ex for _, ex in local if ex is not None]
    exemplars = (
        reduce_exemplars(pd.concat(found, ignore_index=True), ("src", "metric", "tg"))
        if found
        else no_exemplars()
    )
    pts = pd.concat(frames, ignore_index=True)
    codes = (
        pts.groupby(["src", "metric", "tg", "win"], sort=False, dropna=False)
        .ngroup()
        .to_numpy(dtype=np.int64)
    )
    ng = int(codes.max()) + 1 if len(codes) else 0
    firsts = np.unique(codes, return_index=True)[1]
    merged = pts.iloc[firsts][["src", "metric", "tg", "win", "bad"]].reset_index(drop=True)
    merged = _aggregate(merged, pts, codes, ng)
    merged["type"] = "Point"
    rows = [merged]
    if meta_rows:
        meta = pd.DataFrame(meta_rows, columns=list(_META_COLS))
        rows.append(meta.groupby(list(_META_COLS), dropna=False, sort=False).size().rename("n").reset_index())
    if bad:
        rows.append(pd.DataFrame({"src": list(bad), "bad": True, "n": list(bad.values())}))
    groups = pd.concat(rows, ignore_index=True)
    groups["bad"] = groups["bad"].astype(bool)
    groups["n"] = groups["n"].astype(np.int64)
    groups["gid"] = np.arange(len(groups), dtype=np.int32)
    remaps, start = [], 0
    for frame in frames:
        remaps.append(codes[start : start + len(frame)].tobytes())
        start += len(frame)
    return groups, remaps, exemplars


def _aggregate(merged: pd.DataFrame, pts: pd.DataFrame, codes: np.ndarray, ng: int) -> pd.DataFrame:
    """Per global group: sums, extremes, and the value of the latest sample (ties: the
    later scanner, i.e. later in the file)."""

    def total(col: str, dtype: type[np.generic]) -> np.ndarray:
        out = np.zeros(ng, dtype=dtype)
        np.add.at(out, codes, pts[col].to_numpy())
        return out

    def extreme(col: str, fn: np.ufunc, init: float) -> np.ndarray:
        out = np.full(ng, init, dtype=pts[col].dtype)
        fn.at(out, codes, pts[col].to_numpy())
        return out

    merged["n"] = total("n", np.int64)
    merged["s"] = total("s", np.float64)
    merged["nz"] = total("nz", np.int64)
    merged["mn"] = extreme("mn", np.minimum, np.inf)
    merged["mx"] = extreme("mx", np.maximum, -np.inf)
    merged["first_us"] = extreme("first_us", np.minimum, np.iinfo(np.int64).max)
    merged["last_us"] = extreme("last_us", np.maximum, np.iinfo(np.int64).min)
    order = np.lexsort((np.arange(len(codes)), pts["last_us"].to_numpy(), codes))
    last_row = order[np.r_[np.flatnonzero(np.diff(codes[order])), len(order) - 1]] if len(order) else order
    merged["last_v"] = pts["last_v"].to_numpy()[last_row] if ng else np.empty(0)
    return merged
