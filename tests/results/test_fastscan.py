"""The C fast scan against the DuckDB scan: same figures and tables on awkward input.

The fast path recognises k6's own line layout only; everything else must take the
slow path and still give what the DuckDB reference gives. No k6 needed here.
"""

from __future__ import annotations

import gzip
import json
import math
import os

import pandas as pd
import pytest

from novaload.errors import InputError
from novaload.results import fastscan
from novaload.results.ingest import ingest
from novaload.results.summary import summary_document


@pytest.fixture(autouse=True)
def _extension_built():
    """The C scanner is built by `pip install -e .`; in CI its absence is a failure."""
    if not fastscan.available():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "novaload.results._k6fast is not built (pip install -e . or python setup.py build_ext --inplace)"
        )


FRAMES = (
    "endpoints",
    "statuses",
    "errors",
    "failing_urls",
    "scenarios",
    "groups",
    "checks",
    "timeseries",
    "histogram",
)
METRICS = [
    ("http_reqs", "counter", "default"),
    ("http_req_duration", "trend", "time"),
    ("http_req_failed", "rate", "default"),
    ("vus", "gauge", "default"),
]


def _metric_line(name, mtype, contains, thresholds=()):
    return json.dumps(
        {
            "type": "Metric",
            "data": {
                "name": name,
                "type": mtype,
                "contains": contains,
                "thresholds": list(thresholds),
                "submetrics": None,
            },
            "metric": name,
        },
        separators=(",", ":"),
    )


def _point(metric, time, value, tags, meta=None):
    data = f'{{"time":"{time}","value":{value},"tags":{json.dumps(tags, separators=(",", ":"))}'
    if meta is not None:
        data += f',"metadata":{json.dumps(meta, separators=(",", ":"))}'
    return f'{{"metric":"{metric}","type":"Point","data":{data}}}}}'


def _run_lines(n=400, *, meta=False):
    """A small synthetic run in k6's layout: requests on three endpoints over ~4 s."""
    lines = [_metric_line(*m, thresholds=["p(95)<1"] if m[0] == "http_req_duration" else ()) for m in METRICS]
    for i in range(n):
        sec, frac = divmod(i * 10_000_019, 1_000_000_000)
        t = f"2026-01-01T00:00:{sec:02d}.{frac:09d}Z".replace(".000000000Z", "Z")
        name = ("index", "item", 'we"ird}{name')[i % 3]
        status = "200" if i % 7 else "500"
        tags = {
            "expected_response": str(status == "200").lower(),
            "group": "",
            "method": "GET",
            "name": name,
            "status": status,
            "url": f"http://x/{name}",
        }
        m = {"vu": str(i % 5), "iter": str(i)} if meta and i % 2 else None
        dur = (1.5, 0.30000000000000004, 12.125, 1e-7, 2.5e3, 7, 123456.789012345678)[i % 7]
        lines += [
            _point("http_reqs", t, 1, tags, m),
            _point("http_req_duration", t, dur * (1 + i % 11), tags, m),
            _point("http_req_failed", t, int(status != "200"), tags, m),
        ]
        if i % 50 == 0:
            lines.append(_point("vus", t, i % 13, {}, m))
    return lines


def _write(path, lines, *, gz=False):
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _same(paths, **kw):
    fast = ingest(paths, engine="fast", **kw)
    ref = ingest(paths, engine="duckdb", **kw)
    a, b = summary_document(fast), summary_document(ref)
    for name, values in b["metrics"].items():
        for key, theirs in values.items():
            mine = a["metrics"][name][key]
            if key == "avg":  # summation order may differ in the last bits (≤ 1e-12 rule)
                assert math.isclose(mine, theirs, rel_tol=1e-12), (name, key)
            else:
                assert mine == theirs, (name, key)
    assert a["metrics"].keys() == b["metrics"].keys()
    assert a["novaload"] == b["novaload"]
    for f in FRAMES:
        pd.testing.assert_frame_equal(
            getattr(fast, f).reset_index(drop=True),
            getattr(ref, f).reset_index(drop=True),
            check_dtype=False,
            rtol=1e-12,
            obj=f,
        )
    return fast


def test_k6_layout_matches_duckdb(tmp_path):
    res = _same([_write(tmp_path / "k.json", _run_lines())])
    assert res.value("http_reqs", "count") == 400
    assert 'we"ird}{name' in set(res.endpoints["name"])


def test_values_parse_exactly(tmp_path):
    texts = [
        "0.30000000000000004",
        "1e-7",
        "2.5E+3",
        "-0",
        "123456789012345678",
        "9007199254740993",
        "0.1",
        "1.7976931348623157e308",
        "5e-324",
        "12.000000000000001",
    ]
    lines = [_metric_line("t", "trend", "default")]
    lines += [_point("t", f"2026-01-01T00:00:0{i % 10}Z", v, {}) for i, v in enumerate(texts)]
    res = _same([_write(tmp_path / "k.json", lines)])
    assert res.value("t", "max") == max(float(v) for v in texts)
    assert res.value("t", "min") == min(float(v) for v in texts)


@pytest.mark.parametrize("variant", ["key-order", "spaces", "metadata", "offset-time", "crlf"])
def test_other_layouts_take_the_slow_path_with_equal_results(tmp_path, variant):
    lines = _run_lines(60, meta=variant == "metadata")
    if variant == "key-order":
        lines = [json.dumps(json.loads(ln), sort_keys=True) for ln in lines]
    elif variant == "spaces":
        lines = [json.dumps(json.loads(ln)) for ln in lines]
    elif variant == "offset-time":
        lines = [ln.replace(":00:", ":30:").replace('Z"', '+02:30"') for ln in lines]
    elif variant == "crlf":
        lines = [ln + "\r" for ln in lines]
    res = _same([_write(tmp_path / "k.json", lines)])
    assert res.value("http_reqs", "count") == 60


def test_chunk_and_thread_boundaries_do_not_matter(tmp_path, monkeypatch):
    src = _write(tmp_path / "k.json", _run_lines(3000))
    whole = summary_document(ingest([src], engine="fast", threads=1))
    for mapped in (True, False):
        monkeypatch.setattr(fastscan, "MMAP", mapped)
        monkeypatch.setattr(fastscan, "WINDOW", 1 << 16)  # one allocation granule
        monkeypatch.setattr(fastscan, "CHUNK", 4093)  # lines cross every buffer
        monkeypatch.setattr(fastscan, "MIN_SPLIT", 0)
        split = _same([src], threads=3)
        assert summary_document(split) == whole


def test_gzip_equals_plain_and_segments_merge(tmp_path):
    lines = _run_lines(300)
    plain = _write(tmp_path / "k.json", lines)
    gz = _write(tmp_path / "k.json.gz", lines, gz=True)
    assert (
        summary_document(ingest([plain], engine="fast"))["metrics"]
        == summary_document(ingest([gz], engine="fast"))["metrics"]
    )
    a = _write(tmp_path / "a.json", lines[:500])
    b = _write(tmp_path / "b.json", lines[:4] + lines[500:])
    merged = _same([a, b])
    assert merged.value("http_reqs", "count") == 300


@pytest.mark.parametrize(
    "bad",
    [
        '{"metric":"x","type":"Point","data":{"time":"2026-01-01T00:00:01Z","value":01,"tags":{}}}',
        '{"metric":"x","type":"Point","data":{"time":"2026-01-01T00:00:01Z","value":1,"tags":{"a":}}}',
        '{"metric":"x","type":"Point","data":{"time":"2026-13-01T00:00:01Z","value":1,"tags":{}}}',
        '{"metric":"x","type":"Point","data":{"time":"2026-01-01T00:00:01Z","value":1,"tags":{}}}}',
    ],
    ids=["leading-zero", "bad-tags", "bad-month", "extra-brace"],
)
def test_invalid_lines_are_found_like_duckdb(tmp_path, bad):
    lines = _run_lines(20)
    lines.insert(5, bad)
    src = _write(tmp_path / "k.json", lines)
    for engine in ("fast", "duckdb"):
        with pytest.raises(InputError, match=r"k\.json:6: not valid k6 JSON"):
            ingest([src], engine=engine)
    res = _same([src], lenient=True)
    assert res.skipped_lines == 1


def test_json_and_csv_segments_merge_across_engines(tmp_path):
    """JSON goes through the C scanner, CSV through DuckDB; scan.concat joins them."""
    csv = tmp_path / "b.csv"
    csv.write_text(
        "metric_name,timestamp,metric_value,expected_response,group,method,name,status,url\n"
        "http_reqs,1767225601,1.000000,true,,GET,index,200,http://x/index\n"
        "http_req_duration,1767225601,99.500000,true,,GET,index,200,http://x/index\n"
    )
    src = _write(tmp_path / "a.json", _run_lines(30))
    both = ingest([src, csv], engine="auto")
    alone = ingest([src], engine="fast")
    assert both.value("http_reqs", "count") == alone.value("http_reqs", "count") + 1
    assert both.value("http_req_duration", "max") == max(alone.value("http_req_duration", "max"), 99.5)
    assert both.timeseries["requests"].sum() == alone.timeseries["requests"].sum() + 1
    assert (
        both.endpoints.set_index("name").loc["index", "requests"]
        == alone.endpoints.set_index("name").loc["index", "requests"] + 1
    )


# ----------------------------------------------------------------- regressions (fuzzing)

_K6 = '{"metric":"t","type":"Point","data":{"time":"%s","value":%s,"tags":{}}}'


def _scanner():
    from novaload.results import _k6fast

    return _k6fast.Scanner(0, 1_000_000, b"", b"")


def test_truncation_at_every_offset_stays_in_the_buffer():
    """A line cut anywhere, fed from a buffer that ends at an inaccessible page."""
    import random

    from . import k6fast_fuzz as fuzz

    guard, mod, rng = fuzz.GuardedBuffer(), fuzz.load_module(None), random.Random(0)
    line = (_K6 % ("2026-01-01T00:00:01.5+01:00", "1.25e-3")).encode()
    line = line[:-2] + b',"metadata":{"vu":"1"}}}'
    for cut in range(len(line) + 1):
        fuzz.exercise(mod, line[:cut], rng, guard)


@pytest.mark.parametrize("call", ["feed", "keys", "groups", "release", "npoints"])
def test_uninitialised_scanner_is_refused_not_divided_by_zero(call):
    from novaload.results import _k6fast

    sc = _k6fast.Scanner.__new__(_k6fast.Scanner)
    args = ((_K6 % ("2026-01-01T00:00:01Z", "1")).encode(), True) if call == "feed" else ()
    with pytest.raises(RuntimeError, match="__init__"):
        getattr(sc, call)(*args)


def test_scanner_cannot_be_initialised_twice():
    with pytest.raises(RuntimeError, match="already initialised"):
        _scanner().__init__(0, 5, b"", b"")


def test_scatter_rejects_remaps_out_of_range():
    from novaload.results import _k6fast

    sc = _scanner()
    sc.feed((_K6 % ("2026-01-01T00:00:01Z", "1") + "\n").encode(), True)
    bad = (7).to_bytes(8, "little", signed=True)
    with pytest.raises(ValueError, match="remap out of range"):
        _k6fast.scatter([sc], [bad], 1, b"\x01")


def test_windows_two_to_the_32_apart_are_distinct_groups():
    """Windows 2^32 s apart collided on the low 32 bits of the group map's key."""
    from novaload.results import _k6fast

    sc = _k6fast.Scanner(0, 1, b"t", b"")  # 1 µs windows: 2^32 µs ≈ 71 minutes apart
    lines = [_K6 % ("1970-01-01T00:00:00Z", "1"), _K6 % ("1970-01-01T01:11:34.967296Z", "2")]
    sc.feed(("\n".join(lines) + "\n").encode(), True)
    assert len(sc.groups()["key"]) // 4 == 2


@pytest.mark.parametrize(
    "time",
    [
        "2026-02-29T00:00:01Z",
        "2026-04-31T00:00:01Z",
        "2026-01-01T00:00:60Z",
        "2026-01-01t00:00:01Z",
        "2026-01-01T00:00:01z",
        "2024-02-29T00:00:01Z",
        "2026-01-01 00:00:01Z",
    ],
    ids=["feb29", "apr31", "leap-second", "lower-t", "lower-z", "leap-day", "space"],
)
def test_times_are_judged_like_duckdb(tmp_path, time):
    """The C parser took Feb 31, second 60 and lower-case t/z, which DuckDB rejects."""
    lines = _run_lines(10)
    lines.insert(5, _point("t", time, 3, {}))
    _same([_write(tmp_path / "k.json", lines)], lenient=True)


@pytest.mark.parametrize(
    "value",
    ["1e999", "-1E400", "1" + "0" * 400, "NaN", "Infinity"],
    ids=["1e999", "-1E400", "huge-int", "nan", "infinity"],
)
def test_non_finite_values_are_invalid_lines_in_both_engines(tmp_path, value):
    """strtod gave inf (fast) while DuckDB's sum became NaN; a huge int in another key
    order crashed the slow path with OverflowError."""
    for layout in ("k6", "sorted"):
        line = _point("t", "2026-01-01T00:00:01Z", value, {})
        if layout == "sorted":
            line = (
                line.replace('{"metric":"t","type":"Point","data":', '{"type":"Point","data":')[:-1]
                + ',"metric":"t"}'
            )
        lines = _run_lines(10)
        lines.insert(5, line)
        src = _write(tmp_path / f"{layout}.json", lines)
        for engine in ("fast", "duckdb"):
            with pytest.raises(InputError, match=rf"{layout}\.json:6: not valid k6 JSON"):
                ingest([src], engine=engine)


@pytest.mark.parametrize("tags", ['{"a":"\\ud800"}', '{"\\udc00":"x"}'], ids=["value", "key"])
def test_lone_surrogate_escapes_are_invalid_not_a_crash(tmp_path, tags):
    """The slow path re-encoded such tags and died with UnicodeEncodeError."""
    line = f'{{"type":"Point","metric":"t","data":{{"time":"2026-01-01T00:00:01Z","value":1,"tags":{tags}}}}}'
    lines = _run_lines(10)
    lines.insert(5, line)
    _both_reject_alike(_write(tmp_path / "k.json", lines))


def _both_reject_alike(src):
    """Both engines refuse the file with the same message (which line is named is the
    shared line finder's business: sources.validate_line)."""
    msgs = []
    for engine in ("fast", "duckdb"):
        with pytest.raises(InputError, match=r"k\.json:\d+: not valid k6 JSON") as exc:
            ingest([src], engine=engine)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]


def test_encoded_surrogates_in_a_metric_name_are_invalid(tmp_path):
    """json.loads(bytes) decodes with surrogatepass: the fast path took this name."""
    lines = [ln.encode() for ln in _run_lines(10)]
    lines.insert(5, (_K6 % ("2026-01-01T00:00:01Z", "1")).encode().replace(b'"t"', b'"t\xed\xa0\x80"'))
    src = tmp_path / "k.json"
    src.write_bytes(b"\n".join(lines) + b"\n")
    _both_reject_alike(src)


def test_non_ascii_metric_in_another_layout_is_kept(tmp_path):
    """The slow path re-wrote the name as \\u00e9, which the C scanner refused."""
    lines = _run_lines(10)
    lines.insert(
        5,
        json.dumps(
            {
                "type": "Point",
                "metric": "lat\u00e9ncy",
                "data": {"time": "2026-01-01T00:00:01Z", "value": 2.5, "tags": {}},
            },
            ensure_ascii=False,
        ),
    )
    res = _same([_write(tmp_path / "k.json", lines)])
    assert res.value("lat\u00e9ncy", "count") == 1


def test_vertical_tab_lines_are_blank(tmp_path):
    lines = _run_lines(10)
    lines.insert(5, "\x0b\x0c")
    res = _same([_write(tmp_path / "k.json", lines)])
    assert res.skipped_lines == 0
