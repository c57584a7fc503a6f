"""junit.xml: one testcase per threshold and per check, failures counted and
explained, "no data" skipped, the file parses."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from report_factory import context, threshold

from novaload.reports import render_junit
from novaload.reports.junit import check_classname
from novaload.results.model import RunResults


def _suite(results: RunResults) -> ET.Element:
    root = ET.fromstring(render_junit(results, context(scenario="checkout")))
    suite = root.find("testsuite")
    assert suite is not None
    return suite


def test_thresholds_and_checks_become_testcases(sample_results: RunResults) -> None:
    suite = _suite(sample_results)
    cases = suite.findall("testcase")
    n_checks = len(sample_results.checks)
    assert suite.get("name") == "novaload checkout"
    assert int(suite.get("tests")) == len(sample_results.thresholds) + n_checks == len(cases)
    expected_failures = (sum(t.status == "failed" for t in sample_results.thresholds)
                         + int((sample_results.checks["fails"] > 0).sum()))
    assert int(suite.get("failures")) == expected_failures == sum(c.find("failure") is not None for c in cases)
    assert int(suite.get("skipped")) == 1
    assert float(suite.get("time")) == pytest.approx(sample_results.duration_s)


def test_failed_threshold_carries_observed_and_limit(sample_results: RunResults) -> None:
    suite = _suite(sample_results)
    case = next(c for c in suite.findall("testcase") if c.get("classname") == "thresholds.http_req_failed")
    assert case.get("name") == "rate<0.01"
    failure = case.find("failure")
    assert failure is not None
    observed = sample_results.value("http_req_failed", "value")
    assert f"{observed:.4g}" in failure.get("message") and "< 0.01" in failure.get("message")


def test_no_data_threshold_is_skipped(sample_results: RunResults) -> None:
    case = next(c for c in _suite(sample_results).findall("testcase")
                if c.get("classname") == "thresholds.http_req_duration{name:missing}")
    assert case.find("skipped") is not None and case.find("failure") is None


def test_failing_check_has_counts(sample_results: RunResults) -> None:
    sample_results.checks = pd.DataFrame({"group": ["::api::v1", ""], "check": ["is 200", "fast"],
                                          "passes": [7, 10], "fails": [3, 0], "rate": [0.7, 1.0]})
    sample_results.thresholds = [threshold("http_reqs", "count>0", 10, True)]
    suite = _suite(sample_results)
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    assert by_name["is 200"].get("classname") == "checks.api.v1"
    assert "3 of 10" in by_name["is 200"].find("failure").get("message")  # type: ignore[union-attr]
    assert by_name["fast"].find("failure") is None
    assert suite.get("failures") == "1"


@pytest.mark.parametrize(("group", "classname"), [("", "checks.root"), (None, "checks.root"),
                                                  ("::g1", "checks.g1"), ("::a::b", "checks.a.b")],
                         ids=["empty", "none", "one", "nested"])
def test_check_classname(group: str | None, classname: str) -> None:
    assert check_classname(group) == classname


def test_control_characters_do_not_break_xml(sample_results: RunResults) -> None:
    sample_results.checks = pd.DataFrame({"group": [""], "check": ["bell\x07 and nul\x00"], "passes": [1],
                                          "fails": [0], "rate": [1.0]})
    names = [c.get("name") for c in _suite(sample_results).findall("testcase")]
    assert "bell and nul" in names
