"""k6 threshold syntax, submetric selectors and the --thresholds file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import k6_percentile

from novaload.errors import ConfigError, InputError
from novaload.results.stats import percentiles
from novaload.thresholds import load_thresholds_file, parse_expression, parse_metric_name


@pytest.mark.parametrize(
    "text,agg,op,limit",
    [
        ("p(95)<500", "p(95)", "<", 500.0),
        ("p(99.9) <= 1.5", "p(99.9)", "<=", 1.5),
        ("avg>=2", "avg", ">=", 2.0),
        ("rate===0", "rate", "===", 0.0),
        ("count == 3", "count", "==", 3.0),
        ("value!=1e3", "value", "!=", 1000.0),
        ("med>0", "med", ">", 0.0),
    ],
    ids=["p95", "p99.9-spaces", "ge", "strict-eq", "loose-eq", "ne-exp", "gt"],
)
def test_parse_expression(text, agg, op, limit):
    e = parse_expression(text)
    assert (e.aggregation, e.operator, e.limit) == (agg, op, limit)


@pytest.mark.parametrize("text", ["p95<1", "avg", "avg<abc", "mean<3", "p(x)<1"])
def test_parse_expression_rejects(text):
    with pytest.raises(ValueError):
        parse_expression(text)


@pytest.mark.parametrize(
    "name,parent,pairs",
    [
        ("http_req_duration", "http_req_duration", ()),
        ("http_req_duration{name:index}", "http_req_duration", (("name", "index"),)),
        (
            'http_req_duration{ name : "api" , method:GET}',
            "http_req_duration",
            (("method", "GET"), ("name", "api")),
        ),
        ("m{status:'500'}", "m", (("status", "500"),)),
        ("m{url:http://x:1/a}", "m", (("url", "http://x:1/a"),)),
    ],
    ids=["plain", "one", "spaces-quotes", "single-quotes", "colon-in-value"],
)
def test_parse_metric_name(name, parent, pairs):
    assert parse_metric_name(name) == (parent, pairs)


@pytest.mark.parametrize("name", ["m{a:1", "m}", "m{}", "m{a}"])
def test_parse_metric_name_rejects(name):
    with pytest.raises(ValueError):
        parse_metric_name(name)


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_bit_identical_to_k6_formula(seed):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0, 2, size=int(rng.integers(2, 5000)))
    pcts = [50.0, 90.0, 95.0, 99.0, 99.9, 33.3]
    got = percentiles(values, pcts)
    assert all(got[p] == k6_percentile(values.tolist(), p) for p in pcts)


@pytest.mark.parametrize("fmt", ["yaml", "json", "json-wrapped"])
def test_load_thresholds_file(tmp_path, fmt):
    spec = {"http_req_duration{name:a}": ["p(95)<300", {"threshold": "avg<100", "abortOnFail": True}]}
    path = tmp_path / f"t.{fmt}"
    if fmt == "yaml":
        path.write_text(
            "http_req_duration{name:a}:\n  - p(95)<300\n  - {threshold: avg<100, abortOnFail: true}\n"
        )
    else:
        path.write_text(json.dumps({"thresholds": spec} if fmt == "json-wrapped" else spec))
    specs = load_thresholds_file(path)
    assert [(s.metric, s.expr.source, s.abort_on_fail, s.source) for s in specs] == [
        ("http_req_duration{name:a}", "p(95)<300", False, "file"),
        ("http_req_duration{name:a}", "avg<100", True, "file"),
    ]


def test_load_thresholds_file_bad_expression_names_file_metric_expression(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("http_reqs:\n  - count >> x\n")
    with pytest.raises(ConfigError, match=r"t\.yaml: http_reqs: .*count >> x"):
        load_thresholds_file(path)


def test_load_thresholds_file_missing(tmp_path):
    with pytest.raises(InputError):
        load_thresholds_file(tmp_path / "none.yaml")


@pytest.mark.k6
def test_every_threshold_form_in_k6_output_is_judged_like_k6(k6_runs, tmp_path):
    """The object form (abortOnFail, delayAbortEval), several per metric and selectors with
    spaces, colons and group paths, as k6 writes them into its JSON output: `novaload
    report` judges each like k6 and exits as k6 did (it once died on the object form)."""
    import subprocess
    import sys

    run = k6_runs("object_thresholds.js")
    out = tmp_path / "rep"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "report",
            str(run.json),
            "--k6-summary",
            str(run.export),
            "--out-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 99, proc.stdout + proc.stderr  # iterations count<3 fails, as in k6
    assert "Traceback" not in proc.stderr
    ours = json.loads((out / "summary.json").read_text())["metrics"]
    k6 = json.loads(run.export.read_text())["metrics"]
    k6_verdicts = {(m, e): not failed for m, v in k6.items() for e, failed in v.get("thresholds", {}).items()}
    our_verdicts = {(m, e): v["ok"] for m, v in ours.items() for e, v in v.get("thresholds", {}).items()}
    assert our_verdicts == k6_verdicts
    assert len(our_verdicts) == 6
