"""junit.xml: one testcase per threshold and per check, failures counted and
explained, "no data" skipped, the file parses; its failures agree with the exit code
(``run/outcome.exit_code_for``): thresholds fail, checks never do by themselves."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from report_factory import context, threshold

from novaload.reports import render_junit
from novaload.reports.junit import check_classname
from novaload.compare.comparison import Comparison, EndpointComparison, MetricChange, SideInfo, Status
from novaload.compare.config import CompareConfig
from novaload.results.model import RunResults, ThresholdResult
from novaload.run.outcome import exit_code_for, verdict_for


def _suite(results: RunResults, **kw: object) -> ET.Element:
    root = ET.fromstring(render_junit(results, context(scenario="checkout", **kw)))
    suite = root.find("testsuite")
    assert suite is not None
    return suite


def test_thresholds_and_checks_become_testcases(sample_results: RunResults) -> None:
    suite = _suite(sample_results)
    cases = suite.findall("testcase")
    n_checks = len(sample_results.checks)
    assert suite.get("name") == "novaload checkout"
    assert int(suite.get("tests")) == len(sample_results.thresholds) + n_checks == len(cases)
    # checks are reported, not failed: only thresholds fail (k6's jUnit() does the same)
    expected_failures = sum(t.status == "failed" for t in sample_results.thresholds)
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


def test_failing_check_has_counts_but_fails_no_test_case(sample_results: RunResults) -> None:
    # Was: a check with one failed evaluation was a failed test case, so CI went red on a
    # run that exited 0. k6 fails a run on checks only through a `checks` threshold.
    sample_results.checks = pd.DataFrame({"group": ["::api::v1", ""], "check": ["is 200", "fast"],
                                          "passes": [7, 10], "fails": [3, 0], "rate": [0.7, 1.0]})
    sample_results.thresholds = [threshold("http_reqs", "count>0", 10, True)]
    exit_code = exit_code_for(0, sample_results)
    suite = _suite(sample_results, exit_code=exit_code)
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    assert by_name["is 200"].get("classname") == "checks.api.v1"
    assert by_name["is 200"].findtext("system-out") == "7 of 10 evaluations passed, 3 failed"
    assert by_name["is 200"].find("failure") is None and by_name["fast"].find("failure") is None
    assert exit_code == 0 and suite.get("failures") == "0"


def test_checks_threshold_is_the_failing_case(sample_results: RunResults) -> None:
    sample_results.checks = pd.DataFrame({"group": [""], "check": ["is 200"], "passes": [7], "fails": [3],
                                          "rate": [0.7]})
    sample_results.thresholds = [threshold("checks", "rate>0.9", 0.7, False)]
    exit_code = exit_code_for(0, sample_results)
    suite = _suite(sample_results, exit_code=exit_code)
    failed = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase") if c.find("failure") is not None]
    assert exit_code == 99 and failed == [("thresholds.checks", "rate>0.9")] and suite.get("failures") == "1"


def test_windowed_threshold_failure_names_its_window(sample_results: RunResults) -> None:
    sample_results.thresholds = [ThresholdResult("http_req_duration", "p(95)<100 for 10s", "p(95)", "<", 100.0,
                                                 180.0, False, window="for 10s", breaches=((20.0, 40.0),))]
    exit_code = exit_code_for(0, sample_results)
    failure = _suite(sample_results, exit_code=exit_code).find("testcase/failure")
    assert exit_code == 99 and failure is not None and "for 10s" in failure.get("message", "")


def test_incomplete_thresholds_fail_only_when_the_run_exits_7(sample_results: RunResults) -> None:
    sample_results.thresholds = [threshold("http_reqs", "count>0", 10, True)]
    sample_results.thresholds_incomplete = ["http_req_duration{name:search}"]
    for k6_judged, code, element in ((False, 7, "failure"), (True, 0, "skipped")):
        exit_code = exit_code_for(0, sample_results, k6_judged=k6_judged)
        suite = _suite(sample_results, exit_code=exit_code, verdict=verdict_for(exit_code, sample_results))
        case = next(c for c in suite.findall("testcase") if c.get("name") == "incomplete")
        assert exit_code == code and case.get("classname") == "thresholds.http_req_duration{name:search}"
        assert case.find(element) is not None
        assert suite.get("failures") == ("1" if code else "0")


def _comparison(regressed: bool) -> Comparison:
    side = SideInfo("baseline", "20261120-base", "checkout", "local", None, None, None)
    status = Status.REGRESSED if regressed else Status.UNCHANGED
    change = MetricChange("p95", 100.0, 150.0, 0.5, None, status, 0.15)
    return Comparison(baseline=side, current=side, config=CompareConfig(),
                      endpoints=[EndpointComparison("overall", 100, 100, [change])])


@pytest.mark.parametrize("regressed", [True, False], ids=["regressed", "unchanged"])
def test_comparison_is_a_test_case_failing_on_regression(sample_results: RunResults, regressed: bool) -> None:
    sample_results.thresholds = [threshold("http_reqs", "count>0", 10, True)]
    comparison = _comparison(regressed)
    exit_code = exit_code_for(0, sample_results, regressed=comparison.regressed)
    suite = _suite(sample_results, exit_code=exit_code, comparison=comparison)
    case = next(c for c in suite.findall("testcase") if c.get("classname") == "comparison")
    assert case.get("name") == "baseline 20261120-base"
    assert exit_code == (3 if regressed else 0)
    assert (case.find("failure") is not None) is regressed and suite.get("failures") == str(int(regressed))


def test_other_exit_codes_fail_a_run_case(sample_results: RunResults) -> None:
    # k6 exited 107 (a script exception) with every threshold passed: still red.
    sample_results.thresholds = [threshold("http_reqs", "count>0", 10, True)]
    suite = _suite(sample_results, exit_code=107, verdict="error: script exception")
    case = next(c for c in suite.findall("testcase") if c.get("classname") == "run")
    assert case.get("name") == "exit code" and "107" in case.find("failure").get("message")  # type: ignore[union-attr]
    assert suite.get("failures") == "1"
    assert _suite(sample_results, exit_code=0).find("testcase[@classname='run']") is None


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
