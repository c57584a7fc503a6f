"""The trend chart: p50/p95/p99 of the last N runs of one scenario and
environment, as inline SVG (presentation attributes only, every string escaped,
no JavaScript) — the same rules as :mod:`novaload.reports.svg`, whose helpers
it reuses. The x axis is the run sequence, not time: runs are not evenly spaced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from novaload.reports import svg
from novaload.reports.base import ExtraSection
from novaload.reports.markdown import md_table

COLORS = (("p50", "#2563eb"), ("p95", "#d97706"), ("p99", "#dc2626"))


def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and not math.isnan(v) and not math.isinf(v)


def trend_chart(entries: Sequence[Any], *, frame: svg.Frame = svg.Frame(height=260, bottom=60)) -> str:
    """``entries`` oldest first; each has ``run_id``, ``p50``, ``p95``, ``p99`` (ms) and ``verdict``."""
    title = f"Latency of the last {len(entries)} runs"
    values = [getattr(e, k) for e in entries for k, _ in COLORS if _ok(getattr(e, k))]
    if not values:
        return svg.line_chart(title, [], y_label="ms")  # draws the "no data" frame
    ticks = svg.nice_ticks(0.0, max(values))
    top = ticks[-1]
    n = len(entries)
    step = frame.plot_w / max(n - 1, 1)

    def px(i: int) -> float:
        return frame.left + (i * step if n > 1 else frame.plot_w / 2)

    def py(v: float) -> float:
        return frame.top + frame.plot_h - v / top * frame.plot_h

    t = escape(title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{t}" '
        f'font-family="{escape(svg.FONT)}" font-size="12" fill="{svg.INK}">',
        f"<title>{t}</title>",
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#ffffff"/>',
        f'<text x="{frame.left}" y="20" font-size="14" font-weight="600">{t}</text>',
    ]
    for v in ticks:
        y = py(v)
        out.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" '
            f'y2="{y:.1f}" stroke="{svg.GRID}"/>'
        )
        out.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{svg.AXIS}">{escape(f"{v:,.6g} ms")}</text>'
        )
    every = max(1, math.ceil(n / 10))
    base_y = frame.top + frame.plot_h
    for i, e in enumerate(entries):
        if i % every == 0 or i == n - 1:
            label = escape(_short(str(e.run_id)))
            out.append(
                f'<text x="{px(i):.1f}" y="{base_y + 16}" text-anchor="middle" '
                f'fill="{svg.AXIS}" font-size="10">{label}</text>'
            )
    for key, color in COLORS:
        pts = [(px(i), py(getattr(e, key))) for i, e in enumerate(entries) if _ok(getattr(e, key))]
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), e in zip(pts, [e for e in entries if _ok(getattr(e, key))], strict=True):
            tip = escape(f"{e.run_id}: {key} {getattr(e, key):,.1f} ms ({e.verdict})")
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{tip}</title></circle>'
            )
    x = frame.width - frame.right
    for key, color in reversed(COLORS):
        x -= 60
        out.append(f'<rect x="{x}" y="11" width="12" height="12" rx="2" fill="{color}"/>')
        out.append(f'<text x="{x + 17}" y="21" fill="{svg.AXIS}">{key}</text>')
    out.append(
        f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.height - 6}" '
        f'text-anchor="middle" fill="{svg.AXIS}">runs, oldest to newest</text></svg>'
    )
    return "\n".join(out)


def _short(run_id: str) -> str:
    """``api-20261121-104233-3fa2`` → ``11-21 10:42``: the date is what tells runs apart."""
    parts = run_id.rsplit("-", 3)
    if len(parts) == 4 and len(parts[1]) == 8 and len(parts[2]) == 6:
        d, t = parts[1], parts[2]
        return f"{d[4:6]}-{d[6:]} {t[:2]}:{t[2:4]}"
    return run_id[-16:]


def trend_section(entries: Sequence[Any]) -> ExtraSection:
    """The chart for the HTML report and a short p95 list for Markdown."""
    rows = [
        [e.run_id, "—" if not _ok(e.p95) else f"{e.p95:,.1f} ms", e.verdict or "—"]
        for e in list(entries)[-5:]
    ]
    return ExtraSection(
        title="Trend", html=trend_chart(entries), markdown=md_table(("Run", "p95", "Verdict"), rows)
    )


__all__ = ["trend_chart", "trend_section"]
