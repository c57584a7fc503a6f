"""A big run (1,000 endpoints, ~100,000 failed requests spread over ~20,000
URLs, one hour of 1 s windows) still gives bounded, capped reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factory import Synth, build_results, context

from novaload.reports import write_all
from novaload.reports import html as html_mod
from novaload.reports.svg import MAX_POINTS
from novaload.results.model import RunResults


@pytest.fixture(scope="module")
def big_results() -> RunResults:
    names = tuple(f"/api/v1/resource-{i:04d}" for i in range(1000))
    return build_results(Synth(seconds=3600, rps=42, endpoints=names, fail_endpoint=None, fail_share=0.67,
                               urls_per_endpoint=20, seed=3))


@pytest.fixture(scope="module")
def big_reports(big_results: RunResults, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("big")
    return {p.name: p for p in write_all(big_results, context(), out)}


def test_input_is_as_big_as_claimed(big_results: RunResults) -> None:
    assert len(big_results.endpoints) == 1000
    assert big_results.value("http_req_failed", "passes") >= 100_000
    assert len(big_results.failing_urls) > 15_000 and len(big_results.timeseries) == 3600


def test_html_and_markdown_stay_small(big_reports: dict[str, Path]) -> None:
    assert big_reports["report.html"].stat().st_size < 3_000_000
    assert big_reports["report.md"].stat().st_size < 8 * 1024


def test_tables_are_capped_with_a_note(big_reports: dict[str, Path], big_results: RunResults) -> None:
    page = big_reports["report.html"].read_text()
    assert page.count("/api/v1/resource-") < 1000
    assert f"{1000 - html_mod.ENDPOINT_ROWS:,} more not shown (all endpoints are in endpoints.csv)" in page
    assert f"{len(big_results.failing_urls) - html_mod.FAILING_URL_ROWS:,} more not shown" in page


def test_charts_are_downsampled(big_reports: dict[str, Path]) -> None:
    page = big_reports["report.html"].read_text()
    polylines = page.split("<polyline")[1:]
    assert polylines
    for pl in polylines:
        points = pl.split('points="', 1)[1].split('"', 1)[0].split()
        assert len(points) <= MAX_POINTS


def test_csv_keeps_everything(big_reports: dict[str, Path]) -> None:
    assert big_reports["endpoints.csv"].read_text().count("\n") == 1001
    assert big_reports["timeseries.csv"].read_text().count("\n") == 3601
