"""The result of a baseline comparison and every way it is shown: a dict for
``comparison.json``, a Markdown diff table for pull-request comments
(``comparison.md`` and ``report.md``), and an escaped HTML section plus the
trend chart for ``report.html`` (through :meth:`Comparison.report_sections`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from novaload.compare.config import CompareConfig
from novaload.compare.snapshot import RunSnapshot
from novaload.compare.stats import Interval
from novaload.reports.base import ExtraSection, write_atomic
from novaload.reports.markdown import md_table, md_text
from novaload.runfolder import COMPARISON_JSON, COMPARISON_MD

MD_MAX_ENDPOINTS = 15  # a PR comment stays readable; comparison.json has everything


class Status(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    INSUFFICIENT = "insufficient data"
    NOT_JUDGED = "not judged"


METRIC_LABELS = {"p50": "p50", "p95": "p95", "p99": "p99", "error_rate": "error rate", "rps": "requests/s"}


@dataclass(frozen=True, slots=True)
class MetricChange:
    metric: str  # p50, p95, p99 (ms), error_rate (ratio), rps
    old: float
    new: float
    change: float  # relative for latency and rps; absolute (ratio points) for error_rate
    ci: Interval | None  # of `change`; None when not tested
    status: Status
    min_effect: float  # same unit as `change`
    p_value: float | None = None  # Mann-Whitney U (information only)

    @property
    def relative(self) -> bool:
        return self.metric != "error_rate"

    def change_text(self) -> str:
        return _fmt_change(self.change, self.relative)

    def ci_text(self, *, short: bool = False) -> str:
        """``-46.7 % … +175.7 %``; ``short``: the unit once, ``-46.7 … +175.7 %``."""
        if self.ci is None:
            return "—"
        low, high = _fmt_change(self.ci.low, self.relative), _fmt_change(self.ci.high, self.relative)
        if short and low != "—":
            low = low.rsplit(" ", 1)[0]
        return f"{low} … {high}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "old": _j(self.old),
            "new": _j(self.new),
            "change": _j(self.change),
            "change_unit": "ratio" if self.relative else "points",
            "ci_low": _j(self.ci.low) if self.ci else None,
            "ci_high": _j(self.ci.high) if self.ci else None,
            "min_effect": self.min_effect,
            "status": str(self.status),
            "p_value": _j(self.p_value) if self.p_value is not None else None,
        }


@dataclass(frozen=True, slots=True)
class EndpointComparison:
    name: str
    old_requests: int
    new_requests: int
    metrics: list[MetricChange]
    presence: str = "both"  # both, new (only in current), missing (only in baseline)

    @property
    def regressed(self) -> bool:
        return any(m.status is Status.REGRESSED for m in self.metrics)

    @property
    def status(self) -> str:
        if self.presence != "both":
            return f"{self.presence} endpoint"
        if self.regressed:
            return str(Status.REGRESSED)
        if any(m.status is Status.IMPROVED for m in self.metrics):
            return str(Status.IMPROVED)
        if all(m.status in (Status.INSUFFICIENT, Status.NOT_JUDGED) for m in self.metrics):
            return str(Status.INSUFFICIENT)
        return str(Status.UNCHANGED)

    def metric(self, name: str) -> MetricChange | None:
        return next((m for m in self.metrics if m.metric == name), None)


@dataclass(frozen=True, slots=True)
class SideInfo:
    label: str
    run_id: str | None
    scenario: str | None
    environment: str | None
    git_branch: str | None
    git_commit: str | None
    started_at: str | None
    test: str | None = None  # its identity in words (scenario · env · target · load · runner)


def side_info(s: RunSnapshot) -> SideInfo:
    from novaload.compare.identity import RunIdentity

    test = RunIdentity.of(s).describe() if s.runner is not None else None
    return SideInfo(
        s.label, s.run_id, s.scenario, s.environment, s.git_branch, s.git_commit, s.started_at, test or None
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline: SideInfo
    current: SideInfo
    config: CompareConfig
    endpoints: list[EndpointComparison]  # overall first
    trend: list[Any] = field(default_factory=list)  # history entries, oldest first
    tests: int = 0  # metrics that got a statistical test
    confidence_per_test: float = 0.95  # after the Bonferroni correction over `tests`
    # How the baseline is another test than the current run (it was asked for by id).
    differences: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(e.regressed for e in self.endpoints)

    @property
    def regressions(self) -> list[tuple[str, MetricChange]]:
        return [(e.name, m) for e in self.endpoints for m in e.metrics if m.status is Status.REGRESSED]

    @property
    def verdict(self) -> str:
        return "regressed" if self.regressed else "no regression"

    def endpoint(self, name: str) -> EndpointComparison | None:
        return next((e for e in self.endpoints if e.name == name), None)

    # --- outputs --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "verdict": self.verdict,
            "regressed": self.regressed,
            "baseline": asdict(self.baseline),
            "current": asdict(self.current),
            "config": asdict(self.config),
            "tests": self.tests,
            "confidence_per_test": self.confidence_per_test,
            "baseline_differs": list(self.differences),
            "regressions": [{"endpoint": n, **m.to_dict()} for n, m in self.regressions],
            "endpoints": [
                {
                    "name": e.name,
                    "status": e.status,
                    "presence": e.presence,
                    "old_requests": e.old_requests,
                    "new_requests": e.new_requests,
                    "metrics": [m.to_dict() for m in e.metrics],
                }
                for e in self.endpoints
            ],
        }

    def differs_line(self) -> str | None:
        """The baseline is another test: how, in one line (None when it is the same)."""
        if not self.differences:
            return None
        return f"The baseline is another test: {'; '.join(self.differences)}."

    def summary_line(self) -> str:
        base = self.baseline.run_id or self.baseline.label
        if not self.regressed:
            return f"No regression against baseline {base}."
        items = ", ".join(f"{n} {METRIC_LABELS[m.metric]} {m.change_text()}" for n, m in self.regressions[:5])
        more = len(self.regressions) - 5
        return (
            f"Regression against baseline {base}: {items}" + (f" and {more} more" if more > 0 else "") + "."
        )

    def to_markdown(self) -> str:
        conf = f"{self.config.confidence * 100:g} %"
        icon = "❌" if self.regressed else "✅"
        lines = [
            f"{icon} {md_text(self.summary_line())}",
            "",
            f"Baseline `{md_text(self.baseline.run_id or self.baseline.label)}` → current "
            f"`{md_text(self.current.run_id or self.current.label)}`. Cells: baseline → current "
            f"(change). A change counts only when it exceeds the minimum effect and its "
            f"confidence interval excludes zero ({conf} over all {self.tests} tests).",
            "",
            *([f"⚠️ {md_text(d)}", ""] if (d := self.differs_line()) else []),
        ]
        rows = [
            [
                e.name,
                *(_md_cell(e.metric(k)) for k in ("p50", "p95", "p99", "error_rate", "rps")),
                _status_word(e.status),
            ]
            for e in self.endpoints[: MD_MAX_ENDPOINTS + 1]
        ]
        lines.append(md_table(("Endpoint", "p50", "p95", "p99", "Errors", "req/s", "Verdict"), rows))
        if len(self.endpoints) > MD_MAX_ENDPOINTS + 1:
            lines += ["", f"{len(self.endpoints) - MD_MAX_ENDPOINTS - 1} more endpoints in comparison.json."]
        if self.regressions:
            lines += ["", "Regressions (with confidence intervals):", ""]
            lines += [
                f"- {md_text(n)} {METRIC_LABELS[m.metric]}: {md_text(_fmt_value(m.metric, m.old))} → "
                f"{md_text(_fmt_value(m.metric, m.new))} ({md_text(m.change_text())}, CI "
                f"{md_text(m.ci_text())})"
                for n, m in self.regressions[:20]
            ]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        from novaload.reports.html import Cell, num, table

        head = [
            Cell("Endpoint"),
            Cell("Metric"),
            num("Baseline"),
            num("Current"),
            num("Change"),
            Cell(f"{self.confidence_per_test * 100:.2f} % CI"),
            Cell("Verdict"),
        ]
        rows = []
        for e in self.endpoints:
            if not e.metrics:
                rows.append([e.name, "—", num("—"), num("—"), num("—"), "—", e.status])
            for m in e.metrics:
                rows.append(
                    [
                        e.name,
                        METRIC_LABELS[m.metric],
                        num(_fmt_value(m.metric, m.old)),
                        num(_fmt_value(m.metric, m.new)),
                        num(m.change_text()),
                        m.ci_text(),
                        Cell(str(m.status), "bad" if m.status is Status.REGRESSED else ""),
                    ]
                )
        summary = html.escape(self.summary_line())
        sides = (
            f"<p>Baseline <code>{html.escape(self.baseline.run_id or self.baseline.label)}</code>"
            f" ({html.escape(self.baseline.started_at or '')}) → current "
            f"<code>{html.escape(self.current.run_id or self.current.label)}</code>.</p>"
        )
        if (differs := self.differs_line()) is not None:
            sides += f'\n<p class="bad">{html.escape(differs)}</p>'
        return f"<p><strong>{summary}</strong></p>\n{sides}\n" + table(
            head, rows, total=len(rows), shown=len(rows)
        )

    def report_sections(self) -> Sequence[ExtraSection]:
        from novaload.compare.trend import trend_section

        sections = [
            ExtraSection(title="Baseline comparison", html=self.to_html(), markdown=self.to_markdown())
        ]
        if len(self.trend) >= 2:
            sections.append(trend_section(self.trend))
        return sections

    def write(self, out_dir: Path) -> list[Path]:
        import json

        out_dir.mkdir(parents=True, exist_ok=True)
        return [
            write_atomic(
                out_dir / COMPARISON_JSON, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
            ),
            write_atomic(out_dir / COMPARISON_MD, self.to_markdown()),
        ]


def _status_word(status: str) -> str:
    return {"regressed": "❌ regressed", "improved": "✅ improved"}.get(status, status)


def _md_cell(m: MetricChange | None) -> str:
    if m is None:
        return "—"
    mark = " ❗" if m.status is Status.REGRESSED else ""
    return f"{_fmt_value(m.metric, m.old)} → {_fmt_value(m.metric, m.new)} ({m.change_text()}){mark}"


def _fmt_value(metric: str, v: float) -> str:
    if v is None or math.isnan(v):
        return "—"
    if metric == "error_rate":
        return f"{v * 100:.2f} %"
    if metric == "rps":
        return f"{v:,.1f}"
    return f"{v:,.1f} ms" if v >= 10 else f"{v:,.2f} ms"


def _fmt_change(v: float, relative: bool) -> str:
    if v is None or math.isnan(v) or math.isinf(v):
        return "—"
    return f"{v * 100:+.1f} %" if relative else f"{v * 100:+.2f} pp"


def _j(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else float(v)


__all__ = [
    "COMPARISON_JSON",
    "COMPARISON_MD",
    "Comparison",
    "EndpointComparison",
    "MetricChange",
    "METRIC_LABELS",
    "SideInfo",
    "Status",
    "side_info",
]
