"""Our figures against k6's own, value by value, for real k6 runs."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from support import same_as_k6

from novaload.results.ingest import ingest
from novaload.results.summary import load_k6_summary, summary_document

from .conftest import replay_live, run_k6

pytestmark = pytest.mark.k6
SCRIPTS = ["mixed.js", "scenarios.js", "segments.js"]


def _mismatches(ours: dict, export: dict) -> list[str]:
    """Every value of k6's --summary-export that our summary.json does not match."""
    bad = []
    for name, values in export["metrics"].items():
        mine = ours["metrics"].get(name)
        if mine is None:
            bad.append(f"missing metric {name}")
            continue
        for key, theirs in values.items():
            if key == "thresholds":
                for expr, failed in theirs.items():
                    ok = mine.get("thresholds", {}).get(expr, {}).get("ok", "absent")
                    if ok is not None and ok == failed:  # export: true means failed
                        bad.append(f"{name} {expr}: k6 failed={failed}, ours ok={ok}")
                continue
            got = mine.get(key)
            if not same_as_k6(key, got, theirs):
                bad.append(f"{name}.{key} {got!r} != {theirs!r}")
    return bad


def _ingest(path: str, sources, tmp_path, **kw):
    """``file``: the scan of finished files; ``live``: the scan that follows k6's output
    while it is written (what ``novaload run`` uses)."""
    return ingest(sources, **kw) if path == "file" else replay_live(sources, tmp_path / "live", **kw)


@pytest.mark.parametrize("path", ["file", "live"])
@pytest.mark.parametrize("summary_kind", ["export", "handle"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_values_equal_k6_summary_export(k6_runs, script, summary_kind, path, tmp_path):
    run = k6_runs(script)
    summary = run.export if summary_kind == "export" else run.handle
    res = _ingest(path, [run.json], tmp_path, k6_summary=summary)
    export = json.loads(run.export.read_text())
    assert _mismatches(summary_document(res), export) == []
    assert res.duration_source == "k6-summary"


@pytest.mark.parametrize("path", ["file", "live"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_threshold_verdicts_agree_with_handle_summary(k6_runs, script, path, tmp_path):
    run = k6_runs(script)
    res = _ingest(path, [run.json], tmp_path, k6_summary=run.handle)
    k6 = load_k6_summary(run.handle)
    judged = 0
    for m in res.metrics.values():
        for t in m.thresholds:
            theirs = k6.verdicts.get(m.name, {}).get(t.expression)
            assert theirs is not None, f"{m.name} {t.expression} unknown to k6"
            if t.ok is None:  # k6 passes empty sinks (issue #4283); we say "no data"
                assert theirs is True
            else:
                assert t.ok == theirs, (m.name, t.expression, t.observed)
            judged += 1
    assert judged == sum(len(v) for v in k6.verdicts.values())


def test_percentiles_requested_by_threshold_are_computed(k6_runs):
    res = ingest([k6_runs("mixed.js").json], k6_summary=k6_runs("mixed.js").handle)
    sub = res.metrics["http_req_duration{name:index}"]
    assert "p(99.5)" in sub.values and "p(99.9)" in sub.values
    assert sub.values["p(99.5)"] <= sub.values["max"]


def test_no_summary_uses_sample_span(k6_runs):
    run = k6_runs("mixed.js")
    res = ingest([run.json])
    k6 = load_k6_summary(run.handle)
    assert res.duration_source == "sample-span"
    assert 0 < res.duration_s <= k6.duration_s
    export = json.loads(run.export.read_text())["metrics"]
    assert res.value("http_reqs", "count") == export["http_reqs"]["count"]


def test_gzip_and_plain_give_identical_results(k6_runs, tmp_path):
    run = k6_runs("mixed.js")
    gz = tmp_path / "out.json.gz"
    with run.json.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    ndjson = tmp_path / "out.ndjson"
    shutil.copy(run.json, ndjson)
    docs = [summary_document(ingest([p], k6_summary=run.export))["metrics"] for p in (run.json, gz, ndjson)]
    assert docs[0] == docs[1] == docs[2]


def test_breakdowns_match_totals(k6_runs):
    run = k6_runs("mixed.js")
    res = ingest([run.json], k6_summary=run.export)
    total = res.value("http_reqs", "count")
    assert res.endpoints["requests"].sum() == total
    assert res.statuses["requests"].sum() == total
    assert res.timeseries["requests"].sum() == total
    assert res.histogram["requests"].sum() == total
    assert res.errors["requests"].sum() == res.value("http_req_failed", "passes")
    assert set(res.statuses["status"]) >= {"0", "200", "404", "500"}
    assert res.checks.loc[res.checks["check"] == "is 200", "passes"].sum() == res.value("checks", "passes")
    assert "::g1::inner" in set(res.groups["group"])
    assert res.value("iterations", "count") == res.scenarios["iterations"].sum()


def test_scenarios_breakdown(k6_runs):
    run = k6_runs("scenarios.js")
    res = ingest([run.json], k6_summary=run.export)
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["buy", "iterations"] == 40
    assert sc.loc["buy", "requests"] == 80
    assert sc.loc["buy", "failures"] == 40  # the 503s


def test_two_execution_segments_merge_like_one_run(k6_bin, loopback_url, tmp_path, k6_runs):
    seq = ["--execution-segment-sequence", "0,1/2,1"]
    a = run_k6(k6_bin, "segments.js", tmp_path / "a", loopback_url, "--execution-segment", "0:1/2", *seq)
    b = run_k6(k6_bin, "segments.js", tmp_path / "b", loopback_url, "--execution-segment", "1/2:1", *seq)
    whole = k6_runs("segments.js")
    merged = ingest([a.json, b.json])
    assert (
        summary_document(replay_live([a.json, b.json], tmp_path / "live"))["metrics"]
        == (summary_document(merged)["metrics"])
    )
    single = ingest([whole.json])
    for metric, key in [
        ("iterations", "count"),
        ("http_reqs", "count"),
        ("checks", "passes"),
        ("http_req_failed", "passes"),
    ]:
        assert merged.value(metric, key) == single.value(metric, key), metric
    assert merged.value("iterations", "count") == 101
    n_a = ingest([a.json]).value("http_req_duration", "min")
    n_b = ingest([b.json]).value("http_req_duration", "min")
    assert merged.value("http_req_duration", "min") == min(n_a, n_b)


def test_extra_thresholds_from_file_and_replace(k6_runs):
    run = k6_runs("mixed.js")
    extra = {"http_req_duration{name:api}": ["p(50)<0.000001"], "no_such_metric": ["count>1"]}
    res = ingest([run.json], k6_summary=run.export, extra_thresholds=extra)
    by = {(t.metric, t.expression): t for t in res.thresholds}
    assert by[("http_req_duration{name:api}", "p(50)<0.000001")].ok is False
    assert by[("no_such_metric", "count>1")].ok is None
    assert ("http_req_failed", "rate<0.01") in by
    only = ingest([run.json], k6_summary=run.export, extra_thresholds=extra, thresholds_replace=True)
    assert {t.source for t in only.thresholds} == {"file"}


def test_split_scan_gives_the_same_figures_as_one_stream(k6_runs, tmp_path, monkeypatch):
    """Large plain files are scanned by two threads, gzip by one: the figures (avg
    included) must not depend on where the file was split."""
    from novaload.results import fastscan

    if not fastscan.available():
        pytest.skip("the C fast path is not built: nothing is split")
    run = k6_runs("mixed.js")
    gz = tmp_path / "out.json.gz"
    with run.json.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    monkeypatch.setattr(fastscan, "MIN_SPLIT", 0)  # split even this small file
    split = summary_document(ingest([run.json], k6_summary=run.export))["metrics"]
    stream = summary_document(ingest([gz], k6_summary=run.export))["metrics"]
    assert split == stream


def test_latency_samples_from_the_ingest_equal_a_fresh_read(k6_runs):
    """Baselines use the samples the ingest kept instead of reading the file again:
    they must be exactly the http_req_duration values, each with its name tag."""
    from novaload.results.ingest import load_latency_samples

    run = k6_runs("mixed.js")
    kept = ingest([run.json]).latency_samples()
    read = load_latency_samples([run.json])
    read = read.assign(name=read["name"].fillna(""))
    order = ["name", "value"]
    kept = kept.sort_values(order, ignore_index=True)
    read = read.sort_values(order, ignore_index=True)
    assert len(kept) == len(read) > 0
    assert list(kept["name"]) == list(read["name"])
    assert kept["value"].tolist() == read["value"].tolist()


def test_latency_between_covers_the_run_exactly(k6_runs):
    """Over the whole run, the windows' raw latencies give k6's own p(95) and count;
    split at any window boundary, the two halves add up to the whole."""
    from novaload.results.stats import percentiles

    run = k6_runs("mixed.js")
    res = ingest([run.json], k6_summary=run.export)
    every = res.latency_between(0.0, float("inf"))
    assert len(every) == res.value("http_reqs", "count")  # one duration per request
    assert percentiles(every, [95.0])[95.0] == res.value("http_req_duration", "p(95)")
    cut = float(res.timeseries["t"].iloc[len(res.timeseries) // 2])
    halves = [res.latency_between(0.0, cut), res.latency_between(cut, float("inf"))]
    assert sum(len(h) for h in halves) == len(every) and all(len(h) for h in halves)
