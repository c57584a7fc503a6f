"""Reading k6 output while it is written: the live scan equals the scan of the file.

A writer thread replays a real k6 output in uneven pieces (lines cut anywhere, pauses
between pieces) into a plain file, a gzip file and a named pipe, as k6 would while it
runs; the live scan follows it and must give exactly the figures and tables of
``ingest`` on the finished file.
"""

from __future__ import annotations

import gzip
import os
import random
import threading
import time
import zlib
from pathlib import Path

import pandas as pd
import pytest

from novaload.results import fastscan
from novaload.results import live as live_mod
from novaload.results.ingest import ingest
from novaload.results.live import LiveScan
from novaload.results.summary import summary_document

pytestmark = pytest.mark.k6
FRAMES = ("endpoints", "statuses", "errors", "scenarios", "groups", "checks", "timeseries", "histogram")


@pytest.fixture(autouse=True)
def _built():
    if not fastscan.available():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("the C scanner is not built")


def _pieces(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        n = rng.choice([1, 7, 300, 4096, 65536, 300_000])
        out.append(data[at : at + n])
        at += n
    return out


def _write_slowly(path: Path, pieces: list[bytes], *, pipe: bool = False) -> threading.Thread:
    def work() -> None:
        fd = os.open(path, os.O_WRONLY | (0 if pipe else os.O_CREAT | os.O_TRUNC), 0o644)
        try:
            for i, piece in enumerate(pieces):
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view) :]
                if i % 50 == 0:
                    time.sleep(0.01)
        finally:
            os.close(fd)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


def _assert_same(live_res, file_res) -> None:
    assert summary_document(live_res)["metrics"] == summary_document(file_res)["metrics"]
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(live_res, frame), getattr(file_res, frame), check_exact=True)
    assert live_res.points == file_res.points and live_res.lines == file_res.lines
    assert live_res.input_bytes == file_res.input_bytes


@pytest.mark.parametrize("buffer", [None, 64], ids=["buffer", "lines-longer-than-the-buffer"])
@pytest.mark.parametrize("kind", ["plain", "gzip", "pipe"])
def test_following_a_growing_output_gives_the_file_figures(k6_runs, tmp_path, kind, buffer, monkeypatch):
    run = k6_runs("mixed.js")
    data = run.json.read_bytes()
    expected = ingest([run.json], k6_summary=run.export)
    monkeypatch.setattr(fastscan, "FLUSH_POINTS", 100)  # many store chunks while following
    if buffer:  # every line outgrows the reused buffer: it grows, and shrinks back once fed
        monkeypatch.setattr(live_mod, "BUFFER_BYTES", buffer)
    target = tmp_path / ("k6-results.json.gz" if kind == "gzip" else "k6-results.json")
    if kind == "pipe":
        os.mkfifo(target)
    # started before the file exists, as the pipeline does before k6 starts
    live = LiveScan([target], poll_s=0.005).start()
    time.sleep(0.05)
    if kind == "gzip":  # k6 gzips as it goes: several flushes, then the trailer
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        body = [comp.compress(p) + comp.flush(zlib.Z_SYNC_FLUSH) for p in _pieces(data, 1)]
        pieces = body + [comp.flush()]
    else:
        pieces = _pieces(data, 2)
    writer = _write_slowly(target, pieces, pipe=kind == "pipe")
    writer.join(60)
    got = ingest([target], k6_summary=run.export, live=live.finish(timeout=30))
    if kind == "gzip":
        assert gzip.decompress(target.read_bytes()) == data
    _assert_same(got, expected)


@pytest.mark.parametrize("kind", ["gzip", "gzip-pipe"])
def test_a_gzip_stream_cut_short_gives_the_figures_of_its_file(k6_runs, tmp_path, kind):
    """What a Kubernetes runner that died mid-stream sent: the live scan reads the lines
    before the cut, as ``novaload report`` on the file does, and warns the same way."""
    run = k6_runs("mixed.js")
    data = run.json.read_bytes()
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    stream = b"".join(comp.compress(p) + comp.flush(zlib.Z_SYNC_FLUSH) for p in _pieces(data, 3))
    cut = stream[: len(stream) * 2 // 3]
    kept = tmp_path / "kept.json.gz"
    kept.write_bytes(cut)
    expected = ingest([kept])
    target = tmp_path / "k6-results.json.gz"
    if kind == "gzip-pipe":
        os.mkfifo(target)
    live = LiveScan([target], poll_s=0.005).start()
    _write_slowly(target, _pieces(cut, 4), pipe=kind == "gzip-pipe").join(60)
    got = ingest([target], live=live.finish(timeout=30))
    assert 0 < got.value("http_reqs", "count") < ingest([run.json]).value("http_reqs", "count")
    assert summary_document(got)["metrics"] == summary_document(expected)["metrics"]
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(got, frame), getattr(expected, frame), check_exact=True)
    # --raw none kept no file to look into again: the cut counts as one skipped line
    said = (
        "skipped 1 invalid line" if kind == "gzip-pipe" else "compressed stream ends before its end-of-stream"
    )
    assert any(said in w for w in got.warnings), got.warnings


@pytest.mark.parametrize("kind", ["file", "pipe"])
def test_the_scan_thread_lets_k6_go_first_while_following(tmp_path, kind):
    """SCHED_BATCH while k6 runs: waking up, the scan does not preempt k6's threads (and
    not SCHED_IDLE: starved while holding the GIL, it would stall all of novaload)."""
    target = tmp_path / "k6-results.json"
    if kind == "pipe":
        os.mkfifo(target)
    live = LiveScan([target], poll_s=0.005).start()
    try:
        deadline = time.monotonic() + 10
        while live._thread is None or live._thread.native_id is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        tid = live._thread.native_id
        while os.sched_getscheduler(tid) != os.SCHED_BATCH and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.sched_getscheduler(tid) == os.SCHED_BATCH
    finally:
        live.abandon()


def test_what_is_left_when_k6_exits_is_read_by_the_caller(k6_runs, tmp_path):
    """The follower may be far behind (SCHED_IDLE on a busy machine): finish() reads the
    rest in its own thread, whatever the follower got to."""
    run = k6_runs("mixed.js")
    target = tmp_path / "k6-results.json"
    live = LiveScan([target], poll_s=3600).start()  # the follower looks once, then sleeps
    time.sleep(0.1)
    target.write_bytes(run.json.read_bytes())
    got = ingest([target], k6_summary=run.export, live=live.finish(timeout=30))
    _assert_same(got, ingest([run.json], k6_summary=run.export))


def test_two_instances_share_one_time_origin(k6_runs, tmp_path):
    """A split run: windows start at the earliest first sample of all instances."""
    run = k6_runs("mixed.js")
    lines = run.json.read_bytes().splitlines(keepends=True)
    a, b = tmp_path / "k6-results-1of2.json", tmp_path / "k6-results-2of2.json"
    head = [ln for ln in lines if b'"Metric"' in ln]
    points = [ln for ln in lines if b'"Metric"' not in ln]
    a_data = b"".join(head + points[::2])
    b_data = b"".join(head + points[1::2])
    live = LiveScan([a, b], poll_s=0.005).start()
    wb = _write_slowly(b, _pieces(b_data, 3))
    time.sleep(0.05)  # the second instance starts writing first
    wa = _write_slowly(a, _pieces(a_data, 4))
    wa.join(60)
    wb.join(60)
    got = ingest([a, b], k6_summary=run.export, live=live.finish(timeout=30))
    _assert_same(got, ingest([a, b], k6_summary=run.export))


def test_an_instance_that_wrote_nothing_is_skipped_with_a_warning(k6_runs, tmp_path):
    run = k6_runs("mixed.js")
    a, b = tmp_path / "k6-results-1of2.json", tmp_path / "k6-results-2of2.json"
    b.write_bytes(b"")
    live = LiveScan([a, b], poll_s=0.005).start()
    _write_slowly(a, _pieces(run.json.read_bytes(), 5)).join(60)
    got = ingest([a, b], k6_summary=run.export, live=live.finish(timeout=30))
    assert any("k6-results-2of2.json" in w and "skipped" in w for w in got.warnings)
    assert got.value("http_reqs", "count") == ingest([run.json]).value("http_reqs", "count")


def test_recent_p95_is_k6s_p95_of_the_last_seconds_read(k6_runs, tmp_path, monkeypatch):
    """The live display's p95 comes from the samples read so far (k6's REST API would
    sort every sample of the run on each poll)."""
    import json

    import numpy as np

    from novaload.results import live as live_mod
    from novaload.results.stats import percentiles

    run = k6_runs("mixed.js")
    monkeypatch.setattr(live_mod, "DRAIN_S", 0.0)  # every read goes to the store and the p95
    target = tmp_path / "k6-results.json"
    scan = LiveScan([target], poll_s=0.005).start()
    assert scan.recent_p95() is None
    _write_slowly(target, _pieces(run.json.read_bytes(), 6)).join(60)
    deadline = time.monotonic() + 10
    values = [
        json.loads(line)["data"]["value"]
        for line in run.json.read_text().splitlines()
        if '"http_req_duration"' in line and '"Point"' in line
    ]
    expected = percentiles(np.array(values), [95.0])[95.0]
    while scan.recent_p95() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scan.recent_p95() == expected  # everything was read within the last seconds
    scan.finish(timeout=30)


def _thread_cpu_s(tid: int) -> float:
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_pipe_k6_has_closed_does_not_keep_the_scan_awake(k6_runs, tmp_path):
    """After k6 closes its end the pipe polls as hung up for ever; the scan must go back
    to sleeping, not spin on it until novaload asks for the result."""
    run = k6_runs("mixed.js")
    target = tmp_path / "k6-results.json"
    os.mkfifo(target)
    live = LiveScan([target], poll_s=0.05).start()
    _write_slowly(target, _pieces(run.json.read_bytes(), 6), pipe=True).join(60)
    time.sleep(0.2)  # the rest is read
    assert live._thread is not None and live._thread.native_id is not None
    before = _thread_cpu_s(live._thread.native_id)
    time.sleep(1.0)
    idle_cpu = _thread_cpu_s(live._thread.native_id) - before
    got = ingest([target], k6_summary=run.export, live=live.finish(timeout=30))
    assert idle_cpu < 0.3, f"the scan thread used {idle_cpu:.2f} CPU-s in 1 s of nothing to read"
    assert got.value("http_reqs", "count") == ingest([run.json]).value("http_reqs", "count")
