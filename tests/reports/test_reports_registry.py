"""The registry, write_all, atomic writes, CSV contents and the report's
self-containment (no script, no external resource)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from report_factory import context

from novaload.errors import UsageError
from novaload.reports import REPORTERS, ExtraSection, ReportContext, render_html, write_all, write_atomic
from novaload.reports.base import comparison_sections
from novaload.results.model import RunResults

EXPECTED = {"html": "report.html", "markdown": "report.md", "endpoints": "endpoints.csv",
            "timeseries": "timeseries.csv", "protocols": "protocols.csv", "junit": "junit.xml"}


def test_registry_names_and_files() -> None:
    assert {n: r.filename for n, r in REPORTERS.items()} == EXPECTED
    assert all(r.name == n for n, r in REPORTERS.items())


def test_write_all_writes_every_report(sample_results: RunResults, tmp_path: Path) -> None:
    paths = write_all(sample_results, context(), tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(EXPECTED.values())
    assert all(p.stat().st_size > 0 for p in paths)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def test_write_all_selected_names(sample_results: RunResults, tmp_path: Path) -> None:
    paths = write_all(sample_results, context(), tmp_path, names=["junit", "markdown"])
    assert [p.name for p in paths] == ["junit.xml", "report.md"]


def test_unknown_report_name_is_a_usage_error(sample_results: RunResults, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown report 'pdf'"):
        write_all(sample_results, context(), tmp_path, names=["html", "pdf"])
    assert not (tmp_path / "report.html").exists()  # nothing half-done on a bad request


def test_a_failing_reporter_keeps_earlier_files_and_still_writes_the_rest(
        sample_results: RunResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "report.html").write_text("previous report")

    def boom(*_: object) -> str:
        raise RuntimeError("chart exploded")

    monkeypatch.setattr("novaload.reports.html.render_html", boom)
    with pytest.raises(RuntimeError, match="chart exploded"):
        write_all(sample_results, context(), tmp_path)
    assert (tmp_path / "report.html").read_text() == "previous report"
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.md").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    write_atomic(target, "a" * 1000)
    write_atomic(target, "b")
    assert target.read_text() == "b" and oct(target.stat().st_mode & 0o777) == "0o644"


def test_endpoints_csv_equals_dataframe(sample_results: RunResults, tmp_path: Path) -> None:
    (path,) = write_all(sample_results, context(), tmp_path, names=["endpoints"])
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, sample_results.endpoints.reset_index(drop=True), check_dtype=False)


def test_timeseries_csv_has_iso_utc_times(sample_results: RunResults, tmp_path: Path) -> None:
    (path,) = write_all(sample_results, context(), tmp_path, names=["timeseries"])
    text = path.read_text()
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == list(sample_results.timeseries.columns)
    assert back["time"].iloc[1] == "2026-11-21T10:00:01.000000Z"
    assert back["requests"].sum() == sample_results.value("http_reqs", "count")


def test_html_is_self_contained(sample_results: RunResults) -> None:
    out = render_html(sample_results, context())
    assert "<script" not in out.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", out, re.I)
    assert "@import" not in out and "url(" not in out
    # verdict badge, 4 time series, histogram, and each endpoint's histogram and percentiles
    assert out.count("<svg") == 6 + 2 * len(sample_results.endpoints)


def test_extra_sections_render_only_when_present(sample_results: RunResults) -> None:
    plain = render_html(sample_results, context())
    assert "Baseline comparison" not in plain

    class Comparison:
        def report_sections(self) -> list[ExtraSection]:
            return [ExtraSection("Baseline comparison", "<p>p95 +12 %</p>", "p95 +12 %")]

    ctx = context(comparison=Comparison(), analyses=[ExtraSection("Soak analysis", "<p>flat</p>", "flat")])
    out = render_html(sample_results, ctx)
    assert out.index("Baseline comparison") < out.index("Soak analysis")
    assert "<p>p95 +12 %</p>" in out


@pytest.mark.parametrize("comparison", [None, "text only", ExtraSection("T", "<p>x</p>")],
                         ids=["none", "str", "section"])
def test_comparison_hook(comparison: object) -> None:
    sections = comparison_sections(comparison)
    assert len(sections) == (0 if comparison is None else 1)
    if isinstance(comparison, str):
        assert "text only" in sections[0].html


def test_context_is_frozen() -> None:
    ctx = context()
    with pytest.raises(AttributeError):
        ctx.verdict = "passed"  # type: ignore[misc]
    assert isinstance(ctx, ReportContext)


def test_default_verdict(sample_results: RunResults) -> None:
    from report_factory import Synth, build_results

    from novaload.reports import default_verdict

    assert default_verdict(sample_results) == "failed"  # the fixture's rate<0.01 fails
    sample_results.thresholds = [t for t in sample_results.thresholds if t.ok is not False]
    assert default_verdict(sample_results) == "passed"
    empty = build_results(Synth())
    empty.metrics = {}
    assert default_verdict(empty) == "no data"


def test_markdown_includes_extra_section_markdown(sample_results: RunResults) -> None:
    from novaload.reports import render_markdown

    md = render_markdown(sample_results, context(analyses=[ExtraSection.from_text("Soak analysis", "a|b`c")]))
    assert "<summary><b>Soak analysis</b></summary>" in md and "```text\na|b`c\n```" in md


def test_partial_last_window_is_left_out_of_charts_only(sample_results: RunResults) -> None:
    from datetime import timedelta

    from novaload.reports.html import _complete_windows

    ts = sample_results.timeseries
    sample_results.ended_at = sample_results.started_at + timedelta(seconds=59.2)  # last window 0.2 s long
    kept, dropped = _complete_windows(sample_results)
    assert dropped and len(kept) == len(ts) - 1 and kept["t"].max() == 58
    assert "left out" in render_html(sample_results, context())
    sample_results.ended_at = sample_results.started_at + timedelta(seconds=59.9)
    assert _complete_windows(sample_results)[1] is False


def test_redact_masks_secrets_in_every_report(sample_results: RunResults, tmp_path: Path) -> None:
    secret = "s3cr3t-token"
    sample_results.failing_urls = sample_results.failing_urls.assign(url=f"http://127.0.0.1/x?key={secret}")
    sample_results.warnings = [f"line 3: bad json near {secret}"]
    paths = write_all(sample_results, context(redact=lambda s: s.replace(secret, "***")), tmp_path)
    for p in paths:
        assert secret not in p.read_text(), p.name
    assert "key=***" in (tmp_path / "report.html").read_text()
    assert secret in sample_results.failing_urls["url"].iloc[0]  # the caller's results are untouched
