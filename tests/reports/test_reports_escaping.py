"""Every user-controlled string (endpoint name, URL, check, group, error,
scenario, run metadata) reaches report.html and report.md escaped, never raw."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from report_factory import XSS_IMG, XSS_SCRIPT, Synth, build_results, context

from novaload.reports import ExtraSection, render_html, render_junit, render_markdown
from novaload.results.model import RunResults

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attr-break": '"><img src=x onerror=alert(1)>',
    "title-script": XSS_SCRIPT,
    "title-img": XSS_IMG,
}


def _evil_results(payload: str) -> RunResults:
    r = build_results(Synth(endpoints=(f"home{payload}", "other"), fail_endpoint=f"home{payload}",
                            groups=(f"::grp{payload}",)))
    r.failing_urls = r.failing_urls.assign(url=f"http://127.0.0.1/x?q={payload}")
    r.errors = r.errors.assign(error=f"boom {payload}")
    r.checks = pd.DataFrame({"group": [f"::grp{payload}"], "check": [f"check {payload}"],
                             "passes": [1], "fails": [2], "rate": [1 / 3]})
    r.warnings = [f"warning {payload}"]
    return r


@pytest.fixture(params=list(PAYLOADS.values()), ids=list(PAYLOADS))
def payload(request: pytest.FixtureRequest) -> str:
    return request.param


def test_html_never_contains_raw_payload(payload: str) -> None:
    ctx = context(scenario=f"sc{payload}", run_id=f"id{payload}", target_url=f"http://t/{payload}",
                  environment=payload, analyses=[ExtraSection.from_text("Soak", f"leak {payload}")])
    out = render_html(_evil_results(payload), ctx)
    assert payload not in out
    assert "<img" not in out and "<script" not in out  # "onerror=" as escaped text is inert
    escaped = html.escape(payload, quote=True)
    # endpoint, url, error, check, group, warning, scenario, run id, target, environment, extra section
    assert out.count(escaped) >= 10


def test_markdown_never_contains_raw_angle_brackets(payload: str) -> None:
    out = render_markdown(_evil_results(payload), context(scenario=f"sc{payload}"))
    assert payload not in out
    assert "<script" not in out and "<img" not in out
    assert "&lt;" in out


def test_junit_escapes_and_stays_valid(payload: str) -> None:
    data = render_junit(_evil_results(payload), context(scenario=payload))
    root = ET.fromstring(data)
    names = {c.get("name") for c in root.iter("testcase")}
    assert f"check {payload}" in names  # round-trips exactly through the XML escaping
    assert root.find("testsuite").get("name") == f"novaload {payload}"  # type: ignore[union-attr]
