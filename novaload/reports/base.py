"""What every reporter shares: the :class:`Reporter` protocol, the run's
:class:`ReportContext`, pluggable :class:`ExtraSection` s, and the atomic file
write every reporter uses so an interrupted write never destroys a report that
was already there.
"""

from __future__ import annotations

import html

import pandas as pd
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from novaload.fileio import write_atomic  # noqa: F401  (part of this module's API)
from novaload.results.model import RunResults

if TYPE_CHECKING:
    from novaload.reports.exemplars import TraceLinks

VERDICT_PASSED = "passed"
VERDICT_FAILED = "failed"
VERDICT_NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class ExtraSection:
    """A section another part of novaload adds to the HTML and Markdown reports.

    ``html`` is inserted as written: its producer must have escaped every
    user-controlled string (use :meth:`from_text` when in doubt) and must not
    rely on inline ``style=`` attributes (blocked by Jenkins' default CSP).
    ``markdown`` should stay short: it ends up in pull-request comments.
    """

    title: str
    html: str
    markdown: str = ""

    @classmethod
    def from_text(cls, title: str, text: str) -> ExtraSection:
        """A section showing plain text, escaped for both formats."""
        from novaload.reports.markdown import md_block  # late: markdown imports base

        return cls(title=title, html=f"<pre>{html.escape(text)}</pre>", markdown=md_block(text))


@runtime_checkable
class ProvidesSections(Protocol):
    """An object (e.g. a baseline comparison) that knows how to present itself."""

    def report_sections(self) -> Sequence[ExtraSection]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportContext:
    """Facts about the run that are not in the k6 output itself."""

    run_id: str
    scenario: str
    verdict: str  # "passed", "failed", "no data", or another word the pipeline chose
    environment: str | None = None
    profile: str | None = None
    k6_version: str | None = None
    git_commit: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exit_code: int | None = None
    target_url: str | None = None  # already free of secrets
    comparison: object | None = None  # a baseline comparison, when one was made
    analyses: Sequence[ExtraSection] = ()
    # Applied by write_all to every string that came from k6's output (URLs, tags, errors,
    # warnings) before any report is written, e.g. to mask secrets the script put in a URL.
    redact: Callable[[str], str] | None = None
    # k6 stopped the test itself because a threshold with abortOnFail failed: one line
    # saying which and when (from k6's log), shown at the top of every report.
    k6_abort: str | None = None
    # How a split run's setup() and teardown() ran (once for all runners, or in every runner):
    # one line shown with the run's facts.
    setup_teardown: str | None = None
    # Where the exemplars' trace ids link to (reports.exemplars.TraceLinks); None: no links.
    trace_links: TraceLinks | None = None

    def extra_sections(self) -> list[ExtraSection]:
        """Comparison first (it decides regressions), then analyses in order."""
        return [*comparison_sections(self.comparison), *self.analyses]


def comparison_sections(comparison: object | None) -> list[ExtraSection]:
    """The hook that turns a comparison object into report sections.

    The comparison feature is built separately; any object with
    ``report_sections()`` plugs in without this module knowing its type.
    """
    if comparison is None:
        return []
    if isinstance(comparison, ExtraSection):
        return [comparison]
    if isinstance(comparison, ProvidesSections):
        return list(comparison.report_sections())
    return [ExtraSection.from_text("Baseline comparison", str(comparison))]


def redact_results(results: RunResults, redact: Callable[[str], str]) -> RunResults:
    """A copy of ``results`` whose text cells and warnings went through ``redact``."""
    changes: dict[str, object] = {
        "warnings": [redact(w) for w in results.warnings],
        "exemplars": [replace(e, endpoint=redact(e.endpoint)) for e in results.exemplars],
        "protocols": results.protocols.redacted(redact),
    }
    for f in fields(results):
        df = getattr(results, f.name)
        if isinstance(df, pd.DataFrame) and not df.empty:
            text_cols = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
            if text_cols:
                changes[f.name] = df.assign(**{c: df[c].map(lambda v: redact(v) if isinstance(v, str) else v)
                                               for c in text_cols})
    return replace(results, **changes)  # type: ignore[arg-type]


def default_verdict(results: RunResults) -> str:
    """A verdict from the results alone, for reports made without a run (``novaload report``)."""
    if results.thresholds_failed:
        return VERDICT_FAILED
    if results.value("http_reqs", "count", 0) == 0 and results.value("iterations", "count", 0) == 0:
        return VERDICT_NO_DATA
    return VERDICT_PASSED


class Reporter(Protocol):
    """Writes one report file for one run into ``out_dir`` and returns its path."""

    name: str
    filename: str

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path: ...


__all__ = [
    "ExtraSection",
    "ProvidesSections",
    "ReportContext",
    "Reporter",
    "VERDICT_FAILED",
    "VERDICT_NO_DATA",
    "VERDICT_PASSED",
    "comparison_sections",
    "default_verdict",
    "redact_results",
    "write_atomic",
]
