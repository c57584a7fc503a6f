"""report.html of a real run, problem first and readable from a phone to a wide screen.

k6 runs docs/img/report-demo.js (the script behind the README's screenshot) against the
demo target through ``novaload run``: seven endpoints, the slow usage report the least
busy of them and failing its own threshold. Chromium renders the report at 360, 768 and
1400 px; in each, nothing is wider than the window, no box cuts its content off and no
word is split across lines. The screenshots are kept beside the run (``<width>.png``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser import chromium_path, layout_at_widths, require_tool, serve

# one k6 run for the module: its tests stay on one xdist worker (make check: --dist loadgroup)
pytestmark = [pytest.mark.k6, pytest.mark.browser, pytest.mark.xdist_group("report-layout")]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docs" / "img" / "report-demo.js"
WIDTHS = (360, 768, 1400)
SLOW = "usage_report"


@pytest.fixture(scope="module")
def run_dir(demo_target: str, k6_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layout") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(SCRIPT), "--target", demo_target, "--duration", "6s",
         "--out-dir", str(out)],
        capture_output=True, text=True, timeout=180, cwd=REPO, env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert proc.returncode == 99, proc.stdout[-3000:] + proc.stderr[-3000:]  # the usage report's threshold
    return out


@pytest.fixture(scope="module")
def page(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def layouts(run_dir: Path) -> dict[int, dict[str, Any]]:
    chromium = chromium_path()
    require_tool(chromium is not None, "chromium not installed (apt-get install chromium)")
    assert chromium is not None
    with serve(run_dir, None) as base:
        return layout_at_widths(chromium, f"{base}/report.html", WIDTHS, shots=run_dir)


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_overflows_and_no_word_breaks(layouts: dict[int, dict[str, Any]], run_dir: Path, width: int) -> None:
    found = layouts[width]
    assert found["inner"] == width
    assert found["scroll"] <= width, found["wide"][:10]
    assert found["wide"] == [], found["wide"][:10]
    assert found["broken"] == [], found["broken"][:20]
    assert (run_dir / f"{width}.png").stat().st_size > 10_000


def _section(page: str, sid: str) -> str:
    return page.split(f'<section id="{sid}">', 1)[1].split("</section>", 1)[0]


def test_the_failing_endpoint_comes_first_and_is_highlighted(page: str) -> None:
    table = _section(page, "endpoints")
    first = re.search(r"<tbody>\s*<tr[^>]*>\s*<td[^>]*>([^<]*)</td>", table)
    assert first is not None and first.group(1) == f"✘ {SLOW}"
    assert f'<tr class="bad"><td class="u" data-label="Endpoint (name tag)">✘ {SLOW}' in table
    cards = _section(page, "endpoint-charts")
    first_card = cards.split('<div class="ep', 2)[1]
    assert first_card.startswith(' bad"') and f"✘ {SLOW}: distribution" in first_card
    assert first_card.count('data-highlight="1"') == 2  # both its charts are framed
    assert cards.count('data-highlight="1"') == 2  # and no other endpoint's
    assert "Worst endpoint: <strong" in _section(page, "verdict") and SLOW in _section(page, "verdict")


def test_endpoint_charts_share_their_scales(page: str) -> None:
    cards = _section(page, "endpoint-charts")
    charts = re.findall(r"<svg .*?</svg>", cards, re.S)
    tops: dict[str, set[str]] = {"distribution": set(), "percentiles": set()}
    for chart in charts:
        kind = "distribution" if ": distribution</title>" in chart else "percentiles"
        ticks = re.findall(r'text-anchor="end" fill="#6b7280">([^<]+)</text>', chart)
        tops[kind].add(ticks[-1])  # the axis top: the last tick
    assert len(charts) == 12 and len(tops["distribution"]) == 1 and len(tops["percentiles"]) == 1, tops


def test_problem_first_order_and_only_columns_with_content(page: str) -> None:
    order = [m.group(1) for m in re.finditer(r'<section id="([^"]+)">', page)]
    assert order[:4] == ["verdict", "thresholds", "endpoints", "endpoint-charts"]
    # a trustworthy load generator comes after the latency story
    assert order.index("generator") > max(order.index("charts"), order.index("distribution"))
    thresholds = _section(page, "thresholds")
    assert "<th>On fail</th>" not in thresholds and "<th>Windows</th>" not in thresholds
    assert "<th>Status</th>" in thresholds
