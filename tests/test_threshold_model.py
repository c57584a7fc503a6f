"""The one threshold model (``novaload.thresholds``): every form k6 accepts, parsed once
and used alike by config validation, the results engine and the analyses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from novaload.analysis import slo_from_thresholds
from novaload.config.models import Scenario
from novaload.errors import ConfigError
from novaload.scenario.options import thresholds_option
from novaload.thresholds import (
    Threshold,
    load_thresholds_file,
    parse_metric_thresholds,
    parse_selector,
    parse_threshold,
    thresholds_from_mapping,
)

PACKAGE = Path(__file__).resolve().parents[1] / "novaload"


@pytest.mark.parametrize(
    ("text", "op", "agg", "limit"),
    [
        ("p(95)<=500", "<=", "p(95)", 500.0),  # "<=" is tried before "<"
        ("avg>=1", ">=", "avg", 1.0),  # ">=" before ">"
        ("count===3", "===", "count", 3.0),  # "===" before "=="
        ("min != 0", "!=", "min", 0.0),
        ("max < .5", "<", "max", 0.5),
        ("p(99.99) < 1e3", "<", "p(99.99)", 1000.0),
        ("med>0", ">", "med", 0.0),
        ("value==1", "==", "value", 1.0),
    ],
)
def test_operators_in_k6_order(text: str, op: str, agg: str, limit: float) -> None:
    t = parse_threshold("m", text)
    assert (t.expr.operator, t.expr.aggregation, t.expr.limit) == (op, agg, limit)


@pytest.mark.parametrize(
    ("name", "metric", "tags", "k6_name"),
    [
        (
            "http_req_duration{name:index,method:GET}",
            "http_req_duration",
            (("method", "GET"), ("name", "index")),
            "http_req_duration{name:index,method:GET}",
        ),
        (
            "checks{check:status is 200: ok}",
            "checks",
            (("check", "status is 200: ok"),),
            "checks{check:status is 200: ok}",
        ),
        (
            "group_duration{group:::a::b}",
            "group_duration",
            (("group", "::a::b"),),
            "group_duration{group:::a::b}",
        ),
        (
            "http_reqs{ url : 'http://x:1/a b' }",
            "http_reqs",
            (("url", "http://x:1/a b"),),
            "http_reqs{url : 'http://x:1/a b'}",
        ),
    ],
    ids=["two-tags", "spaces-colons", "group-path", "quoted-url"],
)
def test_submetric_selectors(name: str, metric: str, tags: tuple, k6_name: str) -> None:
    sel = parse_threshold(name, "count>0").parsed_metric
    assert (sel.metric, sel.tags, sel.name, sel.is_submetric) == (metric, tags, k6_name, True)
    assert sel.matches({**dict(tags), "other": "x"})
    assert not sel.matches({})


def test_object_form_keeps_abort_and_delay_and_goes_back_to_k6_as_written() -> None:
    items = ["p(95)<500", {"threshold": "p(99)<1000", "abortOnFail": True, "delayAbortEval": "10s"}]
    got = parse_metric_thresholds("http_req_duration", items)
    assert [(t.expression, t.abort_on_fail, t.delay_abort_eval, t.object_form) for t in got] == [
        ("p(95)<500", False, None, False),
        ("p(99)<1000", True, "10s", True),
    ]
    assert [t.to_k6() for t in got] == items


def test_a_single_item_is_accepted_like_k6() -> None:
    assert [t.expression for t in parse_metric_thresholds("checks", "rate>0.9")] == ["rate>0.9"]
    assert [t.expression for t in parse_metric_thresholds("checks", {"threshold": "rate>0.9"})] == [
        "rate>0.9"
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"threshold": "avg<1", "abortOnFail": "yes"}, "abortOnFail must be true or false"),
        ({"threshold": "avg<1", "delayAbortEval": "soon"}, "delayAbortEval must be a duration"),
        ({"abortOnFail": True}, "a threshold is a string or"),
        ({"threshold": "avg<1", "abortonfail": True}, "unknown key(s) abortonfail"),
        (42, "a threshold is a string or"),
    ],
)
def test_bad_forms(item: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_threshold("m", item)


def test_k6_output_is_read_leniently() -> None:
    """Keys a later k6 might add to the object form do not break reading its output."""
    t = parse_threshold("m", {"threshold": "avg<1", "future": 1}, strict=False)
    assert t.expression == "avg<1"


def test_a_file_error_names_origin_metric_and_expression() -> None:
    with pytest.raises(ConfigError, match=r"t\.yaml: checks: invalid threshold expression: .*'rate>>1'"):
        thresholds_from_mapping({"checks": [{"threshold": "rate>>1"}]}, source="file", origin="t.yaml")


def test_a_file_with_a_number_for_a_metric_is_one_error(tmp_path: Path) -> None:
    """``metric: 500`` is neither an expression nor a list of them: a ConfigError naming the
    file and the metric (it used to escape as a TypeError, a traceback and exit 1)."""
    path = tmp_path / "t.yaml"
    path.write_text("http_req_duration: 500\nchecks: ['rate>0.9']\n")
    with pytest.raises(ConfigError, match=r"t\.yaml: http_req_duration: thresholds of a metric are a list"):
        load_thresholds_file(path)
    path.write_text("http_req_duration:\nchecks: ['rate>0.9']\n")  # nothing under a metric: none
    assert [t.metric for t in load_thresholds_file(path)] == ["checks"]


def test_config_parses_once_and_every_user_sees_the_same_objects() -> None:
    scenario = Scenario(
        name="s",
        template="api.js.j2",
        endpoints=[
            {"name": "index", "path": "/", "thresholds": [{"threshold": "p(90)<200", "abortOnFail": True}]}
        ],
        thresholds={"http_req_failed": ["rate<0.02"], "http_req_duration{name:index}": ["p(95)<300"]},
    )
    all_t = scenario.all_thresholds
    assert all(isinstance(t, Threshold) and t.source == "config" for ts in all_t.values() for t in ts)
    assert [t.expression for t in all_t["http_req_duration{name:index}"]] == ["p(95)<300", "p(90)<200"]
    # k6's options get them back in the form they were written
    assert thresholds_option(all_t)["http_req_duration{name:index}"] == [
        "p(95)<300",
        {"threshold": "p(90)<200", "abortOnFail": True},
    ]
    # the analyses read the same objects: a submetric's threshold is not the run's SLO
    slo = slo_from_thresholds(all_t)
    assert (slo.latency_ms, slo.error_rate) == (None, 0.02)


def test_parse_selector_name_is_k6s_submetric_name() -> None:
    assert parse_selector("http_req_duration{ name:a }").name == "http_req_duration{name:a}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):  # function-level imports count
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_model_sits_below_config_results_analysis_and_reports() -> None:
    mine = {m for m in _imports(PACKAGE / "thresholds.py") if m.startswith("novaload")}
    # inputs.py reads the thresholds file within bounds; it imports errors alone.
    assert mine <= {"novaload.errors", "novaload.inputs"}
    # ... and the old parsers are gone: nobody else spells k6's operators or selectors.
    for path in PACKAGE.rglob("*.py"):
        if path.name == "thresholds.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"<=", "<", ">=", ">"' not in text, path
        assert "ThresholdSpec" not in text, path
