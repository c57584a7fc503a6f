"""The judgement sections of report.html in real headless Chromium under Jenkins' CSP:
the load-generator charts, a windowed SLO's chart with its breached windows shaded
(also on the latency chart), and the per-endpoint histograms and percentile charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser import JENKINS_CSP, Image, chromium_path, decode_png, dump_dom, hex_rgb, require_tool, screenshot, serve
from report_factory import context

from novaload.config.models import GeneratorCriteria
from novaload.reports import html as html_mod
from novaload.reports import write_all
from novaload.results.generator import GeneratorSample, assess
from novaload.results.ingest import ingest
from novaload.thresholds import thresholds_from_mapping

pytestmark = pytest.mark.browser
T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def _k6_lines(path: Path) -> Path:
    """60 s, 20 requests a second over two endpoints, every request slow from 20 s to 40 s."""
    out = []
    for s in range(60):
        for i in range(20):
            at = (T0 + timedelta(seconds=s + i / 20)).isoformat().replace("+00:00", "Z")
            name = "home" if i % 2 else "search"
            v = 700.0 + i if 20 <= s < 40 else 5.0 * (1 + i % 7)
            for metric, value in (("http_req_duration", v), ("http_reqs", 1.0), ("http_req_failed", 0.0)):
                out.append(json.dumps({"type": "Point", "metric": metric, "data": {
                    "time": at, "value": value, "tags": {"name": name, "expected_response": "true"}}}))
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Image, str]:
    chromium = chromium_path()
    require_tool(chromium is not None, "chromium not installed (apt-get install chromium)")
    assert chromium is not None
    folder = tmp_path_factory.mktemp("judged")
    slo = thresholds_from_mapping({"http_req_duration": ["p(95)<500 for 10s"]}, source="file", origin="t")
    res = ingest([_k6_lines(folder / "out.json")], extra_thresholds=slo)
    samples = [GeneratorSample(float(t), 1, 1.0, 50.0 + t, 10.0 * (t % 3), 1.0, 40_000_000 + 10_000 * t, None)
               for t in range(1, 60)]
    res.load_generator = assess(dropped_iterations=0, samples=samples, vu_ceilings=[], criteria=GeneratorCriteria())
    write_all(res, context(verdict="failed", exit_code=99), folder, names=["html"])
    with serve(folder, JENKINS_CSP) as base:
        image = decode_png(screenshot(chromium, f"{base}/report.html", folder / "shot.png", size=(1400, 9000)))
        dom = dump_dom(chromium, f"{base}/report.html")
    return image, dom


@pytest.mark.parametrize("color", ["C_GEN_CPU", "C_GEN_DEMAND", "C_GEN_MEM", "C_SLO", "C_BREACH", "C_HIST"])
def test_series_and_shading_are_drawn_under_csp(shot: tuple[Image, str], color: str) -> None:
    image, _ = shot
    assert image.count_near(hex_rgb(getattr(html_mod, color)), tol=6) >= 300


def test_breached_windows_and_endpoint_charts_are_in_the_page(shot: tuple[Image, str]) -> None:
    _, dom = shot
    assert dom.count('data-breach="') >= 2  # the SLO chart and the latency chart
    for name in ("home", "search"):
        assert f"{name}: distribution" in dom and f"{name}: percentiles per window" in dom
    assert "Load generator" in dom and "UNTRUSTWORTHY" in dom  # demand >= 90 % from 40 s on
