"""report.md: escaped cells, the pieces a PR comment needs, a small size, and
the GitHub step-summary append."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factory import Synth, build_results, context

from novaload.reports import append_step_summary, render_markdown
from novaload.reports.markdown import md_block, md_table, md_text
from novaload.results.model import RunResults


@pytest.mark.parametrize(("raw", "escaped"), [
    ("a|b", r"a\|b"),
    ("`code`", r"\`code\`"),
    ("line1\nline2\r\nline3", "line1 line2 line3"),
    ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
    ("[link](javascript:x)", r"\[link\](javascript:x)"),
    ("http_req_duration", r"http\_req\_duration"),
    ("a\\|b", r"a\\\|b"),
], ids=["pipe", "backtick", "newline", "html", "link", "underscore", "backslash-pipe"])
def test_md_text_escapes(raw: str, escaped: str) -> None:
    assert md_text(raw) == escaped


def test_table_row_keeps_column_count_with_hostile_cells() -> None:
    table = md_table(("a", "b"), [("x|y\nz", "`|`")])
    rows = table.splitlines()
    assert len(rows) == 3
    # unescaped pipes delimit cells: 3 per row of 2 cells
    assert all(r.replace("\\|", "").count("|") == 3 for r in rows)


def test_md_block_fence_outlasts_backticks_inside() -> None:
    block = md_block("a ```` b")
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def test_report_has_verdict_thresholds_figures_endpoints(sample_results: RunResults) -> None:
    md = render_markdown(sample_results, context(verdict="failed", exit_code=99))
    assert md.startswith("## ❌") and "**FAILED**" in md and "exit code 99" in md
    for t in sample_results.thresholds:
        assert md_text(t.expression) in md
    assert "| Requests | 1,200 |" in md
    assert "### Top errors" in md and "Internal Server Error" in md


def test_top_endpoints_are_capped_at_15_by_requests() -> None:
    names = tuple(f"ep{i:02d}" for i in range(40))
    r = build_results(Synth(endpoints=names, seconds=30, rps=100))
    md = render_markdown(r, context())
    shown = [n for n in names if f"| ep{n[2:]} |" in md]
    top = r.endpoints.nlargest(15, "requests")["name"].tolist()
    assert len(shown) == 15 and set(shown) == set(top)
    assert "25 more endpoints" in md
    assert len(md.encode()) < 6 * 1024


def test_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    assert append_step_summary("## report", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert append_step_summary("## again\n", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "earlier step\n## report\n## again\n"


def test_step_summary_outside_github_does_nothing() -> None:
    assert append_step_summary("## report", {}) is None
