"""The cap on endpoint rows (``--max-endpoints``) on a real k6 run whose requests have no
name tag: k6 names each by its URL, one endpoint per id. The endpoints with most requests
keep their rows, the rest are one ``(other)`` row computed over all of their samples,
a threshold's endpoint keeps its row, and k6's own figures do not move."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from novaload.errors import ConfigError
from novaload.results.endpoint_cap import OTHER
from novaload.results.ingest import ingest

SCRIPT = "many_urls.js"
ITEMS = 30


@pytest.fixture(scope="module")
def run(k6_runs):
    return k6_runs(SCRIPT)


def _durations(path) -> dict[str, list[float]]:
    """Every http_req_duration value by name tag, read from k6's JSON output directly."""
    out: dict[str, list[float]] = {}
    with path.open() as fh:
        for line in fh:
            obj = json.loads(line)
            if obj["type"] == "Point" and obj["metric"] == "http_req_duration":
                out.setdefault(obj["data"]["tags"]["name"], []).append(obj["data"]["value"])
    return out


def test_a_run_under_the_cap_keeps_every_endpoint(run, loopback_url) -> None:
    res = ingest([run.json], k6_summary=run.export)
    assert len(res.endpoints) == ITEMS and OTHER not in set(res.endpoints["name"])
    assert not any(OTHER in w for w in res.warnings)


def test_the_endpoints_beyond_the_cap_are_one_row_over_all_their_samples(run, loopback_url) -> None:
    res = ingest([run.json], k6_summary=run.export, max_endpoints=10)
    url = f"{loopback_url}/api/items/"
    rows = {r["name"]: r for r in res.endpoints.to_dict("records")}
    top = {f"{url}{i}" for i in range(10)}
    protected = f"{url}{ITEMS - 1}"  # the threshold's endpoint, the least requested
    assert set(rows) == top | {protected, OTHER}
    assert all(rows[f"{url}{i}"]["requests"] == ITEMS - i for i in range(10))
    assert rows[protected]["requests"] == 1
    values = _durations(run.json)
    tail = [v for i in range(10, ITEMS - 1) for v in values[f"{url}{i}"]]
    other = rows[OTHER]
    assert other["requests"] == len(tail) == sum(ITEMS - i for i in range(10, ITEMS - 1))
    for p in (50, 90, 95, 99):  # k6's percentile: linear between the closest ranks
        assert other["med" if p == 50 else f"p{p}"] == pytest.approx(np.percentile(tail, p), rel=1e-12)
    assert other["max"] == max(tail) and other["min"] == min(tail)
    assert sum(r["requests"] for r in rows.values()) == res.value("http_reqs", "count")
    assert [w for w in res.warnings if "--max-endpoints 10" in w and "30 endpoints" in w]


def test_k6s_figures_and_verdicts_do_not_move_with_the_cap(run) -> None:
    full = ingest([run.json], k6_summary=run.export)
    capped = ingest([run.json], k6_summary=run.export, max_endpoints=3)
    assert {n: m.values for n, m in capped.metrics.items()} == {n: m.values for n, m in full.metrics.items()}
    verdicts = {(t.metric, t.expression): (t.status, t.observed) for t in capped.thresholds}
    assert verdicts == {(t.metric, t.expression): (t.status, t.observed) for t in full.thresholds}
    assert all(t.status == "passed" for t in capped.thresholds) and len(capped.thresholds) == 2
    export = json.loads(run.export.read_text())["metrics"]
    assert capped.value("http_reqs", "count") == export["http_reqs"]["count"]


def test_report_cli_takes_max_endpoints(run, tmp_path) -> None:
    cli = [sys.executable, "-m", "novaload", "report", str(run.json), "--k6-summary", str(run.export)]
    done = subprocess.run(
        [*cli, "--max-endpoints", "5", "--out-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with (tmp_path / "r" / "endpoints.csv").open() as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert len(names) == 5 + 2 and OTHER in names  # 5, the threshold's endpoint, (other)
    bad = subprocess.run(
        [*cli, "--max-endpoints", "0", "--out-dir", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--max-endpoints" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_max_endpoints_below_one_is_a_config_error(run) -> None:
    with pytest.raises(ConfigError, match="max_endpoints"):
        ingest([run.json], max_endpoints=0)


def test_exemplars_of_capped_endpoints_belong_to_the_other_row() -> None:
    import pandas as pd

    from novaload.results.exemplars import exemplars

    frame = pd.DataFrame(
        {
            "src": [0, 0],
            "metric": ["http_req_duration"] * 2,
            "tg": ['{"name":"kept","status":"200"}', '{"name":"/items/7","status":"200"}'],
            "kind": [0, 0],
            "value": [5.0, 9.0],
            "us": [1, 2],
            "trace_id": ["a" * 32, "b" * 32],
        }
    )
    got = {e.trace_id[0]: e.endpoint for e in exemplars(frame, frozenset({"kept"}))}
    assert got == {"a": "kept", "b": OTHER}
    assert {e.endpoint for e in exemplars(frame)} == {"kept", "/items/7"}


def test_a_capped_run_is_told_to_name_its_requests_not_that_its_input_was_bad(run) -> None:
    from novaload.reports.recommendations import recommend

    titles = [r.title for r in recommend(ingest([run.json], k6_summary=run.export, max_endpoints=10))]
    assert "Name your requests" in titles and "The input had problems" not in titles
    assert "Name your requests" not in [r.title for r in recommend(ingest([run.json], k6_summary=run.export))]
