"""Windowed thresholds: the syntax (an extension of k6's), where they go (never to k6),
and the judgement of both kinds on k6-format lines with known timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from novaload.config.models import Scenario
from novaload.errors import ConfigError
from novaload.results.ingest import ingest
from novaload.scenario.options import thresholds_option
from novaload.thresholds import load_thresholds_file, parse_threshold

T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "kind", "seconds", "expr"),
    [
        ("p(95) < 500 for 30s", "for", 30.0, "p(95) < 500"),
        ("rate<0.01 within 1m", "within", 60.0, "rate<0.01"),
        ("avg<=200 within 1m30s", "within", 90.0, "avg<=200"),
        ("p(99.9)<1e3 for 500ms", "for", 0.5, "p(99.9)<1e3"),
    ],
)
def test_window_syntax(text: str, kind: str, seconds: float, expr: str) -> None:
    t = parse_threshold("http_req_duration", text, source="file")
    assert t.window is not None and (t.window.kind, t.window.seconds) == (kind, seconds)
    assert t.expr.source == expr and t.expression == text and not t.for_k6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p(95)<500 for 30", "not a duration"),
        ("p(95)<500 within 0s", "longer than 0"),
        ("p(95)<500 for", "not a number"),
    ],
)
def test_bad_windows(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_threshold("http_req_duration", text, source="file")


def test_window_needs_no_abort_and_never_reaches_k6() -> None:
    with pytest.raises(ValueError, match="abortOnFail"):
        parse_threshold("m", {"threshold": "p(95)<5 for 10s", "abortOnFail": True}, source="config")
    scenario = Scenario.model_validate(
        {
            "name": "s",
            "template": "api.js.j2",
            "thresholds": {
                "http_req_duration": ["p(95)<500", "p(95)<500 for 30s"],
                "checks": ["rate>0.9 within 1m"],
            },
        }
    )
    assert thresholds_option(scenario.all_thresholds) == {"http_req_duration": ["p(95)<500"]}
    # k6's own output never carries a window: there it is a malformed expression
    with pytest.raises(ValueError):
        parse_threshold("m", "p(95)<5 for 10s", source="script")


def _point(metric: str, at: float, value: float, **tags: str) -> str:
    time = (T0 + timedelta(seconds=at)).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": "Point", "metric": metric, "data": {"time": time, "value": value, "tags": tags}}
    )


def _run(tmp_path: Path, slow: set[int]) -> Path:
    """20 s, 10 requests a second; in the seconds of ``slow`` every request takes 900 ms."""
    lines = [
        json.dumps(
            {
                "type": "Metric",
                "metric": "http_req_duration",
                "data": {
                    "name": "http_req_duration",
                    "type": "trend",
                    "contains": "time",
                    "thresholds": [],
                    "submetrics": None,
                },
            }
        )
    ]
    for s in range(20):
        for i in range(10):
            at = s + i / 10
            lines.append(_point("http_req_duration", at, 900.0 if s in slow else 10.0 + i, name="a"))
            lines.append(_point("http_req_failed", at, 1.0 if (s == 5 and i < 3) else 0.0, name="a"))
            lines.append(_point("http_reqs", at, 1.0, name="a"))
    path = tmp_path / "out.json"
    path.write_text("\n".join(lines) + "\n")
    return path


def _judge(path: Path, thresholds: dict, tmp_path: Path) -> dict:
    file = tmp_path / "t.yaml"
    file.write_text(json.dumps(thresholds))
    res = ingest([path], extra_thresholds=load_thresholds_file(file))
    return {t.expression: t for t in res.thresholds}


def test_for_needs_a_sustained_breach(tmp_path: Path) -> None:
    got = _judge(
        _run(tmp_path, slow={8, 9, 10, 11, 12, 15}),
        {"http_req_duration{name:a}": ["p(95)<500 for 5s", "p(95)<500 for 6s", "max<500"]},
        tmp_path,
    )
    five, six = got["p(95)<500 for 5s"], got["p(95)<500 for 6s"]
    assert five.ok is False and five.breaches == ((8.0, 13.0),)  # 8..12 in a row; 15 alone is too short
    assert six.ok is True and six.breaches == ()
    assert len(five.windows) == 20 and sum(w.ok is False for w in five.windows) == 6
    assert five.observed == 900.0 and five.window == "for 5s"
    assert got["max<500"].ok is False


def test_within_judges_sliding_windows(tmp_path: Path) -> None:
    got = _judge(
        _run(tmp_path, slow={10}),
        {
            "http_req_duration": ["p(95)<500 within 5s", "p(95)<500 within 20s", "p(95)<500 within 30s"],
            "http_req_failed": ["rate<0.05 within 2s", "rate<0.05 within 10s"],
        },
        tmp_path,
    )
    w5 = got["p(95)<500 within 5s"]
    # windows starting at 6..10 contain second 10: 10 of 50 samples (20 %) at 900 ms
    assert [w.t0 for w in w5.windows if w.ok is False] == [6.0, 7.0, 8.0, 9.0, 10.0]
    assert w5.breaches == ((6.0, 15.0),) and len(w5.windows) == 16
    # one 20 s window = the whole run: 10 of 200 samples slow, p95 interpolates into them
    whole = got["p(95)<500 within 20s"]
    assert len(whole.windows) == 1 and whole.observed == pytest.approx(
        10.0 + 9 + 0.05 * (900 - 19), rel=1e-12
    )
    longer = got["p(95)<500 within 30s"]  # longer than the run: one window, the whole run
    assert [(w.t0, w.observed) for w in longer.windows] == [(w.t0, w.observed) for w in whole.windows]
    # 3 failures in second 5: 3/20 = 15 % in every 2 s window holding it, 3/100 in 10 s windows
    r2 = got["rate<0.05 within 2s"]
    assert r2.ok is False and r2.observed == 3 / 20 and r2.breaches == ((4.0, 7.0),)
    assert got["rate<0.05 within 10s"].ok is True and got["rate<0.05 within 10s"].observed == 3 / 100


def test_bad_aggregation_for_the_metric_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not available for a rate metric"):
        _judge(_run(tmp_path, slow=set()), {"http_req_failed": ["p(95)<1 within 5s"]}, tmp_path)


@pytest.mark.parametrize("engine", ["fast", "duckdb"])
def test_any_metric_is_windowed_for_its_threshold(tmp_path: Path, engine: str) -> None:
    """A custom trend is not in the time series: the scan windows it because a windowed
    threshold names it (both scan engines)."""
    from novaload.results import fastscan

    if engine == "fast" and not fastscan.available():
        pytest.skip("the C scanner is not built")
    lines = [
        _point("my_trend", s + i / 4, 50.0 if s == 3 else 1.0, step="x") for s in range(8) for i in range(4)
    ]
    path = tmp_path / "custom.json"
    path.write_text("\n".join(lines) + "\n")
    file = tmp_path / "t.yaml"
    file.write_text(json.dumps({"my_trend{step:x}": ["avg<10 within 2s", "max<10 for 1s"]}))
    res = ingest([path], extra_thresholds=load_thresholds_file(file), engine=engine)
    got = {t.expression: t for t in res.thresholds}
    within = got["avg<10 within 2s"]
    assert [w.t0 for w in within.windows if w.ok is False] == [2.0, 3.0]  # (4*1 + 4*50) / 8 = 25.5
    assert within.observed == (4 * 1.0 + 4 * 50.0) / 8
    assert got["max<10 for 1s"].breaches == ((3.0, 4.0),)
