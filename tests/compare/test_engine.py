"""The comparison engine, its outputs and its config, on synthetic snapshots
(no k6): what regresses, what is noise, what has too little data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from novaload.compare import (
    OVERALL,
    CompareConfig,
    EndpointData,
    RunSnapshot,
    Status,
    compare_snapshots,
    load_compare_config,
)
from novaload.errors import ConfigError


def snapshot(
    label: str,
    endpoints: dict[str, tuple[np.ndarray, int]],
    *,
    duration: float = 60.0,
    windows: np.ndarray | None = None,
    rates: dict[str, np.ndarray] | None = None,
) -> RunSnapshot:
    """endpoints: name -> (latencies, failures); rates: name -> requests/s per bin."""
    rng = np.random.default_rng(0)
    eps = {
        n: EndpointData.from_values(v, len(v), f, 20_000, rng, window_rates=(rates or {}).get(n))
        for n, (v, f) in endpoints.items()
    }
    all_v = np.concatenate([v for v, _ in endpoints.values()])
    eps[OVERALL] = EndpointData.from_values(
        all_v, len(all_v), sum(f for _, f in endpoints.values()), 20_000, rng
    )
    return RunSnapshot(
        label=label,
        run_id=label,
        duration_s=duration,
        endpoints=eps,
        window_requests=windows if windows is not None else np.full(58, len(all_v) / 60),
    )


def lat(seed: int, n: int = 2000, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(3.0, 0.6, size=n) * scale


def test_a_run_compared_with_itself_has_no_regression():
    s = snapshot("a", {"index": (lat(1), 0), "login": (lat(2), 3)})
    c = compare_snapshots(s, s)
    assert not c.regressed
    assert {m.status for e in c.endpoints for m in e.metrics} <= {Status.UNCHANGED, Status.NOT_JUDGED}


def test_every_latency_50_percent_slower_regresses_everywhere():
    base = {"index": (lat(1), 0), "login": (lat(2), 0)}
    slow = {k: (v * 1.5, f) for k, (v, f) in base.items()}
    c = compare_snapshots(snapshot("a", base), snapshot("b", slow))
    assert c.regressed
    for name in (OVERALL, "index", "login"):
        e = c.endpoint(name)
        for stat in ("p50", "p95", "p99"):
            m = e.metric(stat)
            assert m.status is Status.REGRESSED, (name, stat)
            assert m.change == pytest.approx(0.5)
    assert {n for n, _ in c.regressions} == {OVERALL, "index", "login"}


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"pair{s}")
def test_independent_samples_of_one_distribution_do_not_regress(seed: int):
    a = snapshot("a", {"x": (lat(100 + seed), 1), "y": (lat(200 + seed, 300), 0)})
    b = snapshot("b", {"x": (lat(300 + seed), 2), "y": (lat(400 + seed, 300), 0)})
    assert not compare_snapshots(a, b).regressed


def test_a_change_below_the_minimum_effect_is_never_a_regression():
    """Huge samples make +5 % significant; the 10 % minimum effect keeps it out."""
    v = lat(1, 20_000)
    c = compare_snapshots(snapshot("a", {"x": (v, 0)}), snapshot("b", {"x": (v * 1.05, 0)}))
    m = c.endpoint("x").metric("p95")
    assert m.ci.low > 0 and m.status is Status.UNCHANGED and not c.regressed


def test_endpoints_with_fewer_than_30_samples_are_insufficient_data():
    small = lat(1, 20)
    c = compare_snapshots(
        snapshot("a", {"rare": (small, 0), "x": (lat(2), 0)}),
        snapshot("b", {"rare": (small * 3, 0), "x": (lat(2), 0)}),
    )
    rare = c.endpoint("rare")
    assert rare.metric("p95").status is Status.INSUFFICIENT
    assert rare.status == "insufficient data" and not c.regressed


def test_an_error_rate_increase_regresses():
    v = lat(1, 3000)
    c = compare_snapshots(snapshot("a", {"x": (v, 3)}), snapshot("b", {"x": (v, 150)}))
    m = c.endpoint("x").metric("error_rate")
    assert m.status is Status.REGRESSED and m.change == pytest.approx(0.049)


def test_a_throughput_drop_regresses_overall():
    v = lat(1)
    rng = np.random.default_rng(4)
    c = compare_snapshots(
        snapshot("a", {"x": (v, 0)}, windows=rng.normal(100, 3, 50)),
        snapshot("b", {"x": (v, 0)}, windows=rng.normal(70, 3, 50), duration=60 / 0.7),
    )
    assert c.endpoint(OVERALL).metric("rps").status is Status.REGRESSED
    # no per-endpoint rates in these snapshots (as in history rows of format 1)
    assert c.endpoint("x").metric("rps").status is Status.NOT_JUDGED


def test_a_throughput_drop_of_one_endpoint_regresses_that_endpoint():
    rng = np.random.default_rng(5)
    base_rates = {"x": rng.poisson(40, 58) / 1.0, "y": rng.poisson(40, 58) / 1.0}
    cur_rates = {"x": rng.poisson(40, 58) / 1.0, "y": rng.poisson(24, 58) / 1.0}  # y: -40 %
    eps = {"x": (lat(1), 0), "y": (lat(2), 0)}
    fewer = {"x": (lat(1), 0), "y": (lat(2, 1200), 0)}  # the requests match the rates
    c = compare_snapshots(snapshot("a", eps, rates=base_rates), snapshot("b", fewer, rates=cur_rates))
    y, x = c.endpoint("y").metric("rps"), c.endpoint("x").metric("rps")
    assert y.status is Status.REGRESSED and y.ci.high < -0.10
    assert x.status is Status.UNCHANGED and x.ci.low < 0 < x.ci.high
    assert ("y", "rps") in {(n, m.metric) for n, m in c.regressions}


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"pair{s}")
def test_per_endpoint_rates_of_one_process_do_not_regress(seed: int):
    """Bursty (overdispersed) per-window counts, as a weighted random endpoint mix gives."""
    rng = np.random.default_rng(seed)

    def rates() -> dict[str, np.ndarray]:
        return {
            n: rng.negative_binomial(5, 5 / (5 + mu), 58).astype(float)
            for n, mu in (("x", 30), ("y", 3), ("z", 12))
        }

    eps = {"x": (lat(1), 0), "y": (lat(2, 300), 0), "z": (lat(3, 700), 0)}
    c = compare_snapshots(snapshot("a", eps, rates=rates()), snapshot("b", eps, rates=rates()))
    assert not c.regressed, c.regressions


def test_an_endpoint_idle_in_every_full_window_is_insufficient_not_divided_by_zero():
    eps = {"setup-only": (lat(1, 50), 0)}
    zeros = {"setup-only": np.zeros(58)}
    c = compare_snapshots(snapshot("a", eps, rates=zeros), snapshot("b", eps, rates=zeros))
    assert c.endpoint("setup-only").metric("rps").status is Status.INSUFFICIENT


def test_new_and_missing_endpoints_are_listed_not_regressions():
    c = compare_snapshots(
        snapshot("a", {"old": (lat(1), 0), "x": (lat(2), 0)}),
        snapshot("b", {"new": (lat(3), 0), "x": (lat(2), 0)}),
    )
    assert c.endpoint("old").status == "missing endpoint"
    assert c.endpoint("new").status == "new endpoint"
    assert not c.regressed


def test_snapshot_survives_the_blob_round_trip():
    s = snapshot("a", {"x": (lat(1), 4)}, rates={"x": np.arange(1.0, 59.0)})
    back = RunSnapshot.from_blob(s.to_blob())
    assert back.endpoints["x"].window_rates.tolist() == list(np.arange(1.0, 59.0))
    assert back.endpoints["x"].p95 == s.endpoints["x"].p95
    assert back.endpoints["x"].failures == 4
    assert np.allclose(back.endpoints["x"].latencies, s.endpoints["x"].latencies, rtol=1e-6)
    assert compare_snapshots(s, back).regressed is False


def test_a_history_row_of_format_1_still_loads_and_leaves_endpoint_rates_unjudged():
    import zlib

    doc = json.loads(zlib.decompress(snapshot("a", {"x": (lat(1), 0)}).to_blob()))
    doc["version"] = 1
    for e in doc["endpoints"].values():
        del e["window_rates"]
    old = RunSnapshot.from_blob(zlib.compress(json.dumps(doc).encode()))
    new = snapshot("b", {"x": (lat(1), 0)}, rates={"x": np.full(58, 30.0)})
    c = compare_snapshots(old, new)
    assert c.endpoint("x").metric("rps").status is Status.NOT_JUDGED and not c.regressed


def test_outputs_escape_endpoint_names_and_write_files(tmp_path: Path):
    evil = "<script>alert(1)</script>|`x`"
    base = {evil: (lat(1), 0)}
    c = compare_snapshots(snapshot("a", base), snapshot("b", {evil: (lat(1) * 2, 0)}))
    sections = c.report_sections()
    html = sections[0].html
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = sections[0].markdown
    assert "<script>" not in md and "\\|" in md and "regressed" in md
    files = c.write(tmp_path)
    doc = json.loads((tmp_path / "comparison.json").read_text())
    assert doc["regressed"] is True and doc["regressions"]
    assert [p.name for p in files] == ["comparison.json", "comparison.md"]


def test_trend_section_is_inline_svg_with_escaped_labels():
    from novaload.compare.trend import trend_section
    from novaload.history import HistoryEntry

    entries = [
        HistoryEntry(
            run_id=f"api-20261121-10{i:02d}00-ab<x", p50=10 + i, p95=30 + i, p99=50 + i, verdict="passed"
        )
        for i in range(4)
    ]
    section = trend_section(entries)
    assert section.html.startswith("<svg") and "<script" not in section.html
    assert "ab&lt;x" in section.html and section.html.count("<circle") == 12
    assert "style=" not in section.html


def test_config_file_overrides_defaults(tmp_path: Path):
    f = tmp_path / "compare.yaml"
    f.write_text("compare:\n  p95_pct: 25\n  min_samples: 50\n")
    cfg = load_compare_config(f)
    assert cfg.p95_pct == 25 and cfg.min_samples == 50 and cfg.p50_pct == CompareConfig().p50_pct


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("compare:\n  p95: 10\n", "compare.p95: unknown setting"),
        ("compare:\n  p95_pct: lots\n", "compare.p95_pct: must be a number"),
        ("compare:\n  confidence: 2\n", "compare.confidence"),
        ("compare:\n  min_samples: 2.5\n", "whole number"),
    ],
    ids=["unknown", "not-a-number", "out-of-range", "not-int"],
)
def test_config_errors_name_file_key_and_value(tmp_path: Path, text: str, needle: str):
    f = tmp_path / "compare.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_compare_config(f)
    assert str(f) in str(err.value) and needle in str(err.value)


def test_repository_compare_yaml_loads(repo_root: Path):
    cfg = load_compare_config(config_dir=repo_root / "configs")
    assert cfg.p95_pct == 15 and cfg.p99_pct == 25 and cfg.error_rate_pp == 1.0 and cfg.throughput_pct == 10


def test_per_endpoint_rates_of_a_long_run_are_binned_with_idle_windows_as_zero():
    """1000 windows of 0.5 s -> bins of 5 windows (at most MAX_RATE_BINS bins); an endpoint
    idle in a window counts 0 there, and the last incomplete bin is dropped."""
    import pandas as pd

    from novaload.compare.snapshot import MAX_RATE_BINS, _endpoint_rates
    from novaload.results.model import RunResults

    t = np.arange(1000) * 0.5
    ts = pd.DataFrame({"t": t, "requests": np.full(1000, 3)})
    busy = pd.DataFrame({"t": t, "name": "busy", "requests": 2})
    rare = pd.DataFrame({"t": t[::10], "name": "rare", "requests": 1})  # every 10th window
    res = RunResults(
        metrics={},
        thresholds=[],
        duration_s=500.0,
        duration_source="sample-span",
        started_at=None,
        ended_at=None,
        sources=[],
        lines=0,
        points=0,
        input_bytes=0,
        timeseries=ts,
        window_s=0.5,
        endpoint_timeseries=pd.concat([busy, rare], ignore_index=True),
    )
    rates = _endpoint_rates(res)
    size = int(np.ceil(998 / MAX_RATE_BINS))  # 998 full windows
    bins = 998 // size
    assert size == 5 and len(rates["busy"]) == len(rates["rare"]) == bins
    assert np.allclose(rates["busy"], 2 / 0.5)  # 5 windows x 2 requests / 2.5 s
    # full windows are 1..998; rare hits windows 10, 20, ...: one per bin of 5 every other bin
    expected = (
        np.array([sum(1 for w in range(1 + b * 5, 6 + b * 5) if w % 10 == 0) for b in range(bins)]) / 2.5
    )
    assert rates["rare"].tolist() == pytest.approx(expected.tolist())
