"""Unusable or damaged result files: clear InputErrors, or warnings where k6 was killed."""

from __future__ import annotations

import gzip
import json

import pytest

from novaload.errors import InputError
from novaload.results.ingest import ingest

POINT = (
    '{"metric":"http_reqs","type":"Point","data":{"time":"2026-01-01T00:00:0%d.5Z",'
    '"value":1,"tags":{"name":"a","status":"200"}}}'
)
METRIC = (
    '{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default",'
    '"thresholds":[],"submetrics":null},"metric":"http_reqs"}'
)


def _lines(n: int = 5) -> list[str]:
    return [METRIC] + [POINT % i for i in range(n)]


def _write(path, lines, *, newline_at_end=True):
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""))
    return path


def test_truncated_last_line_warns_and_keeps_results(tmp_path):
    lines = _lines() + ['{"metric":"http_reqs","type":"Po']
    src = _write(tmp_path / "k.json", lines, newline_at_end=False)
    res = ingest([src])
    assert res.value("http_reqs", "count") == 5
    assert any(f"k.json:{len(lines)}:" in w and "truncated" in w for w in res.warnings)


def test_truncated_last_line_in_gzip_warns(tmp_path):
    gz = tmp_path / "k.json.gz"
    lines = _lines() + ['{"metric":"http_reqs","ty']
    gz.write_bytes(gzip.compress("\n".join(lines).encode()))
    res = ingest([gz])
    assert res.value("http_reqs", "count") == 5
    assert any("truncated" in w for w in res.warnings)


def _cut_gzip(lines: list[str]) -> bytes:
    """A gzip stream as k6 leaves it when it stops mid-write: flushed blocks, no trailer."""
    import zlib

    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = comp.compress("\n".join(lines).encode()) + comp.flush(zlib.Z_SYNC_FLUSH)
    return data[:-2]  # inside the last block: its partial line is lost with the trailer


def test_a_gzip_stream_cut_short_warns_and_keeps_the_lines_before_it(tmp_path):
    """A Kubernetes runner whose pod died mid-stream leaves such a file in the run folder;
    ``novaload report`` reads it as it reads a plain file's truncated tail."""
    gz = tmp_path / "k.json.gz"
    gz.write_bytes(_cut_gzip(_lines() + ['{"metric":"http_reqs","ty']))
    res = ingest([gz])
    assert res.value("http_reqs", "count") == 5
    assert any("k.json.gz: compressed stream ends before its end-of-stream marker" in w for w in res.warnings)


@pytest.mark.parametrize("where", [0.0, 0.5], ids=["in-its-first-lines", "further-on"])
def test_a_damaged_gzip_stream_is_a_one_line_error(tmp_path, where):
    """Unlike a stream cut short, bytes in the middle are wrong: an InputError naming the
    file (a zlib.error escaped from the first lines' read before)."""
    import random

    rng = random.Random(7)  # lines that do not compress to nothing: the damage lands deep
    lines = [METRIC] + [(POINT % (i % 10)).replace('"a"', f'"{rng.random()}"') for i in range(30_000)]
    data = bytearray(gzip.compress("\n".join(lines).encode()))
    at = int(len(data) * where) + 40
    data[at : at + 20] = b"\xff" * 20
    gz = tmp_path / "k.json.gz"
    gz.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"k\.json\.gz(:\d+)?: (cannot read gzip data|not valid k6 JSON)"):
        ingest([gz])


@pytest.mark.parametrize(
    "garbage",
    ["not json", '{"a": 1}', POINT % 1 + " trailing"],
    ids=["text", "other-json", "trailing-garbage"],
)
def test_invalid_line_in_the_middle_names_file_and_line(tmp_path, garbage):
    lines = _lines()
    lines.insert(3, garbage)
    src = _write(tmp_path / "k.json", lines)
    with pytest.raises(InputError, match=r"k\.json:4: not valid k6 JSON"):
        ingest([src])


def test_lenient_skips_and_counts_invalid_lines(tmp_path):
    lines = _lines()
    lines[2:2] = ["oops", "{]"]
    src = _write(tmp_path / "k.json", lines)
    res = ingest([src], lenient=True)
    assert res.skipped_lines == 2
    assert res.value("http_reqs", "count") == 5
    assert any("skipped 2 invalid" in w and "line 3" in w for w in res.warnings)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\n",
        b"\x89PNG\r\n\x1a\n\x00\x00binary",
        json.dumps({"metrics": {}}).encode(),
        b'[{"type": "Point"}]\n',
    ],
    ids=["empty", "blank", "png", "other-json", "json-array"],
)
def test_foreign_or_empty_files_are_refused(tmp_path, content):
    src = tmp_path / "x.json"
    src.write_bytes(content)
    with pytest.raises(InputError, match="x.json"):
        ingest([src])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ingest([tmp_path / "nope.json"])


def test_no_sources():
    with pytest.raises(InputError):
        ingest([])


def test_unknown_metric_type_is_carried(tmp_path):
    odd = (
        '{"type":"Metric","data":{"name":"odd","type":"histogram","contains":"default",'
        '"thresholds":[],"submetrics":null},"metric":"odd"}'
    )
    pt = '{"metric":"odd","type":"Point","data":{"time":"2026-01-01T00:00:01Z","value":3,"tags":{}}}'
    src = _write(tmp_path / "k.json", _lines() + [odd, pt, pt])
    res = ingest([src])
    assert res.metrics["odd"].type == "histogram"
    assert res.metrics["odd"].values["count"] == 2


def test_csv_output_is_read(tmp_path):
    src = tmp_path / "k.csv"
    src.write_text(
        "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,"
        "method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata\n"
        "http_reqs,1767225600,1.000000,,,,true,,GET,a,HTTP/1.1,default,,200,,,u,,\n"
        "http_req_duration,1767225600,2.500000,,,,true,,GET,a,HTTP/1.1,default,,200,,,u,,\n"
        "http_reqs,1767225601,1.000000,,,,false,,GET,a,HTTP/1.1,default,,404,,,u,,\n"
        "http_req_duration,1767225601,4.500000,,,,false,,GET,a,HTTP/1.1,default,,404,,,u,,\n"
    )
    res = ingest([src])
    assert res.value("http_reqs", "count") == 2
    assert res.value("http_req_duration", "max") == 4.5
    assert res.value("http_req_duration{expected_response:true}", "max") == 2.5


def test_an_empty_segment_beside_others_is_skipped_with_a_warning(k6_runs, tmp_path):
    """A split run's instance with no VUs writes nothing; the merge must still work."""
    run = k6_runs("mixed.js")
    empty = tmp_path / "k6-results-2of2.json"
    empty.write_text("")
    merged = ingest([run.json, empty])
    alone = ingest([run.json])
    assert merged.value("http_reqs", "count") == alone.value("http_reqs", "count")
    assert any("k6-results-2of2.json" in w and "empty" in w for w in merged.warnings)


def test_only_empty_segments_is_an_error(tmp_path):
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for f in files:
        f.write_text("")
    with pytest.raises(InputError, match="a.json: results file is empty"):
        ingest(files)


def test_recognising_a_results_file_reads_its_head_not_the_whole_file(tmp_path) -> None:
    # Every ingest sniffs each source first: reading a whole multi-gigabyte file for its
    # first megabyte held the file in memory once more (peak RSS = file size) and read it twice.
    import tracemalloc

    from novaload.results.sources import HEAD_BYTES, sniff

    path = tmp_path / "big.json"
    block = ("\n".join(POINT % (i % 10) for i in range(1000)) + "\n").encode()
    with path.open("wb") as fh:
        fh.write((METRIC + "\n").encode())
        for _ in range(48 * HEAD_BYTES // len(block)):
            fh.write(block)
    tracemalloc.start()
    try:
        source = sniff(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert source.format == "json" and source.first_us is not None
    assert peak < 4 * HEAD_BYTES, f"sniff allocated {peak:,} bytes for a {path.stat().st_size:,}-byte file"
