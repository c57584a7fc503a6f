"""The compact on-disk store of trend values, and exact statistics over it.

k6's percentiles are exact, so every trend sample must be kept: 8 bytes a value
(float64). Keeping them in memory made the ingest grow ~45 MiB per GB of k6 JSON;
here they go to one file, appended in chunks while the scan runs (``ValueStore``),
each chunk sorted by group so a group's values are a few contiguous pieces. Once the
scan is over the store is *sealed* (``SealedStore``): local group ids become the
scan's global ones and each group knows its pieces, in file order.

Reading never holds more than a bounded number of values:

* a set of groups with at most ``IN_MEMORY`` values is read whole and handled as
  before (``numpy.partition``);
* a bigger set is streamed in chunks of ``CHUNK`` values and its order statistics are
  found by an exact radix selection over the float64 bit patterns (a 16-bit histogram
  pass, then the next 16 bits inside the target bucket, ... until the bucket is small
  enough to gather and partition): the same values k6's sort gives, whatever the size.

Sums run left to right over the values in the order they are asked for (each group
in file order), chunk by chunk with a carry: the result does not depend on the chunk
size, so the streamed and the in-memory path give bit-identical averages.

Disk: 8 bytes per kept sample (8 MB per million), plus 16 bytes per piece of index.
The file lives in a private temporary folder (``$TMPDIR`` or the folder given) and is
removed when the store is closed or garbage-collected.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

IN_MEMORY = 1 << 20  # values read whole (8 MiB); bigger sets are streamed
CHUNK = 1 << 19  # values per streamed chunk (4 MiB)
GATHER = 1 << 18  # a radix bucket this small is gathered and partitioned
VALUES_FILE = "values.f64"
_DIGIT = 16


class ValueStore:
    """Append-only: (owner, local group ids, counts, values sorted by group).

    ``owner`` is the scanner that produced the chunk; owners are numbered in file
    order, and each owner's chunks arrive in file order, which is what makes every
    group's values come back in file order. Thread-safe (two scanner threads append).
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="novaload-values-", dir=directory))
        self.path = self.dir / VALUES_FILE
        self._fh = self.path.open("wb")
        self._lock = threading.Lock()
        self._n = 0
        self._index: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.dir), True)

    @property
    def size(self) -> int:
        return self._n

    def append(self, owner: int, values: bytes, gids: bytes, counts: bytes) -> None:
        if not values:
            return
        g = np.frombuffer(gids, dtype=np.uint32)
        c = np.frombuffer(counts, dtype=np.int64)
        with self._lock:
            start = self._n
            self._fh.write(values)
            self._n += len(values) // 8
            offs = start + np.concatenate(([0], np.cumsum(c[:-1]))).astype(np.int64)
            self._index.append((owner, g.copy(), offs, c.copy()))

    def seal(self, remaps: dict[int, np.ndarray], ngroups: int, keep: np.ndarray) -> SealedStore:
        """The readable store: ``remaps[owner][local gid]`` is the global group id;
        only groups with ``keep[gid]`` keep their values."""
        self._fh.close()
        owners = sorted({o for o, *_ in self._index})
        parts = [[e for e in self._index if e[0] == o] for o in owners]
        entries = [e for part in parts for e in part]  # owner order, then append order
        if entries:
            gid = np.concatenate([remaps[o][g] for o, g, _, _ in entries]).astype(np.int64)
            off = np.concatenate([e[2] for e in entries])
            cnt = np.concatenate([e[3] for e in entries])
            mine = keep[gid]
            gid, off, cnt = gid[mine], off[mine], cnt[mine]
            order = np.argsort(gid, kind="stable")
            gid, off, cnt = gid[order], off[order], cnt[order]
        else:
            gid = off = cnt = np.zeros(0, dtype=np.int64)
        ptr = np.searchsorted(gid, np.arange(ngroups + 1), side="left").astype(np.int64)
        self._index = []
        # Keep an open descriptor and remove the file's name at once: the disk space is
        # given back when the store is closed or collected, or when the process ends,
        # however it ends.
        fd = os.open(self.path, os.O_RDONLY)
        self._cleanup()
        return SealedStore(self.path, off, cnt, ptr, fd=fd)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self._cleanup()


class SealedStore:
    """Each group's pieces (offset, count) in the values file, readable in bounded memory."""

    def __init__(
        self,
        path: Path | None,
        off: np.ndarray,
        cnt: np.ndarray,
        ptr: np.ndarray,
        fd: int | None = None,
        array: np.ndarray | None = None,
    ) -> None:
        self.path = path
        self.off, self.cnt, self.ptr = off, cnt, ptr
        self._array = array  # in-memory store (the DuckDB scan): the values themselves
        self._fd = fd
        group_n = np.zeros(len(ptr) - 1, dtype=np.int64)
        if len(cnt):
            np.add.at(group_n, np.repeat(np.arange(len(ptr) - 1), np.diff(ptr)), cnt)
        self.group_n = group_n

    @classmethod
    def from_array(cls, values: np.ndarray, offsets: np.ndarray) -> SealedStore:
        """Values already in memory, grouped by gid (``values[offsets[g]:offsets[g+1]]``)."""
        ng = len(offsets) - 1
        return cls(None, offsets[:-1].astype(np.int64), np.diff(offsets), np.arange(ng + 1), array=values)

    # ------------------------------------------------------------------ reading

    def count(self, gids: Sequence[int] | np.ndarray) -> int:
        g = np.asarray(gids, dtype=np.int64)
        return int(self.group_n[g].sum()) if len(g) else 0

    def _pieces(self, gids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.asarray(gids, dtype=np.int64)
        if not len(g):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        starts, ends = self.ptr[g], self.ptr[g + 1]
        lens = ends - starts
        idx = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens) + np.arange(lens.sum())
        off, cnt = self.off[idx], self.cnt[idx]
        keep = cnt > 0
        return off[keep], cnt[keep]

    def _fill(self, dest: np.ndarray, off: int, cnt: int, at: int) -> None:
        if self._array is not None:
            dest[at : at + cnt] = self._array[off : off + cnt]
            return
        if self._fd is None:
            raise ValueError("the value store is closed")
        view = memoryview(dest[at : at + cnt]).cast("B")  # type: ignore[arg-type]
        done = 0
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], off * 8 + done)
            if got <= 0:
                raise OSError(f"{self.path}: the value store is shorter than its index")
            done += got

    def read(self, gids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Every value of ``gids`` (in that order; each group in file order)."""
        off, cnt = self._pieces(gids)
        out = np.empty(int(cnt.sum()), dtype=np.float64)
        at = 0
        for o, c in zip(off.tolist(), cnt.tolist(), strict=True):
            self._fill(out, o, c, at)
            at += c
        return out

    def chunks(self, gids: Sequence[int] | np.ndarray, size: int = 0) -> Iterator[np.ndarray]:
        """The values of ``gids`` in order, as arrays of at most ``size`` values (one
        buffer reused: use each chunk before asking for the next)."""
        size = size or CHUNK
        off, cnt = self._pieces(gids)
        buf = np.empty(min(size, int(cnt.sum()) or 1), dtype=np.float64)
        at = 0
        for o, c in zip(off.tolist(), cnt.tolist(), strict=True):
            while c:
                take = min(c, len(buf) - at)
                self._fill(buf, o, take, at)
                at += take
                o += take
                c -= take
                if at == len(buf):
                    yield buf
                    at = 0
        if at:
            yield buf[:at]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)

    # ------------------------------------------------------------------ statistics

    def trend(self, gids: Sequence[int] | np.ndarray, pcts: Sequence[float]) -> tuple[int, float, dict]:
        """(count, left-to-right sum, k6 percentile of each ``p`` in ``pcts``)."""
        from novaload.results.stats import percentiles

        n = self.count(gids)
        if n <= IN_MEMORY:
            vals = self.read(gids)
            return n, sequential_sum(vals), percentiles(vals, pcts)
        total = 0.0
        for chunk in self.chunks(gids):
            total = sequential_sum(chunk, total)
        return n, total, self.percentiles(gids, pcts, n)

    def percentiles(self, gids: Sequence[int] | np.ndarray, pcts: Sequence[float], n: int = -1) -> dict:
        """k6's ``P(p/100)`` for each ``p`` in ``pcts``, exact, in bounded memory."""
        from novaload.results.stats import interpolate, percentiles

        n = self.count(gids) if n < 0 else n
        if n <= IN_MEMORY:
            return percentiles(self.read(gids), pcts)
        ranks = sorted({k for p in pcts for k in _ranks(p, n)})
        got = select_ranks(lambda: self.chunks(gids), n, ranks)
        return {p: interpolate(got, p, n) for p in pcts}

    def histogram_counts(self, gids: Sequence[int] | np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Counts per bucket of ``edges`` (upper bounds, side="left"; the last bucket
        takes everything above)."""
        counts = np.zeros(len(edges), dtype=np.int64)
        for chunk in self.chunks(gids):
            idx = np.searchsorted(edges, chunk, side="left")
            counts += np.bincount(np.minimum(idx, len(edges) - 1), minlength=len(edges))
        return counts

    def min_positive(self, gids: Sequence[int] | np.ndarray) -> float | None:
        best = math.inf
        for chunk in self.chunks(gids):
            pos = chunk[chunk > 0]
            if len(pos):
                best = min(best, float(pos.min()))
        return None if best == math.inf else best


def sequential_sum(values: np.ndarray, carry: float = 0.0) -> float:
    """``carry + v0 + v1 + ...`` strictly left to right (as k6 adds), whatever the
    chunking: ``np.add.accumulate`` is sequential, unlike ``sum`` (pairwise)."""
    if not len(values):
        return carry
    first = values[0]
    values[0] = carry + first
    try:
        return float(np.add.accumulate(values)[-1])
    finally:
        values[0] = first


def _ranks(p: float, n: int) -> tuple[int, int]:
    i = (p / 100) * (n - 1.0)
    return math.floor(i), math.ceil(i)


def _keys(chunk: np.ndarray) -> np.ndarray:
    """float64 → uint64 whose unsigned order is the float order."""
    bits = chunk.view(np.uint64)
    neg = (bits >> np.uint64(63)).astype(bool)
    return np.where(neg, ~bits, bits | np.uint64(1 << 63))


def _unkey(key: int) -> float:
    bits = key ^ (1 << 63) if key >> 63 else ~key & 0xFFFFFFFFFFFFFFFF
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


def select_ranks(
    chunks: Callable[[], Iterable[np.ndarray]], n: int, ranks: Sequence[int], gather: int = 0
) -> dict[int, float]:
    """The values of the given 0-based ranks in sorted order, exactly, reading the data
    (``chunks()``: a fresh iterator of float64 arrays each call) a few times.

    Each pending rank narrows a prefix of the order-preserving key 16 bits per pass
    (a histogram of the next digit among the values sharing the prefix) until its
    bucket holds at most ``gather`` values, which are then collected and partitioned.
    """
    gather = gather or GATHER
    out: dict[int, float] = {}
    # rank -> (prefix, shift, size of the prefix's set, rank within it)
    pending = {r: (0, 64, n, r) for r in ranks}
    while pending:
        by_prefix: dict[tuple[int, int], list[int]] = {}
        for r, (prefix, shift, _, _) in pending.items():
            by_prefix.setdefault((prefix, shift), []).append(r)
        hist: dict[tuple[int, int], np.ndarray] = {}
        found: dict[tuple[int, int], list[np.ndarray]] = {}
        for (prefix, shift), rs in by_prefix.items():
            size = pending[rs[0]][2]
            if shift == 0:  # every value of the set has this exact bit pattern
                for r in rs:
                    out[r] = _unkey(prefix)
                    del pending[r]
            elif size <= gather:
                found[(prefix, shift)] = []
            else:
                hist[(prefix, shift)] = np.zeros(1 << _DIGIT, dtype=np.int64)
        if not hist and not found:
            continue
        for chunk in chunks():
            keys = _keys(chunk)
            for (prefix, shift), h in hist.items():
                sel = keys if shift == 64 else keys[(keys >> np.uint64(shift)) == np.uint64(prefix)]
                digit = (sel >> np.uint64(shift - _DIGIT)) & np.uint64((1 << _DIGIT) - 1)
                h += np.bincount(digit.astype(np.int64), minlength=1 << _DIGIT)
            for (prefix, shift), acc in found.items():
                mask = np.ones(len(keys), dtype=bool) if shift == 64 else (keys >> np.uint64(shift)) == prefix
                acc.append(chunk[mask].copy())
        for key, acc in found.items():
            vals = np.concatenate(acc) if acc else np.zeros(0)
            rs = by_prefix[key]
            within = sorted({pending[r][3] for r in rs})
            part = np.partition(vals, within)
            for r in rs:
                out[r] = float(part[pending[r][3]])
                del pending[r]
        for (prefix, shift), h in hist.items():
            cum = np.cumsum(h)
            for r in by_prefix[(prefix, shift)]:
                _, _, _, k = pending[r]
                d = int(np.searchsorted(cum, k, side="right"))
                below = int(cum[d - 1]) if d else 0
                pending[r] = ((prefix << _DIGIT) | d, shift - _DIGIT, int(h[d]), k - below)
    return out


__all__ = ["CHUNK", "GATHER", "IN_MEMORY", "SealedStore", "ValueStore", "select_ranks", "sequential_sum"]
