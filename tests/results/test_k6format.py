"""novaload's terminal figures are k6's: each metric line of k6's own end-of-test summary
(a real k6 run) is rebuilt from its --summary-export values by ``reports.k6format``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from novaload.reports import k6format

SCRIPT = Path(__file__).resolve().parent / "scripts" / "all_metric_types.js"
LINE = re.compile(r"^\s+(?:[✓✗]\s+)?([a-z_]+)\.{3,}: (.+?)\s*$")


@pytest.fixture(scope="module")
def k6_summary(k6_bin: str, loopback_url: str, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("k6format")
    export = work / "export.json"
    done = subprocess.run(
        [
            k6_bin,
            "run",
            "--no-color",
            "--no-usage-report",
            "-e",
            f"BASE={loopback_url}/index",
            "--summary-export",
            str(export),
            str(SCRIPT),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=work,
        check=False,
    )
    assert done.returncode in (0, 99), done.stderr[-2000:]
    shown = {}
    for line in done.stdout.splitlines():
        if m := LINE.match(line):
            shown[m.group(1)] = re.sub(r"\s+", " ", m.group(2))
    return shown, json.loads(export.read_text())["metrics"]


TYPES = {  # metric -> (type, contains), as k6's JSON output declares them
    "my_counter": ("counter", "default"),
    "my_gauge": ("gauge", "default"),
    "my_rate": ("rate", "default"),
    "my_trend": ("trend", "time"),
    "my_plain_trend": ("trend", "default"),
    "http_req_duration": ("trend", "time"),
    "http_req_failed": ("rate", "default"),
    "http_reqs": ("counter", "default"),
    "iteration_duration": ("trend", "time"),
    "iterations": ("counter", "default"),
    "data_received": ("counter", "data"),
    "data_sent": ("counter", "data"),
}
STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")


@pytest.mark.parametrize("metric", sorted(TYPES))
def test_each_metric_line_reads_as_k6_prints_it(k6_summary, metric: str) -> None:
    shown, exported = k6_summary
    kind, contains = TYPES[metric]
    assert metric in shown, f"k6 printed no {metric} line: {sorted(shown)}"
    assert k6format.metric_figures(exported[metric], kind, contains, STATS) == shown[metric]


@pytest.mark.parametrize(
    ("ms", "text"),
    [  # k6's summary truncates: 38.7389 ms is 38.73ms, where rounding would say 38.74
        (38.7389, "38.73ms"),
        (0, "0s"),
        (0.0004, "400ns"),
        (0.76601, "766.01µs"),
        (999.999, "999.99ms"),
        (1090.7, "1.09s"),
        (61_500, "1m1s"),
        (3_725_000, "1h2m5s"),
        (0.5, "500µs"),
    ],
)
def test_durations_truncate_as_k6s(ms: float, text: str) -> None:
    assert k6format.duration(ms) == text


def test_rates_truncate_and_to_fixed_rounds_halves_up_as_javascript() -> None:
    assert (
        k6format.rate(0.99999) == "99.99%" and k6format.rate(1) == "100.00%" and k6format.rate(0) == "0.00%"
    )
    assert (
        k6format.to_fixed(0.125, 2) == "0.13" and k6format.to_fixed(2.5, 0) == "3"
    )  # Python's round: 0.12, 2
    assert k6format.to_fixed(1.005, 2) == "1.00"  # the double is 1.00499999999999989...
    assert k6format.data(7000) == "7.0 kB" and k6format.data(89_123) == "89 kB" and k6format.data(3) == "3 B"
