"""report.html in real headless Chromium: the charts are drawn under Jenkins'
default CSP (which blocks all inline CSS), and injected markup never runs."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from browser import JENKINS_CSP, Image, chromium_path, require_tool, decode_png, dump_dom, hex_rgb, screenshot, serve
from report_factory import XSS_IMG, XSS_SCRIPT, Synth, build_results, context

from novaload.reports import html as html_mod
from novaload.reports import write_all

pytestmark = pytest.mark.browser

SERIES = {"throughput": html_mod.C_RPS, "p50": html_mod.C_P50, "p95": html_mod.C_P95, "p99": html_mod.C_P99,
          "errors": html_mod.C_ERR, "vus": html_mod.C_VUS}
MIN_SERIES_PIXELS = 300  # a 2 px line across ~1000 px of plot gives thousands; a blank chart 0


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    require_tool(path is not None, "chromium not installed (apt-get install chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_all(build_results(Synth(rising=2.0)), context(verdict="failed", exit_code=99), out, names=["html"])
    return out


@pytest.fixture(scope="module")
def shots(chromium: str, report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Image]:
    shots_dir = tmp_path_factory.mktemp("shots")
    out = {}
    for label, csp in (("jenkins-csp", JENKINS_CSP), ("no-csp", None)):
        with serve(report_dir, csp) as base:
            out[label] = decode_png(screenshot(chromium, f"{base}/report.html", shots_dir / f"{label}.png",
                                                  size=(1400, 9000)))
    return out


def test_csp_header_really_blocked_the_stylesheet(shots: dict[str, Image]) -> None:
    """Guards the test itself: the page background is the CSS colour only without the CSP."""
    assert shots["no-csp"].pixel(3, 3) == hex_rgb("#f6f7f9")
    assert shots["jenkins-csp"].pixel(3, 3) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["jenkins-csp", "no-csp"])
def test_every_chart_series_is_drawn(shots: dict[str, Image], mode: str) -> None:
    image = shots[mode]
    counts = {name: image.count_near(hex_rgb(color), tol=10) for name, color in SERIES.items()}
    assert all(n >= MIN_SERIES_PIXELS for n in counts.values()), counts


def test_verdict_badge_keeps_its_colour_under_csp(shots: dict[str, Image]) -> None:
    image = shots["jenkins-csp"]
    assert image.count_near(hex_rgb(html_mod.VERDICT_COLORS["failed"]), tol=4, box=(0, 0, image.width, 300)) > 1000


def test_injected_markup_does_not_execute(chromium: str, tmp_path: Path) -> None:
    r = build_results(Synth(endpoints=(f"ep{XSS_IMG}", f"ep{XSS_SCRIPT}"), fail_endpoint=f"ep{XSS_IMG}",
                            groups=(f"::g{XSS_SCRIPT}",)))
    r.failing_urls = r.failing_urls.assign(url=f"http://127.0.0.1/?q={XSS_IMG}")
    r.errors = r.errors.assign(error=XSS_SCRIPT)
    write_all(r, context(scenario="xss", verdict="passed"), tmp_path, names=["html"])
    with serve(tmp_path, None) as base:  # no CSP: the worst case
        dom = dump_dom(chromium, f"{base}/report.html")
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "PWNED" not in title and title == html.escape("novaload · xss · passed")
    assert "<img" not in dom and "<script" not in dom
    assert html.escape(XSS_SCRIPT, quote=False) in dom  # shown to the reader as text
    assert html.escape(XSS_IMG, quote=False) in dom


@pytest.mark.parametrize("payload", [XSS_IMG, XSS_SCRIPT], ids=["img-onerror", "script"])
def test_harness_catches_a_raw_injection(chromium: str, tmp_path: Path, payload: str) -> None:
    """Control: the same payload written raw does run, so the test above can fail."""
    (tmp_path / "raw.html").write_text(f"<!DOCTYPE html><html><head><title>safe</title></head>"
                                       f"<body><table><tr><td>ep{payload}</td></tr></table></body></html>")
    with serve(tmp_path, None) as base:
        dom = dump_dom(chromium, f"{base}/raw.html")
    assert "<title>PWNED</title>" in dom
