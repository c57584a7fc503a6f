"""``report.md``: a short Markdown report sized for a pull-request comment or
GitHub's job summary (verdict, thresholds, headline figures, top endpoints and
errors), plus :func:`append_step_summary`.

Every table cell is escaped so a URL, check name or error message can neither
break the table (pipes, newlines) nor inject markup (``<``, backticks, links).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from novaload.reports.base import ReportContext, write_atomic
from novaload.reports.figures import (
    fmt_apdex,
    fmt_int,
    fmt_ms,
    fmt_observed,
    fmt_pct,
    headline,
    threshold_unit,
    window_note,
    with_columns,
)
from novaload.reports.recommendations import recommend
from novaload.results.model import RunResults
from novaload.runfolder import REPORT_MD

TOP_ENDPOINTS = 15
TOP_ERRORS = 10
MAX_THRESHOLDS = 25
MAX_RECOMMENDATIONS = 5
CELL_CHARS = 80  # long URLs would make the table unreadable in a PR comment
STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub rejects a step summary above 1 MiB

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
STATUS_ICON = {"passed": "✅", "failed": "❌", "no data": "⚠️"}


def md_text(value: object, limit: int | None = None) -> str:
    """Escape text for inline Markdown: no markup, no raw HTML, one line."""
    s = " ".join(str(value).split())  # newlines and tabs would end a table row
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_block(text: str) -> str:
    """Verbatim text in a code fence longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align_right: Iterable[int] = ()) -> str:
    right = set(align_right)
    lines = ["| " + " | ".join(md_text(h) for h in headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(md_text(c, CELL_CHARS) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _verdict_line(context: ReportContext) -> str:
    icon = STATUS_ICON.get(context.verdict, "ℹ️")
    bits = [f"run `{md_text(context.run_id)}`"]
    bits += [md_text(x) for x in (context.environment, context.profile) if x]
    if context.exit_code is not None:
        bits.append(f"exit code {context.exit_code}")
    line = (f"## {icon} novaload · {md_text(context.scenario)} · **{md_text(context.verdict.upper())}**\n\n"
            + " · ".join(bits))
    return line + (f"\n\n> **{md_text(context.k6_abort)}**" if context.k6_abort else "")


def _thresholds(results: RunResults) -> str:
    if not results.thresholds:
        return "_No thresholds defined._"
    shown = results.thresholds[:MAX_THRESHOLDS]
    rows = [(f"{STATUS_ICON[t.status]} {t.status}", t.metric, t.expression,
             fmt_observed(t.observed, threshold_unit(results, t))
             + (f" ({window_note(t)})" if t.window else "")) for t in shown]
    out = md_table(("Status", "Metric", "Threshold", "Observed"), rows)
    if len(results.thresholds) > len(shown):
        out += f"\n\n_{len(results.thresholds) - len(shown)} more thresholds in report.html._"
    return out


def _figures(results: RunResults) -> str:
    return md_table(("Figure", "Value"),
                    [(f.label, f"{f.value} ({f.note})" if f.note else f.value) for f in headline(results)],
                    align_right=(1,))


def _top_endpoints(results: RunResults) -> str:
    ep = results.endpoints
    if ep.empty:
        return "_No HTTP requests._"
    top = with_columns(ep.sort_values("requests", ascending=False, kind="stable").head(TOP_ENDPOINTS),
                       "name", "requests", "error_rate", "med", "p95", "p99", "apdex", "apdex_t_ms")
    rows = [(r.name, fmt_int(r.requests), fmt_pct(r.error_rate), fmt_ms(r.med), fmt_ms(r.p95), fmt_ms(r.p99),
             fmt_apdex(r.apdex, r.apdex_t_ms)) for r in top.itertuples(index=False)]
    out = md_table(("Endpoint", "Requests", "Errors", "p50", "p95", "p99", "Apdex (T)"), rows,
                   align_right=range(1, 7))
    if len(ep) > len(top):
        out += f"\n\n_{len(ep) - len(top)} more endpoints in endpoints.csv._"
    return out


def _top_errors(results: RunResults) -> str:
    er = results.errors
    if er.empty:
        return ""
    top = with_columns(er.sort_values("requests", ascending=False, kind="stable").head(TOP_ERRORS),
                       "status", "error_code", "error", "requests")
    rows = [(r.status, r.error_code, r.error, fmt_int(r.requests)) for r in top.itertuples(index=False)]
    return "### Top errors\n\n" + md_table(("Status", "Error code", "Error", "Requests"), rows, align_right=(3,))


def _generator(results: RunResults) -> str:
    gen = results.load_generator
    assert gen is not None
    icon = "✅" if gen.trustworthy else "⚠️"
    return f"{icon} {md_text(gen.summary_line())}"


def render_markdown(results: RunResults, context: ReportContext) -> str:
    parts = [_verdict_line(context), "### Thresholds", _thresholds(results),
             "### Headline figures", _figures(results), "### Top endpoints", _top_endpoints(results)]
    if results.load_generator is not None:
        parts[1:1] = [_generator(results)]
    if errors := _top_errors(results):
        parts.append(errors)
    recs = recommend(results)[:MAX_RECOMMENDATIONS]
    if recs:
        parts.append("### Recommendations")
        parts.append("\n".join(f"- **{md_text(r.title)}** — {md_text(r.detail)}" for r in recs))
    for section in context.extra_sections():
        if section.markdown:
            parts += [f"### {md_text(section.title)}", section.markdown]
    parts.append("<sub>Full report: report.html · data: endpoints.csv, timeseries.csv, summary.json</sub>")
    return "\n\n".join(parts) + "\n"


def append_step_summary(md_text_: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the report to GitHub Actions' job summary when ``$GITHUB_STEP_SUMMARY`` is set.

    Returns the file written, or None outside GitHub Actions or when the text
    would exceed GitHub's 1 MiB limit (GitHub would drop the whole summary).
    """
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    data = md_text_ if md_text_.endswith("\n") else md_text_ + "\n"
    if len(data.encode("utf-8")) > STEP_SUMMARY_LIMIT:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:  # appending: other steps own the earlier content
        fh.write(data)
    return path


class MarkdownReporter:
    name = "markdown"
    filename = REPORT_MD

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, render_markdown(results, context))


__all__ = ["MarkdownReporter", "append_step_summary", "md_block", "md_table", "md_text", "render_markdown"]
