"""Each recommendation rule fires on the pattern it names and stays quiet otherwise."""

from __future__ import annotations

import pandas as pd
import pytest
from report_factory import Synth, build_results, threshold

from novaload.reports.recommendations import (
    checks_failing,
    duration_from_span,
    failures_concentrated,
    latency_rising,
    long_tail,
    recommend,
    thresholds_without_data,
)
from novaload.results.model import RunResults


def test_failures_on_one_endpoint_are_called_out() -> None:
    rec = failures_concentrated(build_results(Synth(fail_endpoint="login")))
    assert rec is not None and "login" in rec.title and "100%" in rec.detail


def test_failures_spread_evenly_are_not_concentrated() -> None:
    r = build_results(Synth(endpoints=("a", "b", "c", "d"), fail_endpoint=None, fail_share=0.2))
    assert failures_concentrated(r) is None


@pytest.mark.parametrize(("rising", "fires"), [(4.0, True), (1.0, False)], ids=["rising", "flat"])
def test_latency_rising_compares_first_and_last_third(rising: float, fires: bool) -> None:
    r = build_results(Synth(rising=rising, rps=100))
    rec = latency_rising(r)
    assert (rec is not None) is fires
    if rec:
        p95 = r.timeseries["p95"]
        third = len(p95) // 3
        ratio = p95.iloc[-third:].median() / p95.iloc[:third].median()
        assert f"({ratio:.1f}x)" in rec.detail


def test_threshold_without_data_is_named(sample_results: RunResults) -> None:
    rec = thresholds_without_data(sample_results)
    assert rec is not None and "http_req_duration{name:missing}: p(95)<300" in rec.detail
    sample_results.thresholds = [t for t in sample_results.thresholds if t.ok is not None]
    assert thresholds_without_data(sample_results) is None


def test_long_tail_uses_p99_over_p50(sample_results: RunResults) -> None:
    values = sample_results.metrics["http_req_duration"].values
    values.update({"med": 20.0, "p(99)": 400.0})
    rec = long_tail(sample_results)
    assert rec is not None and "20.0x" in rec.detail
    values["p(99)"] = 60.0
    assert long_tail(sample_results) is None


def test_sample_span_duration_is_mentioned() -> None:
    assert duration_from_span(build_results(Synth(), duration_source="sample-span")) is not None
    assert duration_from_span(build_results(Synth())) is None


def test_checks_failing_names_the_worst_check(sample_results: RunResults) -> None:
    sample_results.checks = pd.DataFrame({"group": ["", ""], "check": ["a", "b"], "passes": [5, 1],
                                          "fails": [1, 9], "rate": [5 / 6, 0.1]})
    rec = checks_failing(sample_results)
    assert rec is not None and "'b'" in rec.detail and rec.title.startswith("10 ")


def test_recommend_orders_by_severity(sample_results: RunResults) -> None:
    sample_results.thresholds.append(threshold("checks", "rate>0.9", None, None))
    order = [r.severity for r in recommend(sample_results)]
    rank = {"critical": 0, "warning": 1, "info": 2}
    assert order and order == sorted(order, key=rank.__getitem__)


def test_healthy_run_has_no_recommendations() -> None:
    r = build_results(Synth(fail_endpoint=None, fail_share=0.0))
    assert recommend(r) == []
