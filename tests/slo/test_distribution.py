"""Apdex, per-endpoint histograms and per-endpoint percentiles over time on a real k6
run against the demo target (lognormal latency, some injected 5xx), every figure
recomputed here from k6's raw JSON lines."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from support import k6_path, k6_percentile, require_tool

from novaload.results.ingest import ingest
from novaload.results.summary import summary_document

pytestmark = pytest.mark.k6

SCRIPT = """
import http from 'k6/http';
export const options = { scenarios: { two: { executor: 'constant-vus', vus: 2, duration: '6s' } } };
export default function () {
  http.get(__ENV.BASE + '/api/v1/cluster/status', { tags: { name: 'status' } });
  http.get(__ENV.BASE + '/api/v1/vms', { tags: { name: 'vms' } });
}
"""
TARGETS = {"status": 10.0}  # ms; "vms" gets the default below
DEFAULT_T = 25.0


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    k6 = k6_path()
    require_tool(k6 is not None, "k6 not installed")
    assert k6 is not None
    folder = tmp_path_factory.mktemp("dist")
    (folder / "s.js").write_text(SCRIPT)
    target = TargetProcess.start(TargetSettings(latency_median_ms=8.0, latency_p99_ms=60.0, error_rate=0.05))
    try:
        res = subprocess.run(
            [
                k6,
                "run",
                "-q",
                "-e",
                f"BASE={target.url}",
                "--out",
                f"json={folder / 'out.json'}",
                str(folder / "s.js"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr[-2000:]
    finally:
        target.stop()
    yield folder / "out.json"


def _durations(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Point" and rec["metric"] == "http_req_duration":
            tags = rec["data"]["tags"]
            out.append(
                {
                    "t": datetime.fromisoformat(rec["data"]["time"]).timestamp(),
                    "v": rec["data"]["value"],
                    "name": tags.get("name", ""),
                    "failed": tags.get("expected_response") == "false",
                }
            )
    return out


def test_apdex_per_endpoint_and_overall_from_raw_samples(raw_run: Path) -> None:
    res = ingest([raw_run], apdex_targets=TARGETS, apdex_t_ms=DEFAULT_T)
    samples = _durations(raw_run)
    assert any(s["failed"] for s in samples)  # the injected errors count as frustrated
    totals = [0, 0, 0]
    doc = summary_document(res)["novaload"]["apdex"]
    for name in ("status", "vms"):
        t = TARGETS.get(name, DEFAULT_T)
        mine = [s for s in samples if s["name"] == name]
        sat = sum(1 for s in mine if not s["failed"] and s["v"] <= t)
        tol = sum(1 for s in mine if not s["failed"] and t < s["v"] <= 4 * t)
        fru = len(mine) - sat - tol
        assert sat and tol and fru, (name, sat, tol, fru)  # all three zones are exercised
        row = res.endpoints.set_index("name").loc[name]
        assert (row.apdex_satisfied, row.apdex_tolerating, row.apdex_frustrated) == (sat, tol, fru)
        assert row.apdex == (sat + tol / 2) / len(mine) and row.apdex_t_ms == t
        assert doc["endpoints"][name] == {
            "t_ms": t,
            "score": (sat + tol / 2) / len(mine),
            "requests": len(mine),
            "satisfied": sat,
            "tolerating": tol,
            "frustrated": fru,
        }
        totals = [totals[0] + sat, totals[1] + tol, totals[2] + fru]
    assert doc["overall"]["score"] == (totals[0] + totals[1] / 2) / sum(totals)
    assert doc["default_t_ms"] == DEFAULT_T


def test_endpoint_histograms_count_every_raw_sample(raw_run: Path) -> None:
    res = ingest([raw_run])
    samples = _durations(raw_run)
    edges = res.histogram["le_ms"].to_numpy()
    assert edges[-1] == max(s["v"] for s in samples)
    for name in ("status", "vms"):
        vals = np.array([s["v"] for s in samples if s["name"] == name])
        expected = np.zeros(len(edges), dtype=np.int64)
        for v in vals:  # the first bucket whose upper bound is >= the value
            expected[next(i for i, e in enumerate(edges) if v <= e)] += 1
        got = res.endpoint_histograms[res.endpoint_histograms["name"] == name]
        assert got["requests"].tolist() == expected.tolist()
        assert got["le_ms"].tolist() == edges.tolist()


def test_endpoint_percentiles_per_window_from_raw_samples(raw_run: Path) -> None:
    res = ingest([raw_run])
    samples = _durations(raw_run)
    first = min(
        datetime.fromisoformat(json.loads(line)["data"]["time"]).timestamp()
        for line in raw_run.read_text().splitlines()
        if '"type":"Point"' in line
    )
    lat = res.endpoint_latency
    assert set(lat["name"]) == {"status", "vms"}
    for row in lat.itertuples(index=False):
        mine = [
            s["v"] for s in samples if s["name"] == row.name and row.t <= round(s["t"] - first, 6) < row.t + 1
        ]
        assert len(mine) == row.requests > 0
        assert (row.p50, row.p95, row.p99) == (
            k6_percentile(mine, 50),
            k6_percentile(mine, 95),
            k6_percentile(mine, 99),
        )
    assert lat["requests"].sum() == len(samples)
