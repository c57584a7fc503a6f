"""Every Kubernetes runner's results, from its pod into the run folder while k6 writes them.

k6 in a runner pod writes its JSON output as gzip into a named pipe, which the image's
wrapper streams at :data:`~novaload.runners.k8s_objects.STREAM_PATH` (see
:mod:`k8s_image`): nothing of it is kept on the pod's disk, however long the test. A
:class:`ResultsStream` reads that stream through the API server's pod proxy (which reaches
a pod wherever the cluster runs, pod IPs routable from here or not) and writes it into the
runner's results file in the run folder as ``--raw`` asks (:class:`ResultsSink`): plain JSON
(``json``), the gzip as received (``json.gz``), or into the named pipe the live scan reads
(``none``). The pipeline's live scan follows those files exactly as it follows the local
and Docker runners', so the report is ready as soon as the last runner's stream ends.

A stream is *complete* when gzip's end-of-stream marker arrived (k6 closed its output). A
stream cut short (the pod died, the connection broke) keeps what arrived in the run folder,
where ``novaload report RUN_FOLDER`` reads it again, and says how it ended; the runner
reports it. Once a stream broke, the runner's later bytes cannot be decompressed (a gzip
stream has no resynchronisation points): they are read and dropped so k6, which waits on a
full pipe, runs on. An image whose wrapper predates streaming answers 404: its results are
copied once k6 has exited (:func:`copy_file`), through the same sink.
"""

from __future__ import annotations

import stat
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from novaload.runners import k8s_objects as objects
from novaload.runners.k8s_cluster import Cluster, proxy_errors
from novaload.sched import yield_to_k6

CHUNK = 1 << 16
_RETRY_S = 1.0
# A stream that ends after its runner's k6 has exited may still be draining what k6 wrote
# last; it is given this long past the last byte before it is cut.
QUIET_S = 15.0


class ResultsSink:
    """One runner's results file in the run folder, written from the gzip k6 sent.

    The stream is always decompressed as it comes, so the sink knows when gzip's
    end-of-stream marker arrived; ``json`` writes the decompressed text, ``json.gz`` and a
    named pipe (``--raw none``, the live scan decompresses) the bytes as received.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.pipe = target.exists() and stat.S_ISFIFO(target.stat().st_mode)
        self.plain = not self.pipe and not target.name.endswith(".gz")
        self._dec: Any = zlib.decompressobj(wbits=31)
        self._out: IO[bytes] | None = None
        self.received = 0  # bytes of gzip
        self.text_bytes = 0  # bytes of k6's JSON in them
        self.damaged: str | None = None

    @property
    def complete(self) -> bool:
        return self.received > 0 and self.damaged is None and bool(self._dec.eof)

    def write(self, data: bytes) -> None:
        if self._out is None:
            # A pipe blocks here until the live scan has it open (it opens it at once).
            self._out = open(self.target, "wb")  # noqa: SIM115 - closed by close()
        self.received += len(data)
        text = b""
        if self.damaged is None and not self._dec.eof:
            try:
                text = self._dec.decompress(data)
            except zlib.error as exc:
                self.damaged = f"gzip: {exc}"
            self.text_bytes += len(text)
        if self.plain:
            if text:
                self._out.write(text)
        else:
            self._out.write(data)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


@dataclass(slots=True)
class StreamState:
    """How one runner's stream went (``k8s-runners.json`` and the report's notes)."""

    streamed: bool = False  # the wrapper streamed (else: copied after the run, or nothing)
    complete: bool = False
    received: int = 0  # bytes over the API server
    text_bytes: int = 0  # k6's JSON in them
    ended_at: datetime | None = None  # when its last byte arrived (the end of the stream)
    broke: str | None = None  # why it ended early, when it did
    dropped: int = 0  # bytes read after it broke, not decodable

    def record(self) -> dict[str, object]:
        """For ``k8s-runners.json``."""
        return {
            "streamed": self.streamed,
            "complete": self.complete,
            "bytes_received": self.received,  # gzip, over the API server
            "json_bytes": self.text_bytes,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended_early": self.broke,
            "bytes_dropped": self.dropped,
        }


class ResultsStream:
    """Reads one runner's results stream in a thread (see the module docstring)."""

    def __init__(
        self,
        cluster: Cluster,
        pod: str,
        port: int,
        target: Path,
        say: Callable[[str], None],
        label: str,
    ) -> None:
        self.cluster = cluster
        self.pod = pod
        self.port = port
        self.sink = ResultsSink(target)
        self.say = say
        self.label = label  # "runner 2/3"
        self.state = StreamState()
        self.unsupported = False  # the image's wrapper does not stream (404)
        self.last_byte_at = time.monotonic()
        self._stop = threading.Event()
        self._resp: Any = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"novaload-k8s-stream-{pod}", daemon=True)
        self._errors = proxy_errors()

    def start(self) -> ResultsStream:
        self._thread.start()
        return self

    @property
    def ended(self) -> bool:
        return not self._thread.is_alive()

    def finish(self, quiet_s: float = QUIET_S) -> StreamState:
        """Wait until the stream ends by itself while bytes keep coming (at most
        ``quiet_s`` of silence), then cut it; returns how it went."""
        while self._thread.is_alive():
            self._thread.join(0.2)
            if time.monotonic() - self.last_byte_at > quiet_s:
                break
        self.stop()
        return self.state

    def stop(self) -> None:
        """End the stream now (the run is over or was killed); what arrived is kept."""
        self._stop.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            _shutdown(resp)
        self._thread.join(10)
        self.sink.close()

    # -- the thread --

    def _run(self) -> None:
        yield_to_k6()
        try:
            while not self._stop.is_set():
                if self._read_once():
                    return
                self._stop.wait(_RETRY_S)
        finally:
            self._settle()

    def _read_once(self) -> bool:
        """One request; True when the stream is over for good."""
        from kubernetes.client.exceptions import ApiException

        try:
            resp = self.cluster.proxy("GET", self.pod, self.port, objects.STREAM_PATH, timeout=(10, None))
        except ApiException as exc:
            if exc.status == 404 and self.sink.received == 0:
                self.unsupported = True  # copied after the run (copy_file)
                return True
            return False  # not reachable (yet, or any more): try again until stopped
        except self._errors:
            return False
        with self._lock:
            self._resp = resp
        self.state.streamed = True
        broken_before = self.state.broke is not None
        error: str | None = None
        try:
            for chunk in resp.stream(CHUNK):
                self.last_byte_at = time.monotonic()
                if self.state.broke is not None:
                    self.state.dropped += len(chunk)
                    continue
                self.sink.write(chunk)
        except self._errors as exc:
            error = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        except AttributeError:
            # stop() shut the response while this thread was inside http.client's read,
            # which then finds its file gone (fp is None): the cut stop() asked for.
            if not self._stop.is_set():
                raise
            error = "cut when the run ended"
        finally:
            with self._lock:
                self._resp = None
            resp.release_conn()
        if self.sink.complete or broken_before:
            return self.sink.complete
        if self.sink.received == 0 and error is None:
            return True  # k6 never wrote (it failed before its outputs started): nothing to keep
        if self._stop.is_set() and error is not None:
            error = "cut when the run ended"
        self.state.broke = error or self.sink.damaged or "the stream ended before gzip's end-of-stream marker"
        self.say(
            f"k8s: {self.label}: its results stream broke after {_mb(self.sink.received)} "
            f"({self.state.broke}); what arrived is kept in {self.sink.target.name}"
        )
        return False  # read on (and drop), so k6 never waits on a full pipe

    def _settle(self) -> None:
        state = self.state
        state.complete = self.sink.complete
        state.received = self.sink.received
        state.text_bytes = self.sink.text_bytes
        if state.received:
            state.ended_at = datetime.now(UTC) - _since(self.last_byte_at)
        if state.received and not state.complete and state.broke is None:
            state.broke = self.sink.damaged or "the stream ended before gzip's end-of-stream marker"


def copy_file(cluster: Cluster, pod: str, port: int, remote: str, target: Path) -> StreamState:
    """The whole results file of an image that does not stream, once k6 has exited."""
    sink = ResultsSink(target)
    resp = cluster.proxy("GET", pod, port, remote, timeout=(10, 120))
    try:
        for chunk in resp.stream(1 << 20):
            sink.write(chunk)
    finally:
        resp.release_conn()
        sink.close()
    return StreamState(
        complete=sink.complete,
        received=sink.received,
        text_bytes=sink.text_bytes,
        ended_at=datetime.now(UTC),
        broke=None if sink.complete else (sink.damaged or "the file ends before gzip's end-of-stream marker"),
    )


def _shutdown(resp: Any) -> None:
    """Unblock a read in another thread (urllib3's ``shutdown``), then close."""
    for call in (getattr(resp, "shutdown", None), resp.close):
        try:
            if call is not None:
                call()
        except (OSError, AttributeError, ValueError, RuntimeError):
            pass  # already released or closed: nothing is reading


def _since(monotonic_at: float) -> timedelta:
    return timedelta(seconds=max(0.0, time.monotonic() - monotonic_at))


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


__all__ = ["QUIET_S", "ResultsSink", "ResultsStream", "StreamState", "copy_file"]
