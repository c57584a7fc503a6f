"""Chart geometry: the drawn points follow the data, ticks are round, long
series are reduced without losing their peaks, and the SVG is well-formed."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from novaload.reports import svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _points(svg_text: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(svg_text)
    return [[tuple(map(float, p.split(","))) for p in pl.get("points").split()]  # type: ignore[union-attr]
            for pl in root.iterfind(".//s:polyline", NS)]


@pytest.mark.parametrize(("lo", "hi", "top"), [(0, 97, 100), (0, 1, 1), (0, 0.042, 0.05), (0, 12_345, 12_500),
                                                (0, 10, 10)], ids=["97", "1", "small", "thousands", "exact"])
def test_nice_ticks_cover_range_with_round_steps(lo: float, hi: float, top: float) -> None:
    ticks = svg.nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] == pytest.approx(top)
    steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and 3 <= len(ticks) - 1 <= 10


@pytest.mark.parametrize(("t1", "step"), [(60, 10), (3600, 600), (30, 5), (7 * 3600, 3600)],
                         ids=["1m", "1h", "30s", "7h"])
def test_time_ticks_fall_on_round_seconds(t1: float, step: float) -> None:
    ticks = svg.time_ticks(0, t1)
    assert ticks[0] == 0 and all(b - a == step for a, b in zip(ticks, ticks[1:])) and ticks[-1] <= t1


def test_line_chart_puts_max_at_top_and_min_at_bottom() -> None:
    frame = svg.Frame()
    xs = [0, 1, 2, 3, 4]
    ys = [10.0, 100.0, 40.0, 0.0, 70.0]  # max 100 is a round axis top
    (line,) = _points(svg.line_chart("t", [svg.Series("s", "#123456", xs, ys)], y_label="y", frame=frame))
    assert len(line) == len(xs)
    px = [p[0] for p in line]
    py = [p[1] for p in line]
    assert px == sorted(px) and px[0] == pytest.approx(frame.left) and px[-1] == pytest.approx(frame.width - frame.right)
    assert py[1] == pytest.approx(frame.top)  # 100 = top of the plot
    assert py[3] == pytest.approx(frame.top + frame.plot_h)  # 0 = bottom
    # every point sits at its value's height
    for y, v in zip(py, ys):
        assert y == pytest.approx(frame.top + frame.plot_h * (1 - v / 100), abs=0.06)


def test_line_chart_breaks_line_at_missing_windows() -> None:
    ys = [1.0, 2.0, math.nan, math.nan, 3.0, 4.0, 5.0]
    lines = _points(svg.line_chart("gap", [svg.Series("s", "#000000", list(range(7)), ys)], y_label="y"))
    assert [len(seg) for seg in lines] == [2, 3]


def test_line_chart_without_data_says_so() -> None:
    out = svg.line_chart("empty", [svg.Series("s", "#000000", [0, 1], [math.nan, math.nan])], y_label="y")
    assert "no data" in out and "<polyline" not in out
    ET.fromstring(out)


def test_downsample_bounds_points_and_keeps_extremes() -> None:
    n = 36_000
    xs = list(range(n))
    ys = [math.sin(i / 500) * 10 for i in range(n)]
    ys[12_345] = 999.0  # a one-window spike must survive
    ys[20_000] = -50.0
    dx, dy = svg.downsample(xs, ys, 600)
    assert len(dx) <= 600
    assert max(dy) == 999.0 and min(dy) == -50.0
    assert dx == sorted(dx)


def test_long_series_chart_draws_at_most_max_points() -> None:
    n = 50_000
    chart = svg.line_chart("long", [svg.Series("s", "#000000", list(range(n)), [float(i % 97) for i in range(n)])],
                           y_label="y")
    assert sum(len(seg) for seg in _points(chart)) <= svg.MAX_POINTS


def test_bar_chart_tallest_bar_is_the_largest_count() -> None:
    values = [5.0, 80.0, 20.0, 0.0]
    root = ET.fromstring(svg.bar_chart("h", ["a", "b", "c", "d"], values, color="#4f46e5", y_label="n", x_label="x"))
    bars = [r for r in root.iterfind(".//s:rect", NS) if r.get("fill") == "#4f46e5"]
    heights = [float(b.get("height")) for b in bars]  # type: ignore[arg-type]
    assert len(bars) == 4
    assert heights.index(max(heights)) == 1 and heights[3] == 0
    assert heights[0] / heights[1] == pytest.approx(5 / 80, rel=0.02)


def test_svg_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    out = svg.line_chart(evil, [svg.Series(evil, "#000000", [0, 1], [1.0, 2.0])], y_label=evil)
    assert "<script>" not in out and "&lt;script&gt;" in out
    root = ET.fromstring(out)  # still well-formed XML
    assert root.find("s:title", NS).text == evil  # type: ignore[union-attr]


def test_legend_moves_under_a_long_title_instead_of_over_it() -> None:
    frame = svg.Frame(width=560, height=200)
    series = [svg.Series(p, "#000000", [0, 1], [1.0, 2.0]) for p in ("p50", "p95", "p99")]
    short = ET.fromstring(svg.line_chart("short", series, y_label="y", frame=frame))
    long = ET.fromstring(svg.line_chart("a_long_endpoint_name: percentiles per window", series, y_label="y",
                                        frame=frame))
    assert short.get("height") == "200" and long.get("height") == str(200 + svg.LEGEND_ROW_PX)


def test_shared_y_max_sets_the_axis_top_and_never_cuts_a_value() -> None:
    def top(chart: str) -> str:
        return [t.text for t in ET.fromstring(chart).iterfind(".//s:text", NS) if t.get("text-anchor") == "end"][-1]

    series = [svg.Series("s", "#000000", [0, 1], [1.0, 2.0])]
    assert top(svg.line_chart("t", series, y_label="y", y_max=50.0)) == "50"
    assert top(svg.line_chart("t", series, y_label="y", y_max=1.0)) == "2"  # the data wins
    assert top(svg.bar_chart("h", ["a", "b"], [1.0, 2.0], color="#000000", y_label="n", x_label="x",
                             y_max=40.0)) == "40"
