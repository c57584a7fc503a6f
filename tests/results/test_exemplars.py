"""Exemplars: the traced requests a scan keeps (``trace_id`` in a sample's metadata).

The C scanner keeps, per tag set, the slowest and the first traced ``http_req_duration``
samples in bounded heaps; the DuckDB scan must keep exactly the same ones, and the
ingest turns them into each endpoint's slowest and first failed requests. The real-k6
side (every exemplar's trace id is one a server received) is in tests/run/test_traces.py.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

import pytest

from novaload.results import _k6fast, fastscan
from novaload.results.ingest import ingest
from novaload.results.scan import EXEMPLAR_FIRST, EXEMPLAR_SLOWEST, run_scan
from novaload.results.sources import sniff
from novaload.results.summary import summary_document

from .conftest import replay_live


@pytest.fixture(autouse=True)
def _extension_built():
    if not fastscan.available():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("novaload.results._k6fast is not built")


BASE_US = 1772359200 * 1_000_000  # 2026-03-01T10:00:00Z: _time(0)


def _time(us: int) -> str:
    sec, frac = divmod(us, 1_000_000)
    return f"2026-03-01T10:{sec // 60:02d}:{sec % 60:02d}.{frac:06d}123Z"


def _point(metric: str, us: int, value: float, tags: dict, metadata: str | None = None) -> str:
    tail = f',"metadata":{metadata}' if metadata is not None else ""
    return (
        f'{{"metric":"{metric}","type":"Point","data":{{"time":"{_time(us)}","value":{value!r},'
        f'"tags":{json.dumps(tags, separators=(",", ":"))}{tail}}}}}'
    )


def _tags(name: str, status: str = "200") -> dict:
    return {
        "expected_response": "true" if status[0] in "23" else "false",
        "group": "",
        "method": "GET",
        "name": name,
        "proto": "HTTP/1.1",
        "scenario": "default",
        "status": status,
        "url": f"http://127.0.0.1/{name}",
    }


def _traced_run(n: int, seed: int = 1) -> tuple[list[str], list[dict]]:
    """k6-like lines of ``n`` requests on three endpoints (a few failing, one in ten not
    traced, vu/iter metadata around the trace id) and what each request was."""
    rng = random.Random(seed)
    lines, requests = [], []
    for i in range(n):
        name = ("list", "item", "slow")[i % 3]
        status = "500" if i % 17 == 5 else ("0" if i % 29 == 7 else "200")
        tags = _tags(name, status)
        us = 1_000_000 + i * 997 + rng.randrange(3)  # a few equal times
        value = round(rng.choice((1.5, 2.25, 40.0)) if i % 5 else rng.uniform(1, 300), rng.choice((1, 6)))
        trace = f"{rng.getrandbits(128):032x}"
        meta = None if i % 10 == 9 else f'{{"iter":"{i}","trace_id":"{trace}","vu":"{i % 4 + 1}"}}'
        for metric, v in (("http_reqs", 1), ("http_req_duration", value), ("http_req_waiting", value / 2)):
            lines.append(_point(metric, us, v, tags, meta))
        if meta is not None:
            requests.append(
                {"name": name, "status": status, "tags": tags, "us": us, "value": value, "trace": trace}
            )
    return lines, requests


def _write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _expected(requests: list[dict]) -> set[tuple]:
    """Per tag set, the slowest and the first traced requests, by the engines' orders."""
    out = set()
    by_tags: dict[str, list[dict]] = {}
    for r in requests:
        by_tags.setdefault(json.dumps(r["tags"], sort_keys=True), []).append(r)
    for key, rs in by_tags.items():
        slow = sorted(rs, key=lambda r: (-r["value"], r["us"], _desc(r["trace"])))[:EXEMPLAR_SLOWEST]
        first = sorted(rs, key=lambda r: (r["us"], -r["value"], r["trace"]))[:EXEMPLAR_FIRST]
        out |= {(key, 0, r["value"], BASE_US + r["us"], r["trace"]) for r in slow}
        out |= {(key, 1, r["value"], BASE_US + r["us"], r["trace"]) for r in first}
    return out


def _desc(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text) + (0,)


def _kept(scan) -> set[tuple]:
    ex = scan.exemplars
    return {
        (json.dumps(json.loads(r.tg), sort_keys=True), int(r.kind), float(r.value), int(r.us), r.trace_id)
        for r in ex.itertuples(index=False)
    }


def _scan(paths: list[Path], engine: str, threads: int | None = None):
    srcs = [sniff(p) for p in paths]
    return run_scan(
        srcs,
        origin_us=min(s.first_us for s in srcs),
        window_s=1.0,
        memory_limit="256MB",
        threads=threads,
        engine=engine,
    )


def test_the_slowest_and_the_first_traced_samples_of_each_tag_set_are_kept(tmp_path):
    lines, requests = _traced_run(3000)
    path = _write(tmp_path / "run.json", lines)
    want = _expected(requests)
    assert len({k for k, *_ in want}) >= 6  # several tag sets, each with both heaps full
    assert _kept(_scan([path], "fast")) == want
    assert _kept(_scan([path], "duckdb")) == want


@pytest.mark.parametrize("how", ["gzip", "threads", "slow-lines", "segments", "live"])
def test_every_way_of_reading_keeps_the_same_exemplars(tmp_path, monkeypatch, how):
    lines, requests = _traced_run(2000, seed=7)
    want = _expected(requests)
    if how == "gzip":
        got = _kept(_scan([_write(tmp_path / "run.json.gz", lines, gz=True)], "fast"))
    elif how == "threads":  # two threads on two halves of the file, merged
        monkeypatch.setattr(fastscan, "MIN_SPLIT", 1)
        got = _kept(_scan([_write(tmp_path / "run.json", lines)], "fast", threads=2))
    elif how == "slow-lines":  # another key order: Python re-writes the line, metadata kept
        swapped = [
            ln.replace(
                '{"metric":"http_req_duration","type":"Point",',
                '{"type":"Point","metric":"http_req_duration",',
            )
            for ln in lines
        ]
        got = _kept(_scan([_write(tmp_path / "run.json", swapped)], "fast"))
    elif how == "segments":  # a split run: one source per instance, kept per source
        a, b = _write(tmp_path / "a.json", lines[::2]), _write(tmp_path / "b.json", lines[1::2])
        fast, ref = _scan([a, b], "fast"), _scan([a, b], "duckdb")
        assert set(fast.exemplars["src"]) == {0, 1}
        assert _kept(fast) == _kept(ref)
        return
    else:
        path = _write(tmp_path / "run.json", lines)
        res = replay_live([path], tmp_path / "live")
        assert [e.trace_id for e in res.exemplars] == [e.trace_id for e in ingest([path]).exemplars]
        return
    assert got == want


# (metadata as written, the trace id both engines must read from it)
METADATA = [
    ('{"trace_id":"0af7651916cd43dd8448eb211c80319c"}', "0af7651916cd43dd8448eb211c80319c"),
    ('{"iter":"3","trace_id":"abc","vu":"1"}', "abc"),
    ('{"trace\\u005fid":"escaped-key"}', "escaped-key"),
    ('{"trace_id":"a\\u0062c"}', "abc"),
    ('{"trace_id":"a\\"b"}', None),
    ('{"trace_id":"a\\/b"}', None),
    ('{"trace_id":5}', None),
    ('{"trace_id":null}', None),
    ('{"trace_id":""}', None),
    ('{"trace_id":"first","trace_id":"second"}', "first"),
    ('{"trace_id":1,"trace_id":"second"}', None),
    ('{"x":{"trace_id":"nested"}}', None),
    ('{"x":{"a":[1,{"b":"}"}]},"trace_id":"after-nested"}', "after-nested"),
    ('{"x":[1,2,3],"n":12.5,"t":true,"trace_id":"after-scalars"}', "after-scalars"),
    ('{ "trace_id" : "spaced" }', "spaced"),
    ('{"trace_id":"' + "f" * 64 + '"}', "f" * 64),
    ('{"trace_id":"' + "f" * 65 + '"}', None),
    ('{"trace_id":"ab cd"}', None),
    ('{"trace_id":"caf\u00e9"}', None),
    ('{"x":"\\"trace_id\\":\\"fake"}', None),
    ('{"x\\"trace_id":"fake"}', None),
    ('{"trace_id_x":"other-key"}', None),
    ("{}", None),
]


def test_both_engines_read_the_same_trace_id_from_any_metadata(tmp_path):
    lines = []
    for i, (meta, _) in enumerate(METADATA):
        lines.append(_point("http_req_duration", 1_000_000 + i, 1.0 + i, _tags(f"e{i}"), meta))
    path = _write(tmp_path / "run.json", lines)
    for engine in ("fast", "duckdb"):
        scan = _scan([path], engine)
        assert not scan.groups["bad"].any(), engine
        found = {json.loads(r.tg)["name"]: r.trace_id for r in scan.exemplars.itertuples() if r.kind == 0}
        want = {f"e{i}": tid for i, (_, tid) in enumerate(METADATA) if tid is not None}
        assert found == want, engine


@pytest.mark.parametrize(
    "metadata, want",
    [
        ('{"vu":"1"},"metadata":{"trace_id":"second"}', None),
        ('{"trace_id":"first"},"metadata":{"trace_id":"second"}', "first"),
    ],
    ids=["second-has-it", "both-have-it"],
)
def test_a_duplicated_metadata_key_is_read_as_duckdb_reads_it(tmp_path, metadata, want):
    """Such a line takes the slow path (json.loads keeps the last of duplicate keys,
    DuckDB the first): the first metadata object counts in both engines. (The fuzzer
    found it: a chunk of a traced line duplicated inside it.)"""
    path = _write(tmp_path / "run.json", [_point("http_req_duration", 1_000_000, 1.5, _tags("a"), metadata)])
    for engine in ("fast", "duckdb"):
        scan = _scan([path], engine)
        assert not scan.groups["bad"].any(), engine
        assert sorted(set(scan.exemplars["trace_id"])) == ([want] if want else []), engine


def test_only_http_req_duration_samples_are_exemplars(tmp_path):
    meta = '{"trace_id":"abc"}'
    lines = [
        _point("http_req_waiting", 1_000_000, 9.0, _tags("a"), meta),
        _point("my_trend", 1_000_001, 9.0, _tags("a"), meta),
        _point("http_req_duration", 1_000_002, 1.0, _tags("a"), None),
    ]
    path = _write(tmp_path / "run.json", lines)
    for engine in ("fast", "duckdb"):
        assert _scan([path], engine).exemplars.empty, engine


def test_memory_is_bounded_whatever_the_number_of_traced_samples():
    sc = _k6fast.Scanner(0, 1_000_000, b"", b"", b"http_req_duration", EXEMPLAR_SLOWEST, EXEMPLAR_FIRST)
    tags = json.dumps(_tags("a"), separators=(",", ":"))
    block = b"".join(
        b'{"metric":"http_req_duration","type":"Point","data":{"time":"2026-01-01T00:00:01.%06dZ",'
        b'"value":%d,"tags":%s,"metadata":{"trace_id":"%032x"}}}\n'
        % (i % 1_000_000, i % 977, tags.encode(), i)
        for i in range(20_000)
    )
    for _ in range(10):  # 200,000 traced samples of one tag set
        used, slow = sc.feed(block, True)
        assert used == len(block) and not slow
        sc.drain()
    kept = sc.exemplars()
    assert len(kept) == EXEMPLAR_SLOWEST + EXEMPLAR_FIRST
    assert sorted(v for _, kind, v, _, _ in kept if kind == 0) == [976.0] * EXEMPLAR_SLOWEST


def test_run_results_list_each_endpoints_slowest_then_its_first_failed(tmp_path):
    lines, requests = _traced_run(3000, seed=3)
    path = _write(tmp_path / "run.json", lines)
    for engine in ("fast", "duckdb"):
        res = ingest([path], engine=engine)
        got = res.exemplars
        slowest = [e for e in got if e.kind == "slowest"]
        failed = [e for e in got if e.kind == "failed"]
        assert got == slowest + failed
        assert [e.duration_ms for e in slowest] == sorted((e.duration_ms for e in slowest), reverse=True)
        assert [e.time for e in failed] == sorted(e.time for e in failed)
        for name in ("list", "item", "slow"):
            mine = [r for r in requests if r["name"] == name]
            top = sorted(mine, key=lambda r: (-r["value"], r["us"], _desc(r["trace"])))[:EXEMPLAR_SLOWEST]
            assert [e.trace_id for e in slowest if e.endpoint == name] == [r["trace"] for r in top]
            bad = sorted(
                (r for r in mine if r["status"] != "200"), key=lambda r: (r["us"], -r["value"], r["trace"])
            )
            first = [r["trace"] for r in bad[:EXEMPLAR_FIRST] if r["trace"] not in {t["trace"] for t in top}]
            assert [e.trace_id for e in failed if e.endpoint == name] == first
            assert {e.status for e in failed if e.endpoint == name} <= {"500", "0"}
        doc = summary_document(res)["novaload"]["exemplars"]
        assert doc[0] == {
            "endpoint": slowest[0].endpoint,
            "trace_id": slowest[0].trace_id,
            "duration_ms": slowest[0].duration_ms,
            "status": slowest[0].status,
            "time": slowest[0].time.isoformat().replace("+00:00", "Z"),
            "kind": "slowest",
        }
        assert len(doc) == len(got)


def test_without_expected_response_a_status_says_what_failed(tmp_path):
    tags = {"name": "a", "status": "503", "url": "u"}
    lines = [
        _point("http_req_duration", 1_000_000, 1.0, {**tags, "status": "200"}, '{"trace_id":"ok1"}'),
        _point("http_req_duration", 1_000_001, 2.0, tags, '{"trace_id":"bad1"}'),
    ] + [
        _point(
            "http_req_duration", 1_000_010 + i, 100.0 + i, {**tags, "status": "200"}, f'{{"trace_id":"s{i}"}}'
        )
        for i in range(EXEMPLAR_SLOWEST)
    ]
    res = ingest([_write(tmp_path / "run.json", lines)])
    assert [(e.trace_id, e.kind) for e in res.exemplars if e.kind == "failed"] == [("bad1", "failed")]


def test_an_untraced_run_has_none(tmp_path):
    lines = [_point("http_req_duration", 1_000_000 + i, 1.0, _tags("a")) for i in range(10)]
    lines.append(_point("http_req_duration", 2_000_000, 5.0, _tags("a"), '{"vu":"1","iter":"0"}'))
    res = ingest([_write(tmp_path / "run.json", lines)])
    assert res.exemplars == []
    assert summary_document(res)["novaload"]["exemplars"] == []


def test_the_csv_output_s_metadata_column_gives_them_too(tmp_path):
    header = "metric_name,timestamp,metric_value,name,status,expected_response,extra_tags,metadata\n"
    rows = [
        "http_req_duration,1767225600,12.5,a,200,true,,iter=1&trace_id=abc&vu=1\n",
        "http_req_duration,1767225601,2.5,a,200,true,,trace_id=def\n",
        "http_req_duration,1767225602,99,a,200,true,,vu=2\n",
    ]
    path = tmp_path / "run.csv"
    path.write_text(header + "".join(rows))
    res = ingest([path])
    assert [(e.trace_id, e.duration_ms) for e in res.exemplars] == [("abc", 12.5), ("def", 2.5)]
