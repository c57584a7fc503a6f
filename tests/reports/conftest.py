"""Fixtures for the reporter tests (the builders live in ``report_factory``)."""

from __future__ import annotations

import pytest
from report_factory import Synth, build_results, context, threshold

from novaload.reports import ReportContext
from novaload.results.model import RunResults


@pytest.fixture
def sample_results() -> RunResults:
    """60 s, 3 endpoints, 30 % failures on 'login', latency doubling over the run."""
    synth = Synth(rising=2.0)
    r = build_results(synth)
    p95 = r.value("http_req_duration", "p(95)")
    rate = r.value("http_req_failed", "value")
    r.thresholds = [
        threshold("http_req_duration", "p(95)<500", p95, p95 < 500),
        threshold("http_req_failed", "rate<0.01", rate, rate < 0.01),
        threshold("http_req_duration{name:missing}", "p(95)<300", None, None),
    ]
    return r


@pytest.fixture
def sample_context() -> ReportContext:
    return context(verdict="failed", exit_code=99)
