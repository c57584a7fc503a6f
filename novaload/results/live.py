"""Reading k6's JSON output while k6 writes it: the results scan during the run.

A :class:`LiveScan` follows each results file of a run (one per k6 instance) like
``tail -f`` from a background thread: it reads what has been appended, decompresses
it when the file is gzip (``--raw json.gz``), and feeds whole lines to the same C
scanner the file scan uses, keeping a partial last line for the next read; kept trend
values go to the on-disk store as they come. A results "file" may also be a named
pipe (``--raw none``): then nothing but the compact store is ever written.

When k6 has exited, :meth:`LiveScan.finish` reads the little that is left and
returns a :class:`LiveResult`, which :func:`novaload.results.ingest.ingest` turns
into figures exactly as if it had scanned the finished files (the scan of a finished
file is the same code: scanner, slow lines, group merge, store). So the report of a
run of any length is ready a fraction of a second after k6 ends.

Time windows start at the first sample of the run (the earliest first Point of all
instances), as in the file scan: the scanners are created once every instance has
written its first Point (or ended); until then the bytes wait in memory.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import stat
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novaload.results.sources import GZIP_CUT_SHORT, Source, parse_time_us
from novaload.sched import yield_to_k6

if TYPE_CHECKING:
    from novaload.results.scan import ScanResult

# The scan itself (numpy, pandas) is imported by the scan's thread once k6 writes: a
# LiveScan is made and started before k6 starts, and k6 must not wait for those imports.

READ_BYTES = 8 << 20  # gzip input, and the first bytes of any (until plain or gzip is known)
BUFFER_BYTES = 2 << 20  # plain text per follower (grows for a longer line)
# k6's JSON output is written in batches every 200 ms (output/json: flushPeriod): a file is
# looked at as often, and not more, every wake-up being a turn taken from k6.
POLL_S = 0.2
DRAIN_S = 1.0  # kept values go to the store at least this often (and feed the live p95)
RECENT_S = 10.0  # the live p95 covers about this many seconds of samples
LATENCY = b"http_req_duration"
_F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20  # a bigger pipe buffer: k6 never waits for a reader's short pause


@dataclass(slots=True)
class LiveResult:
    """A finished live scan: what ``ingest`` needs instead of reading the files."""

    sources: list[Source]  # the instances that wrote something, in instance order
    empty: list[Path]  # instances that wrote nothing
    origin_us: int
    window_s: float
    scan: ScanResult
    input_bytes: int  # uncompressed bytes read


class _Follower:
    """One results file (or pipe) read as it grows.

    Text not yet fed sits at the front of one reused buffer (``buf[:have]``): plain
    output is read straight into it and fed to the scanner from there, so a byte is
    copied once, from the page cache or the pipe. Fresh buffers for every read (and a
    copy of them for the scanner) cost far more than the scan itself, mostly in the
    kernel zeroing the new pages, and that CPU is taken from the k6 running beside.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.is_pipe = False
        self.gzip: bool | None = None  # unknown until two bytes were read
        self.raw = b""  # read but not yet known plain or gzip
        self.dec: Any = None
        self.buf = bytearray()  # allocated on the first read: an instance may write nothing
        self.have = 0  # text in buf not yet fed (a partial line, or all of it before the scanner exists)
        self.first_us: int | None = None
        self.first_checked = 0  # bytes of ``buf`` already searched for the first Point
        self.nbytes = 0  # decompressed bytes
        self.scanner: Any = None
        self.slow: list[bytes] = []
        self.gzip_error: str | None = None
        self.hung_up = False  # a pipe whose writer (k6) has closed it

    def _open(self) -> bool:
        if self.fd is not None:
            return True
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return False
        self.is_pipe = stat.S_ISFIFO(mode)
        # non-blocking: opening a pipe for reading must not wait for its writer
        self.fd = os.open(self.path, os.O_RDONLY | (os.O_NONBLOCK if self.is_pipe else 0))
        if self.is_pipe:
            try:
                fcntl.fcntl(self.fd, _F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:  # above /proc/sys/fs/pipe-max-size: keep the default
                pass
        return True

    def _room(self, need: int) -> None:
        """At least ``need`` free bytes after the text (the buffer doubles as needed:
        before the scanner exists, or for a line longer than the buffer)."""
        size = len(self.buf) or BUFFER_BYTES
        while size - self.have < need:
            size *= 2
        if size != len(self.buf):
            self._resize(size)

    def _resize(self, size: int) -> None:
        """A new buffer of ``size`` bytes holding the text not yet fed."""
        fresh = bytearray(size)
        fresh[: self.have] = memoryview(self.buf)[: self.have]
        self.buf = fresh

    def read(self) -> int:
        """Append what was written since the last call (decompressed) to the buffer;
        the number of bytes appended, 0 when nothing."""
        if not self._open():
            return 0
        assert self.fd is not None
        try:
            if self.gzip is False:
                self._room(1)  # doubles a full buffer
                with memoryview(self.buf) as view:
                    n = os.readv(self.fd, [view[self.have :]])
                self.have += n
                self.nbytes += n
                return n
            data = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise
        if not data:
            return 0
        if self.gzip is None:
            self.raw += data
            if len(self.raw) < 2:
                return 0
            self.gzip = self.raw[:2] == b"\x1f\x8b"
            data, self.raw = self.raw, b""
            if self.gzip:
                self.dec = zlib.decompressobj(wbits=31)
        text = self._inflate(data) if self.gzip else data
        self._room(len(text))
        self.buf[self.have : self.have + len(text)] = text
        self.have += len(text)
        self.nbytes += len(text)
        return len(text)

    def _inflate(self, data: bytes) -> bytes:
        if self.gzip_error is not None:
            return b""
        out = []
        try:
            while data:
                out.append(self.dec.decompress(data))
                if not self.dec.eof:
                    break
                data = self.dec.unused_data  # the next gzip member, if any
                if not data.lstrip(b"\x00"):
                    break
                self.dec = zlib.decompressobj(wbits=31)
        except zlib.error as exc:
            self.gzip_error = f"gzip: {exc}"
        return b"".join(out)

    @property
    def cut_short(self) -> bool:
        """A gzip stream that ended before its end-of-stream marker (k6 stopped mid-write)."""
        return bool(self.gzip) and self.gzip_error is None and self.dec is not None and not self.dec.eof

    def find_first_point(self) -> bool:
        """Look for the first complete Point line (the run's first sample)."""
        if self.first_us is not None:
            return True
        buf = self.buf
        start = self.first_checked
        while True:
            nl = buf.find(b"\n", start, self.have)
            if nl < 0:
                self.first_checked = start
                return False
            line = bytes(buf[start:nl])
            start = nl + 1
            if b'"Point"' in line:
                try:
                    self.first_us = parse_time_us(json.loads(line)["data"]["time"])
                except (ValueError, KeyError, TypeError):
                    self.first_us = None
                if self.first_us is None:  # as ``sniff``: a bad first Point gives no origin
                    self.first_us = -1
                return True

    def feed(self, final: bool) -> None:
        """Feed the buffered text's whole lines (all of it when ``final``) to the
        scanner and keep the rest at the front of the buffer."""
        if self.scanner is None:
            return
        with memoryview(self.buf) as view:
            used, slow = self.scanner.feed(view[: self.have], final)
            rest = self.have - used
            if rest and used:
                view[:rest] = bytes(view[used : self.have])  # a partial line: small
        self.slow += slow
        self.have = rest
        self.first_checked = 0
        if len(self.buf) > BUFFER_BYTES and rest <= BUFFER_BYTES // 2:  # grew before the scanner existed
            self._resize(BUFFER_BYTES)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LiveScan:
    """Follows a run's results files from a background thread (see the module doc)."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        window_s: float = 1.0,
        store_dir: Path | None = None,
        poll_s: float = POLL_S,
        windowed: Sequence[str] = (),
    ) -> None:
        self.paths = [Path(p) for p in paths]
        # metrics a windowed threshold judges: kept per time window like the time series'
        self.windowed = tuple(windowed)
        self.window_s = window_s
        self.store_dir = store_dir
        self.poll_s = poll_s
        self._done = threading.Event()
        self._abandoned = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._followers = [_Follower(p) for p in self.paths]
        self._owners: Any = None
        self._origin: int | None = None
        self._last_drain = time.monotonic()
        self._recent: list[tuple[float, Any]] = []  # (monotonic time, http_req_duration values)
        self._recent_lock = threading.Lock()
        self._latency_gids: dict[int, tuple[int, Any]] = {}  # scanner id -> (groups known, mask)
        self._latency_keys: dict[int, Any] = {}  # scanner id -> per key id: http_req_duration?

    def recent_p95(self) -> float | None:
        """k6's p(95) of ``http_req_duration`` over about the last ``RECENT_S`` seconds
        of samples read (all instances), or None before any; for the live display."""
        import numpy as np

        from novaload.results.stats import percentiles

        with self._recent_lock:
            parts = [v for _, v in self._recent]
        if not parts:
            return None
        values = np.concatenate(parts)
        return percentiles(values, [95.0])[95.0] if len(values) else None

    def _on_drain(self, sc: Any, values: bytes, gids: bytes, counts: bytes) -> None:
        """Keep the drained chunk's ``http_req_duration`` values for the live p95."""
        import numpy as np

        g = np.frombuffer(gids, dtype=np.uint32)
        if not len(g):
            return
        known, mask = self._latency_gids.get(id(sc), (0, np.zeros(0, dtype=bool)))
        if int(g.max()) >= known:  # new groups since the last look: which are latencies
            keys = np.frombuffer(sc.group_keys(known), dtype=np.uint32)
            flags = self._latency_keys.get(id(sc), np.zeros(0, dtype=bool))
            if len(keys) and int(keys.max()) >= len(flags):  # new (metric, tags) pairs too
                key_list = sc.keys()  # the scanner's (metric, tags) pairs, not a dict
                flags = np.array([m == LATENCY for m, _ in key_list], dtype=bool)
                self._latency_keys[id(sc)] = flags
            mask = np.concatenate([mask, flags[keys]])
            known = len(mask)
            self._latency_gids[id(sc)] = (known, mask)
        per_value = np.repeat(mask[g], np.frombuffer(counts, dtype=np.int64))
        mine = np.frombuffer(values, dtype=np.float64)[per_value]
        now = time.monotonic()
        with self._recent_lock:
            self._recent.append((now, mine.copy()))
            self._recent = [(t, v) for t, v in self._recent if now - t <= RECENT_S]

    @staticmethod
    def available() -> bool:
        """Whether the C scanner is built (``fastscan.available``, without importing
        ``fastscan``'s numpy and pandas)."""
        try:
            from novaload.results import _k6fast  # type: ignore[attr-defined]  # noqa: F401
        except ImportError:
            return False
        return True

    def start(self) -> LiveScan:
        self._thread = threading.Thread(target=self._run, name="novaload-live-scan", daemon=True)
        self._thread.start()
        return self

    def abandon(self) -> None:
        """The run failed before k6 ended normally: stop following (the thread ends on
        its own once the files stop growing; pipes are emptied until then)."""
        self._abandoned = True
        self._done.set()

    def finish(self, timeout: float | None = None) -> LiveResult:
        """k6 has exited: read what is left, return the scan (raises what went wrong).

        The rest is read here, in the caller's ordinary thread, not by the follower
        (batch work, which may have fallen behind a busy k6)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("the live results scan did not finish in time")
        try:
            if self._error is not None:
                raise self._error
            while self._pump():
                pass
            self._start_scanners(force=True)
            for f in self._followers:
                f.feed(final=not f.cut_short)
                if f.cut_short:
                    f.have = 0  # the partial line a cut gzip stream ends with, as the file scan drops it
            return self._finish()
        finally:
            self._close()

    def _close(self) -> None:
        for f in self._followers:
            f.close()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        yield_to_k6()
        try:
            self._follow()
        except BaseException as exc:  # noqa: BLE001 - handed to finish()'s caller
            self._error = exc
            self._discard()
        finally:
            if self._abandoned:
                self._close()

    def _discard(self) -> None:
        """After a failure keep emptying pipes until k6 ends, so k6 never blocks on them."""
        while not self._done.is_set():
            idle = True
            for f in self._followers:
                try:
                    if f.is_pipe and f.fd is not None and os.read(f.fd, READ_BYTES):
                        idle = False
                except OSError:
                    pass
            if idle:
                time.sleep(self.poll_s)

    def _follow(self) -> None:
        """Read as k6 writes until k6 has exited (what is left then is finish()'s)."""
        while not self._done.is_set():
            if not self._pump():
                self._wait()

    def _wait(self) -> None:
        """Until there may be more to read. A file: ``poll_s``. A pipe: until k6 writes
        into it (its buffer holds a fraction of one of k6's batches, and k6 must not wait
        for a reader that sleeps), or ``poll_s``."""
        pipes = {f.fd: f for f in self._followers if f.is_pipe and f.fd is not None and not f.hung_up}
        if not pipes:
            self._done.wait(self.poll_s)
            return
        poller = select.poll()
        for fd in pipes:
            poller.register(fd, select.POLLIN)
        for fd, events in poller.poll(self.poll_s * 1000):
            if events & select.POLLHUP and not events & select.POLLIN:
                pipes[fd].hung_up = True  # k6 closed it: would wake us for ever

    def _pump(self) -> bool:
        moved = False
        for f in self._followers:
            if not f.read():
                continue
            moved = True
            if f.scanner is None and self._owners is None:
                f.find_first_point()
                self._start_scanners(force=False)
            elif f.scanner is None:  # an instance that started writing late
                f.scanner = self._owners.make()
                f.feed(final=False)
            else:
                f.feed(final=False)
                self._owners.drain(f.scanner)
        if self._owners is not None and time.monotonic() - self._last_drain >= DRAIN_S:
            self._last_drain = time.monotonic()
            for f in self._followers:
                if f.scanner is not None and f.scanner.npoints():
                    self._owners.drain(f.scanner, force=True)
        return moved

    def _start_scanners(self, force: bool) -> None:
        if self._owners is not None:
            return
        if not force and not all(f.first_us is not None for f in self._followers):
            return
        from novaload.results import fastscan
        from novaload.results.scan import NON_TREND_BUILTINS, TIMESERIES_METRICS
        from novaload.results.store import ValueStore

        for f in self._followers:  # a file that ends without a newline still has its first line
            if f.first_us is None:
                f.find_first_point()
        firsts = [f.first_us for f in self._followers if f.first_us is not None and f.first_us >= 0]
        self._origin = min(firsts) if firsts else 0
        window_us = max(1, round(self.window_s * 1_000_000))
        timeseries = tuple(dict.fromkeys((*TIMESERIES_METRICS, *self.windowed)))
        make = fastscan.new_scanner_factory(self._origin, window_us, timeseries, NON_TREND_BUILTINS)
        self._owners = fastscan.Owners(make, ValueStore(self.store_dir))
        self._owners.on_drain = self._on_drain
        for f in self._followers:
            if f.nbytes:
                f.scanner = self._owners.make()
                f.feed(final=False)
                self._owners.drain(f.scanner)

    def _finish(self) -> LiveResult:
        from novaload.errors import InputError
        from novaload.results import fastscan
        from novaload.results.scan import NON_TREND_BUILTINS
        from novaload.results.sources import EmptyResultsError

        runs: list[tuple[int, Any, list[bytes]]] = []
        sources: list[Source] = []
        empty: list[Path] = []
        for f in self._followers:
            if f.scanner is None or not f.nbytes:
                empty.append(f.path)
                continue
            if f.gzip_error is not None:
                f.slow.append(b"\x00" + f.gzip_error.encode())
            elif f.cut_short:
                f.slow.append(b"\x00gzip: " + GZIP_CUT_SHORT.encode())
            idx = len(sources)
            first = f.first_us if f.first_us is not None and f.first_us >= 0 else None
            sources.append(Source(f.path, "json", bool(f.gzip), first))
            runs.append((idx, f.scanner, f.slow))
        if not runs:
            raise EmptyResultsError(f"{self.paths[0]}: results file is empty (did k6 write any output?)")
        if self._owners is None:
            raise InputError("no k6 output was read")
        self._owners.on_drain = None
        scan = fastscan.finish(runs, self._owners, NON_TREND_BUILTINS)
        return LiveResult(
            sources=sources,
            empty=empty,
            origin_us=self._origin or 0,
            window_s=self.window_s,
            scan=scan,
            input_bytes=sum(f.nbytes for f in self._followers),
        )


__all__ = ["LiveResult", "LiveScan"]
