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
from urllib.parse import quote

from novaload.fileio import append_text
from novaload.reports.base import ReportContext, comparison_sections, write_atomic
from novaload.reports.figures import (
    fmt_apdex,
    fmt_int,
    fmt_ms,
    fmt_observed,
    fmt_pct,
    threshold_unit,
    window_note,
    with_columns,
)
# By the module's own name: `from novaload.reports import exemplars` would wait for the
# package's __init__, which the run's background import may be running, and that waits
# for this module: a deadlock Python breaks by failing one of the two imports.
from novaload.reports.exemplars import TITLE as EXEMPLARS_TITLE
from novaload.reports.exemplars import markdown_section as exemplars_markdown
# by the module's own name (see markdown.py's note on the package's __init__)
from novaload.reports.protocols import Section as ProtocolSection
from novaload.reports.protocols import activity, leads_with_http
from novaload.reports.protocols import headline as lead_headline
from novaload.reports.protocols import sections as protocol_sections
from novaload.reports.ranking import rank_endpoints
from novaload.reports.recommendations import recommend
from novaload.results.model import RunResults
from novaload.runfolder import REPORT_HTML, REPORT_MD

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
    if context.setup_teardown:
        line += f"\n\n{md_text(context.setup_teardown)}"
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
                    [(f.label, f"{f.value} ({f.note})" if f.note else f.value)
                     for f in lead_headline(results)],
                    align_right=(1,))


def _top_endpoints(results: RunResults) -> str:
    ep = results.endpoints
    if ep.empty:
        return "_No HTTP requests._"
    top = with_columns(rank_endpoints(results).head(TOP_ENDPOINTS),
                       "name", "requests", "error_rate", "med", "p95", "p99", "apdex", "apdex_t_ms")
    rows = [(r.name, fmt_int(r.requests), fmt_pct(r.error_rate), fmt_ms(r.med), fmt_ms(r.p95), fmt_ms(r.p99),
             fmt_apdex(r.apdex, r.apdex_t_ms)) for r in top.itertuples(index=False)]
    out = "_Worst first: failed thresholds, error rate, p95._\n\n" + md_table(
        ("Endpoint", "Requests", "Errors", "p50", "p95", "p99", "Apdex (T)"), rows, align_right=range(1, 7))
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
    return md_table(("Status", "Error code", "Error", "Requests"), rows, align_right=(3,))


def _protocol(section: ProtocolSection, figures: bool = True) -> str:
    """A protocol's section body (``reports.protocols``; its title is the fold's): its
    figures in a line (not for the lead protocol: they are the headline figures), then its
    tables, each capped for a PR comment."""
    parts = [md_text(section.intro)]
    if figures and section.figures:
        parts.append(" · ".join(f"{md_text(f.label)} **{md_text(f.value)}**" for f in section.figures))
    for t in section.tables:
        shown = t.rows[:TOP_ENDPOINTS]
        part = f"**{md_text(t.title)}**\n\n" + md_table(t.headers, shown, align_right=t.numeric)
        if t.total > len(shown):
            part += f"\n\n_{t.total - len(shown)} more rows in protocols.csv._"
        parts.append(part)
    return "\n\n".join(parts)


def _generator(results: RunResults) -> str:
    gen = results.load_generator
    assert gen is not None
    icon = "✅" if gen.trustworthy else "⚠️"
    return f"{icon} {md_text(gen.summary_line())}"


def _folded(title: str, body: str) -> str:
    """A section folded for a PR comment or job summary: GitHub and GitLab render the
    Markdown inside ``<details>`` when blank lines surround it."""
    return f"<details><summary><b>{md_text(title)}</b></summary>\n\n{body}\n\n</details>"


def report_link(report_html: Path, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(text, URL) of the run's report.html in the CI that ran it, when it can be known:
    ``$NOVALOAD_REPORT_URL`` (``{run_id}`` and ``{path}`` filled in), Jenkins' archived
    artifact (``$BUILD_URL`` + the path under ``$WORKSPACE``), GitLab's job artifact
    (``$CI_JOB_URL`` + the path under ``$CI_PROJECT_DIR``), or the GitHub Actions run whose
    artifacts hold it (GitHub gives an artifact's files no URL of their own)."""
    path = report_html.resolve()

    def under(root: str | None) -> str | None:
        if not root:
            return None
        try:
            return quote(path.relative_to(Path(root).resolve()).as_posix())
        except ValueError:
            return None

    if given := environ.get("NOVALOAD_REPORT_URL"):
        url = given.replace("{run_id}", quote(path.parent.name, safe="")).replace("{path}", quote(path.as_posix()))
        return "Full report (report.html)", url
    if (build := environ.get("BUILD_URL")) and (rel := under(environ.get("WORKSPACE"))):
        return "Full report (report.html)", f"{build.rstrip('/')}/artifact/{rel}"
    if (job := environ.get("CI_JOB_URL")) and (rel := under(environ.get("CI_PROJECT_DIR"))):
        return "Full report (report.html)", f"{job.rstrip('/')}/artifacts/file/{rel}"
    server, repo, run = (environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run:
        return "report.html is in this run's artifacts", f"{server.rstrip('/')}/{repo}/actions/runs/{quote(run)}"
    return None


def _link_line(link: tuple[str, str] | None) -> str:
    if link is None:
        return ""
    text, url = link
    if not url.lower().startswith(("https://", "http://")):
        return ""  # a link in a PR comment goes to a web page, nowhere else
    return f"[{md_text(text)}](<{url.replace('>', '%3E').replace('<', '%3C').replace(' ', '%20')}>)"


def render_markdown(
    results: RunResults, context: ReportContext, report_url: tuple[str, str] | None = None
) -> str:
    """report.md, made for a PR comment or a job summary: the verdict, what failed (the
    thresholds, a regression) and the headline figures first; every other section folded.
    ``report_url``: (text, URL) of report.html where the CI keeps it (``report_link``)."""
    protos = protocol_sections(results)
    http = leads_with_http(results)
    link = _link_line(report_url)
    parts = [_verdict_line(context) + (f"\n\n{link}" if link else ""), "### Thresholds", _thresholds(results),
             "### Headline figures", _figures(results)]
    gen = results.load_generator
    if gen is not None and not gen.trustworthy:  # every figure is in doubt: said first
        parts[1:1] = [_generator(results)]
    # the baseline comparison decides a regression (exit 3): it stays in view
    shown = [s for s in comparison_sections(context.comparison) if s.markdown]
    for section in shown:
        parts += [f"### {md_text(section.title)}", section.markdown]
    folded: list[tuple[str, str]] = []
    if http:
        folded.append(("Top endpoints", _top_endpoints(results)))
    else:  # the protocol the run used
        folded += [(s.title, _protocol(s, figures=False)) for s in protos if s.sid != "custom"]
    folded += [(s.title, _protocol(s)) for s in protos if http or s.sid == "custom"]
    if gen is not None and gen.trustworthy:
        folded.append(("Load generator", _generator(results)))
    if traces := exemplars_markdown(results, context.trace_links):
        folded.append((EXEMPLARS_TITLE, traces))
    if errors := _top_errors(results):
        folded.append(("Top errors", errors))
    recs = recommend(results)[:MAX_RECOMMENDATIONS]
    if recs:
        folded.append(("Recommendations", "\n".join(f"- **{md_text(r.title)}** — {md_text(r.detail)}" for r in recs)))
    folded += [(s.title, s.markdown) for s in context.analyses if s.markdown]
    parts += [_folded(title, body) for title, body in folded]
    parts.append("<sub>Full report: report.html · data: endpoints.csv, timeseries.csv, protocols.csv, summary.json</sub>")
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
    # appending: other steps own the earlier content
    return append_text(Path(target), data)


class MarkdownReporter:
    name = "markdown"
    filename = REPORT_MD

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        link = report_link(out_dir / REPORT_HTML, os.environ)
        if link is not None and context.redact is not None:
            link = (link[0], context.redact(link[1]))
        return write_atomic(out_dir / self.filename, render_markdown(results, context, link))


__all__ = [
    "MarkdownReporter",
    "append_step_summary",
    "md_block",
    "md_table",
    "md_text",
    "render_markdown",
    "report_link",
]
