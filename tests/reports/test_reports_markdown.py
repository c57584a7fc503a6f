"""report.md: escaped cells, the pieces a PR comment needs, a small size, and
the GitHub step-summary append."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factory import Synth, build_results, context

from novaload.reports import append_step_summary, render_markdown
from novaload.reports.markdown import md_block, md_table, md_text
from novaload.results.model import RunResults


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", r"a\|b"),
        ("`code`", r"\`code\`"),
        ("line1\nline2\r\nline3", "line1 line2 line3"),
        ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
        ("[link](javascript:x)", r"\[link\](javascript:x)"),
        ("http_req_duration", r"http\_req\_duration"),
        ("a\\|b", r"a\\\|b"),
    ],
    ids=["pipe", "backtick", "newline", "html", "link", "underscore", "backslash-pipe"],
)
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
    assert "<summary><b>Top errors</b></summary>" in md and "Internal Server Error" in md


def test_top_endpoints_are_the_15_worst_in_order() -> None:
    names = tuple(f"ep{i:02d}" for i in range(40))
    r = build_results(Synth(endpoints=names, seconds=30, rps=100, fail_endpoint="ep39"))
    md = render_markdown(r, context())
    shown = sorted((n for n in names if f"| {n} |" in md), key=lambda n: md.index(f"| {n} |"))
    worst_p95 = r.endpoints[r.endpoints["name"] != "ep39"].sort_values("p95", ascending=False)["name"]
    assert shown == ["ep39", *worst_p95.head(14)]  # the only one with errors, then by p95
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


def test_pr_comment_shows_the_verdict_and_what_failed_and_folds_the_rest(sample_results: RunResults) -> None:
    md = render_markdown(sample_results, context(verdict="failed", exit_code=99))
    head, _, rest = md.partition("<details>")
    failed = [t for t in sample_results.thresholds if t.status == "failed"]
    assert failed and all(md_text(t.expression) in head for t in failed)
    assert "### Headline figures" in head and "Top endpoints" not in head
    assert len(head.splitlines()) < 40  # the part a reviewer sees without a click
    assert rest.count("<details>") + 1 == md.count("</details>") >= 3
    assert "<summary><b>Top endpoints</b></summary>" in rest


@pytest.mark.parametrize(
    ("env", "text", "url"),
    [
        (
            {"NOVALOAD_REPORT_URL": "https://ci.example/r/{run_id}/report.html"},
            "Full report (report.html)",
            "https://ci.example/r/run-7/report.html",
        ),
        (
            {"BUILD_URL": "https://jenkins.example/job/perf/12/", "WORKSPACE": "{ws}"},
            "Full report (report.html)",
            "https://jenkins.example/job/perf/12/artifact/reports/run-7/report.html",
        ),
        (
            {"CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/9", "CI_PROJECT_DIR": "{ws}"},
            "Full report (report.html)",
            "https://gitlab.example/g/p/-/jobs/9/artifacts/file/reports/run-7/report.html",
        ),
        (
            {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"},
            "report.html is in this run's artifacts",
            "https://github.com/o/r/actions/runs/42",
        ),
    ],
    ids=["explicit", "jenkins", "gitlab", "github"],
)
def test_report_links_to_where_the_ci_keeps_report_html(tmp_path: Path, env, text, url) -> None:
    from novaload.reports.markdown import report_link

    html = tmp_path / "reports" / "run-7" / "report.html"
    env = {k: v.replace("{ws}", str(tmp_path)) for k, v in env.items()}
    assert report_link(html, env) == (text, url)
    assert report_link(html, {}) is None
    # a run folder outside the Jenkins workspace has no artifact URL there
    assert report_link(html, {"BUILD_URL": "https://j/x/", "WORKSPACE": str(tmp_path / "elsewhere")}) is None


def test_report_md_carries_the_link_and_never_a_script_url(
    sample_results: RunResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from novaload.reports.markdown import MarkdownReporter

    monkeypatch.setenv("NOVALOAD_REPORT_URL", "https://ci.example/a b/{run_id}/report.html")
    md = MarkdownReporter().write(sample_results, context(), tmp_path / "run-1").read_text()
    assert (
        "[Full report (report.html)](<https://ci.example/a%20b/run-1/report.html>)"
        in md.split("<details>")[0]
    )
    monkeypatch.setenv("NOVALOAD_REPORT_URL", "javascript:alert(1)")
    md = MarkdownReporter().write(sample_results, context(), tmp_path / "run-2").read_text()
    assert "javascript:" not in md
