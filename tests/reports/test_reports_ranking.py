"""Endpoints worst first (``reports/ranking.py``): a failed threshold of the endpoint's
own submetric, then error rate, then p95, then name; never by request count."""

from __future__ import annotations

import pandas as pd
from report_factory import Synth, build_results, context, threshold

from novaload.reports.html import render_html
from novaload.reports.ranking import breached_by_endpoint, rank_endpoints


def _endpoints(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["name", "requests", "error_rate", "p95"])


def test_breach_then_error_rate_then_p95_then_name() -> None:
    r = build_results(Synth())
    r.endpoints = _endpoints([
        ("busy", 9000, 0.0, 20.0), ("slow", 10, 0.0, 900.0), ("erring", 50, 0.2, 30.0),
        ("breached", 40, 0.0, 50.0), ("tie-b", 100, 0.0, 20.0), ("tie-a", 100, 0.0, 20.0),
    ])
    r.thresholds = [threshold("http_req_duration{name:breached}", "p(95)<40", 50.0, False),
                    threshold("http_req_duration{name:slow}", "p(95)<1000", 900.0, True)]
    assert rank_endpoints(r)["name"].tolist() == ["breached", "erring", "slow", "busy", "tie-a", "tie-b"]


def test_only_failed_thresholds_of_the_endpoints_own_submetric_count() -> None:
    r = build_results(Synth())
    r.thresholds = [
        threshold("http_req_duration", "p(95)<1", 30.0, False),  # the whole run: no endpoint's
        threshold("http_req_failed{name:search,method:GET}", "rate<0.01", 0.2, False),
        threshold("http_req_duration{name:home}", "p(95)<1000", 30.0, True),
    ]
    assert set(breached_by_endpoint(r)) == {"search"}


def test_the_html_report_puts_the_slowest_rare_endpoint_first_and_charts_it() -> None:
    """The case of the issue: the slowest endpoint is the least busy of seven; it used to
    be missing from the per-endpoint charts (the six busiest)."""
    names = ("a", "b", "c", "d", "e", "f", "rare")
    r = build_results(Synth(endpoints=names, fail_endpoint=None, fail_share=0.0))
    r.endpoints = r.endpoints.assign(requests=[700, 600, 500, 400, 300, 200, 5],
                                     p95=[10, 11, 12, 13, 14, 15, 950.0])
    r.thresholds = [threshold("http_req_duration{name:rare}", "p(95)<500", 950.0, False)]
    page = render_html(r, context(verdict="failed"))
    table = page.split('id="endpoints"', 1)[1].split("</table>", 1)[0]
    assert table.index("✘ rare") < table.index(">a<")
    charts = page.split('id="endpoint-charts"', 1)[1].split("</section>", 1)[0]
    assert "✘ rare: distribution" in charts and 'data-highlight="1"' in charts
    assert "a: distribution" not in charts  # the least bad of seven is left out of six
    assert "Worst endpoint: <strong" in page.split('id="thresholds"', 1)[0]
