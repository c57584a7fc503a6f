"""Where a Kubernetes runner's gzip stream lands in the run folder, as ``--raw`` asks
(no cluster needed): plain JSON, the gzip as sent, or the live scan's named pipe; and
whether the stream was complete (gzip's end-of-stream marker) or cut short."""

from __future__ import annotations

import gzip
import os
import threading
import zlib
from pathlib import Path

import pytest

from novaload.runners.k8s_stream import ResultsSink

TEXT = b"".join(
    b'{"metric":"http_reqs","type":"Point","data":{"time":"2026-01-01T00:00:%02d.5Z","value":1,"tags":{}}}\n'
    % (i % 60)
    for i in range(5000)
)


def _gzip_pieces(text: bytes, cut: bool = False) -> list[bytes]:
    """k6's gzip as it arrives: in pieces, with the trailer last (or not at all)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = b"".join(
        comp.compress(text[i : i + 7000]) + comp.flush(zlib.Z_SYNC_FLUSH) for i in range(0, len(text), 7000)
    )
    if not cut:
        data += comp.flush()
    else:
        data = data[: len(data) // 2]
    return [data[i : i + 1000] for i in range(0, len(data), 1000)]


def _feed(sink: ResultsSink, pieces: list[bytes]) -> None:
    for piece in pieces:
        sink.write(piece)
    sink.close()


@pytest.mark.parametrize("name", ["k6-results-1of3.json", "k6-results-1of3.json.gz"])
def test_a_complete_stream_lands_as_raw_asks(tmp_path: Path, name: str) -> None:
    pieces = _gzip_pieces(TEXT)
    sink = ResultsSink(tmp_path / name)
    _feed(sink, pieces)
    assert sink.complete
    assert sink.received == sum(map(len, pieces)) and sink.text_bytes == len(TEXT)
    kept = (tmp_path / name).read_bytes()
    assert (gzip.decompress(kept) if name.endswith(".gz") else kept) == TEXT


def test_a_named_pipe_gets_the_gzip_as_sent(tmp_path: Path) -> None:
    """``--raw none``: the live scan reads the pipe (and decompresses it)."""
    pipe = tmp_path / "k6-results-1of2.pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    pieces = _gzip_pieces(TEXT)
    sink = ResultsSink(pipe)
    _feed(sink, pieces)
    reader.join(10)
    assert sink.complete and b"".join(got) == b"".join(pieces)


def test_a_stream_cut_short_keeps_what_arrived_and_is_not_complete(tmp_path: Path) -> None:
    sink = ResultsSink(tmp_path / "k6-results.json")
    _feed(sink, _gzip_pieces(TEXT, cut=True))
    assert not sink.complete and sink.damaged is None
    kept = (tmp_path / "k6-results.json").read_bytes()
    assert 0 < len(kept) < len(TEXT) and TEXT.startswith(kept)


def test_a_damaged_stream_is_named_and_not_complete(tmp_path: Path) -> None:
    pieces = _gzip_pieces(TEXT)
    pieces[3] = b"\xff" * len(pieces[3])
    sink = ResultsSink(tmp_path / "k6-results.json")
    _feed(sink, pieces)
    assert not sink.complete and sink.damaged is not None and sink.damaged.startswith("gzip: ")


def test_nothing_is_created_for_a_stream_that_sent_nothing(tmp_path: Path) -> None:
    sink = ResultsSink(tmp_path / "k6-results.json")
    sink.close()
    assert not sink.complete and not (tmp_path / "k6-results.json").exists()


def test_stopping_a_stream_mid_read_ends_its_thread_cleanly(tmp_path: Path) -> None:
    """``stop()`` shuts the response while the stream's thread is inside a read; urllib3
    then raises from deep in http.client (seen: AttributeError on a closed fp). The thread
    must end as a cut stream, never with an unhandled exception. A real chunked HTTP
    response from a loopback server stands in for the API server's proxy."""
    import http.server
    import time

    import urllib3

    from novaload.runners.k8s_stream import ResultsStream

    pieces = _gzip_pieces(TEXT * 20)

    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for piece in pieces:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    time.sleep(0.002)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pool = urllib3.PoolManager()
    url = f"http://127.0.0.1:{server.server_address[1]}/stream"

    class Cluster:
        def proxy(self, *args: object, **kwargs: object) -> urllib3.BaseHTTPResponse:
            return pool.request("GET", url, preload_content=False)

    crashed: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: crashed.append(args.exc_value)  # type: ignore[assignment,misc]
    try:
        for i in range(15):
            stream = ResultsStream(Cluster(), "pod", 1, tmp_path / f"r{i}.json", lambda _: None, "runner 1/1")  # type: ignore[arg-type]
            stream.start()
            deadline = time.monotonic() + 10
            while stream.sink.received < 20_000 * (i % 5 + 1) and time.monotonic() < deadline:
                time.sleep(0.001)
            stream.stop()
            assert stream.ended and not stream.state.complete and stream.state.broke
    finally:
        threading.excepthook = previous
        server.shutdown()
        server.server_close()
    assert crashed == []
