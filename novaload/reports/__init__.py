"""Report files for one run: ``report.html``, ``report.md``, ``endpoints.csv``,
``timeseries.csv``, ``protocols.csv`` and ``junit.xml``, each written by a :class:`Reporter`
registered by name in :data:`REPORTERS`. (``summary.json`` belongs to
``novaload.results.summary``, ``run.json`` to ``novaload.runfolder``, which names every file.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from novaload.errors import UsageError
from novaload.reports.base import (
    ExtraSection,
    ProvidesSections,
    ReportContext,
    Reporter,
    default_verdict,
    redact_results,
    write_atomic,
)
from novaload.reports.html import HtmlReporter, render_html
from novaload.reports.junit import JunitReporter, render_junit
from novaload.reports.markdown import MarkdownReporter, append_step_summary, render_markdown
from novaload.reports.tables import EndpointsCsvReporter, ProtocolsCsvReporter, TimeseriesCsvReporter
from novaload.results.model import RunResults

# Explicit, ordered registry: the order is the order files are written.
REPORTERS: dict[str, Reporter] = {
    r.name: r
    for r in (
        HtmlReporter(),
        MarkdownReporter(),
        EndpointsCsvReporter(),
        TimeseriesCsvReporter(),
        ProtocolsCsvReporter(),
        JunitReporter(),
    )
}


def write_all(results: RunResults, context: ReportContext, out_dir: Path, *,
              names: Iterable[str] | None = None) -> list[Path]:
    """Write the named reports (all by default) into ``out_dir``; return their paths.

    A reporter that fails does not stop the others (a broken chart must not
    cost the JUnit file CI needs); the first failure is re-raised at the end.
    """
    chosen = list(REPORTERS) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in REPORTERS]
    if unknown:
        raise UsageError(f"unknown report {unknown[0]!r}", hint=f"known: {', '.join(REPORTERS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if context.redact is not None:
        results = redact_results(results, context.redact)
    written: list[Path] = []
    failures: list[tuple[str, BaseException]] = []
    for name in chosen:
        try:
            written.append(REPORTERS[name].write(results, context, out_dir))
        except Exception as exc:  # noqa: BLE001 - re-raised below after the other reports are out
            failures.append((name, exc))
    if failures:
        name, first = failures[0]
        first.add_note(f"while writing the {name!r} report; written anyway: {[p.name for p in written]}")
        raise first
    return written


__all__ = [
    "REPORTERS",
    "ExtraSection",
    "ProvidesSections",
    "ReportContext",
    "Reporter",
    "append_step_summary",
    "default_verdict",
    "redact_results",
    "render_html",
    "render_junit",
    "render_markdown",
    "write_all",
    "write_atomic",
]
