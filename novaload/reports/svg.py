"""Inline SVG charts drawn in Python, for a report that needs no JavaScript.

Everything visual is an SVG *presentation attribute* (``fill=``, ``stroke=``,
``font-size=``...), never CSS: Jenkins' default Content-Security-Policy
(``style-src 'self'``) blocks inline ``<style>`` and ``style=""`` but not
attributes, so the charts draw the same with or without it. Every string is
escaped, since series labels and titles may carry user-chosen names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from html import escape

from novaload.reports.figures import fmt_seconds_tick

MAX_POINTS = 600  # per series: more cannot be seen on a ~1100 px wide chart
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
AXIS = "#6b7280"
GRID = "#e5e7eb"
INK = "#111827"


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str
    xs: Sequence[float]
    ys: Sequence[float]  # NaN = no value in that window: the line breaks there


@dataclass(frozen=True, slots=True)
class Frame:
    """Pixel geometry of a chart: the plot area inside the margins."""

    width: int = 1100
    height: int = 250
    left: int = 68
    right: int = 20
    top: int = 36
    bottom: int = 42

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def _finite(v: float) -> bool:
    return v is not None and not math.isnan(v) and not math.isinf(v)


def nice_step(span: float, target: int = 5) -> float:
    """A 1-2-2.5-5 x 10^k step giving about ``target`` intervals over ``span``."""
    if span <= 0 or not _finite(span):
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values from <= lo to >= hi (the last one is the axis top)."""
    if hi <= lo:
        hi = lo + 1
    step = nice_step(hi - lo, target)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while True:
        ticks.append(round(v, 10))
        if v >= hi - step * 1e-9:
            break
        v += step
    return ticks


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)


def time_ticks(t0: float, t1: float, target: int = 10) -> list[float]:
    """Elapsed-time ticks on whole seconds/minutes/hours, within [t0, t1]."""
    span = max(t1 - t0, 1e-9)
    step = next((s for s in _TIME_STEPS if span / s <= target), 86400 * math.ceil(span / 86400 / target))
    first = math.ceil(t0 / step) * step
    n = int((t1 - first) // step) + 1
    return [first + i * step for i in range(max(n, 0))]


def downsample(xs: Sequence[float], ys: Sequence[float], max_points: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points keeping each bucket's min and max.

    Averaging would flatten exactly the spikes a load report exists to show;
    min/max per bucket keeps every peak and trough. A bucket without any value
    yields one NaN so gaps stay visible.
    """
    n = len(xs)
    if n <= max_points:
        return list(xs), list(ys)
    buckets = max(max_points // 2, 1)
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        idx = [i for i in range(lo, hi) if _finite(ys[i])]
        if not idx:
            out_x.append(xs[lo])
            out_y.append(math.nan)
            continue
        i_min = min(idx, key=lambda i: ys[i])
        i_max = max(idx, key=lambda i: ys[i])
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


def _segments(points: Sequence[tuple[float, float]], ys: Sequence[float]) -> list[list[tuple[float, float]]]:
    """Split projected points into runs of finite values."""
    segs: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    for p, y in zip(points, ys, strict=True):
        if _finite(y):
            cur.append(p)
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs


# Text widths are estimated (no fonts at hand when drawing): generous per-character widths
# of the 14 px semibold title and the 12 px legend, so what is placed beside each other
# does not overlap in any common sans-serif.
TITLE_CHAR_PX = 8.2
LEGEND_CHAR_PX = 7.0
LEGEND_ROW_PX = 18  # the legend's own line under the title, when both do not fit on one


def _title_room(frame: Frame) -> int:
    return max(int((frame.width - frame.left - frame.right) / TITLE_CHAR_PX), 8)


def _shown_title(frame: Frame, title: str) -> str:
    """The title cut to the chart's width (the full title is the chart's tooltip)."""
    room = _title_room(frame)
    return title if len(title) <= room else title[: room - 1] + "…"


def _svg_open(frame: Frame, title: str, highlight: str | None = None) -> list[str]:
    t = escape(title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{t}" '
        f'font-family="{escape(FONT)}" font-size="12" fill="{INK}">',
        f"<title>{t}</title>",
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#ffffff"/>',
    ]
    if highlight:  # an attribute, not CSS: the frame stays under a CSP that blocks styles
        out.append(f'<rect data-highlight="1" x="1.5" y="1.5" width="{frame.width - 3}" '
                   f'height="{frame.height - 3}" rx="6" fill="none" stroke="{escape(highlight)}" stroke-width="3"/>')
    out.append(f'<text x="{frame.left}" y="20" font-size="14" font-weight="600" '
               f'fill="{escape(highlight) if highlight else INK}">{escape(_shown_title(frame, title))}</text>')
    return out


def _legend_width(series: Sequence[Series]) -> float:
    return sum(LEGEND_CHAR_PX * len(s.label) + 30 for s in series)


def _legend_wraps(frame: Frame, title: str, series: Sequence[Series]) -> bool:
    """Whether the legend needs its own line: title and legend do not fit side by side."""
    title_w = TITLE_CHAR_PX * len(_shown_title(frame, title))
    return frame.left + title_w + 16 + _legend_width(series) > frame.width - frame.right


def _with_legend_row(frame: Frame, title: str, series: Sequence[Series]) -> tuple[Frame, bool]:
    """The frame grown by a legend line when the legend wraps (the plot keeps its height)."""
    if not series or not _legend_wraps(frame, title, series):
        return frame, False
    return replace(frame, height=frame.height + LEGEND_ROW_PX, top=frame.top + LEGEND_ROW_PX), True


def _legend(frame: Frame, series: Sequence[Series], own_row: bool = False) -> list[str]:
    out = []
    y = 11 + (LEGEND_ROW_PX if own_row else 0)
    x: float = frame.width - frame.right
    for s in reversed(series):
        label = escape(s.label)
        x -= LEGEND_CHAR_PX * len(s.label) + 30
        out.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" rx="2" fill="{escape(s.color)}"/>')
        out.append(f'<text x="{x + 17:.0f}" y="{y + 10}" fill="{AXIS}">{label}</text>')
    return out


def _y_axis(frame: Frame, ticks: Sequence[float], py: Callable[[float], float],
            fmt: Callable[[float], str], label: str) -> list[str]:
    out = []
    x0, x1 = frame.left, frame.width - frame.right
    for v in ticks:
        y = py(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{escape(fmt(v))}</text>')
    mid = frame.top + frame.plot_h / 2
    out.append(f'<text x="14" y="{mid:.1f}" text-anchor="middle" fill="{AXIS}" '
               f'transform="rotate(-90 14 {mid:.1f})">{escape(label)}</text>')
    return out


def _x_axis(frame: Frame, ticks: Sequence[float], px: Callable[[float], float],
            fmt: Callable[[float], str], label: str) -> list[str]:
    yb = frame.top + frame.plot_h
    out = [f'<line x1="{frame.left}" y1="{yb}" x2="{frame.width - frame.right}" y2="{yb}" stroke="{AXIS}" stroke-width="1"/>',
           f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{yb}" stroke="{AXIS}" stroke-width="1"/>']
    for v in ticks:
        x = px(v)
        out.append(f'<line x1="{x:.1f}" y1="{yb}" x2="{x:.1f}" y2="{yb + 5}" stroke="{AXIS}" stroke-width="1"/>')
        out.append(f'<text x="{x:.1f}" y="{yb + 18}" text-anchor="middle" fill="{AXIS}">{escape(fmt(v))}</text>')
    out.append(f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.height - 4}" '
               f'text-anchor="middle" fill="{AXIS}">{escape(label)}</text>')
    return out


def _no_data(frame: Frame, title: str) -> str:
    parts = _svg_open(frame, title)
    parts.append(f'<rect x="{frame.left}" y="{frame.top}" width="{frame.plot_w}" height="{frame.plot_h}" '
                 f'fill="none" stroke="{GRID}"/>')
    parts.append(f'<text x="{frame.left + frame.plot_w / 2}" y="{frame.top + frame.plot_h / 2}" '
                 f'text-anchor="middle" fill="{AXIS}">no data</text></svg>')
    return "\n".join(parts)


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    y_label: str,
    y_fmt: Callable[[float], str] = lambda v: f"{v:,.6g}",
    x_label: str = "elapsed time",
    frame: Frame = Frame(),
    max_points: int = MAX_POINTS,
    bands: Sequence[tuple[float, float]] = (),
    band_color: str = "#fecaca",
    y_max: float | None = None,
    highlight: str | None = None,
) -> str:
    """A time-series line chart; x is seconds since the run's first sample, y starts at 0.

    ``bands`` shade stretches of the x axis (breached windows of an SLO) behind the lines.
    ``y_max`` fixes the top of the y axis (charts compared side by side share it);
    ``highlight`` frames the chart and colours its title (an endpoint that failed)."""
    drawn = [Series(s.label, s.color, *downsample(s.xs, s.ys, max_points)) for s in series]
    ys = [y for s in drawn for y in s.ys if _finite(y)]
    if not ys:
        return _no_data(frame, title)
    frame, legend_row = _with_legend_row(frame, title, series)
    # The x range comes from the full series: a reduced one may not keep the first window.
    x0 = min(min(s.xs) for s in series if len(s.xs))
    x1 = max(max(s.xs) for s in series if len(s.xs))
    if x1 <= x0:
        x1 = x0 + 1
    top = max(max(ys), 0.0) if y_max is None else max(y_max, max(ys))
    y_ticks = nice_ticks(0.0, top or 1.0)
    y_lo, y_hi = y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return frame.left + (x - x0) / (x1 - x0) * frame.plot_w

    def py(y: float) -> float:
        return frame.top + frame.plot_h - (y - y_lo) / (y_hi - y_lo) * frame.plot_h

    parts = _svg_open(frame, title, highlight)
    for b0, b1 in bands:
        left, right = max(px(b0), frame.left), min(px(b1), frame.left + frame.plot_w)
        if right > left:
            parts.append(
                f'<rect data-breach="{b0:g}-{b1:g}" x="{left:.1f}" y="{frame.top}" width="{right - left:.1f}" '
                f'height="{frame.plot_h}" fill="{escape(band_color)}"><title>breached {escape(fmt_seconds_tick(b0))}'
                f"–{escape(fmt_seconds_tick(b1))}</title></rect>"
            )
    parts += _y_axis(frame, y_ticks, py, y_fmt, y_label)
    parts += _x_axis(frame, time_ticks(x0, x1), px, fmt_seconds_tick, x_label)
    for s in drawn:
        pts = [(px(x), py(y) if _finite(y) else 0.0) for x, y in zip(s.xs, s.ys, strict=True)]
        color = escape(s.color)
        parts.append(f'<g data-series="{escape(s.label)}">')
        for seg in _segments(pts, s.ys):
            if len(seg) == 1:
                parts.append(f'<circle cx="{seg[0][0]:.1f}" cy="{seg[0][1]:.1f}" r="2.5" fill="{color}"/>')
                continue
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2" '
                         f'stroke-linejoin="round" stroke-linecap="round"/>')
        parts.append("</g>")
    parts += _legend(frame, series, legend_row)
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    color: str,
    y_label: str,
    x_label: str,
    y_fmt: Callable[[float], str] = lambda v: f"{v:,.6g}",
    frame: Frame = Frame(),
    max_labels: int = 14,
    y_max: float | None = None,
    tips: Sequence[str] | None = None,
    highlight: str | None = None,
) -> str:
    """Categorical bars (a latency histogram); each bar has a tooltip via <title>
    (``tips``, else its label and value). ``y_max`` and ``highlight`` as in :func:`line_chart`."""
    if not values or max(values) <= 0:
        return _no_data(frame, title)
    y_ticks = nice_ticks(0.0, max(values) if y_max is None else max(y_max, max(values)))
    y_hi = y_ticks[-1]
    n = len(values)
    slot = frame.plot_w / n
    gap = min(2.0, slot * 0.15)

    def py(y: float) -> float:
        return frame.top + frame.plot_h - y / y_hi * frame.plot_h

    parts = _svg_open(frame, title, highlight)
    parts += _y_axis(frame, y_ticks, py, y_fmt, y_label)
    yb = frame.top + frame.plot_h
    parts.append(f'<line x1="{frame.left}" y1="{yb}" x2="{frame.width - frame.right}" y2="{yb}" stroke="{AXIS}"/>')
    every = max(1, math.ceil(n / max_labels))
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = frame.left + i * slot + gap / 2
        top = py(v)
        tip = tips[i] if tips is not None else f"{label}: {y_fmt(v)}"
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot - gap:.1f}" height="{yb - top:.1f}" '
                     f'fill="{escape(color)}"><title>{escape(tip)}</title></rect>')
        if i % every == 0:
            cx = x + (slot - gap) / 2
            parts.append(f'<text x="{cx:.1f}" y="{yb + 16}" text-anchor="middle" fill="{AXIS}" '
                         f'font-size="11">{escape(label)}</text>')
    parts.append(f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.height - 4}" '
                 f'text-anchor="middle" fill="{AXIS}">{escape(x_label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def badge(text: str, color: str, *, width: int = 150, height: int = 40) -> str:
    """A coloured verdict pill that keeps its colour under a CSP that blocks CSS."""
    t = escape(text.upper())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{t}" font-family="{escape(FONT)}">'
            f'<rect x="0" y="0" width="{width}" height="{height}" rx="{height // 2}" fill="{escape(color)}"/>'
            f'<text x="{width / 2}" y="{height / 2 + 6}" text-anchor="middle" font-size="17" '
            f'font-weight="700" fill="#ffffff" letter-spacing="1">{t}</text></svg>')


__all__ = ["Frame", "MAX_POINTS", "Series", "badge", "bar_chart", "downsample", "line_chart",
           "nice_step", "nice_ticks", "time_ticks"]
