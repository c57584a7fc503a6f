"""Print a finished run or report for humans: verdict, thresholds, headline figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from novaload.run.outcome import K6_MEANINGS
from novaload.runfolder import K6_LOG, REPORT_HTML

if TYPE_CHECKING:
    from novaload.results.model import RunResults
    from novaload.run.pipeline import RunOutcome


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f} ms" if v < 1000 else f"{v / 1000:.2f} s")


def print_results(console: Console, results: RunResults) -> None:
    if results.thresholds:
        table = Table(title="thresholds", title_justify="left", show_edge=False)
        for col in ("metric", "threshold", "observed", "status"):
            table.add_column(col)
        style = {"passed": "green", "failed": "bold red", "no data": "yellow"}
        for t in results.thresholds:
            observed = "-" if t.observed is None else f"{t.observed:.4g}"
            table.add_row(t.metric, t.expression, observed, Text(t.status, style=style[t.status]))
        console.print(table)
    reqs = results.value("http_reqs", "count")
    if reqs is not None:
        console.print(
            f"requests {int(reqs)} ({results.value('http_reqs', 'rate', 0):.1f}/s) · "
            f"failed {100 * (results.value('http_req_failed', 'value', 0) or 0):.2f} % · "
            f"p95 {_ms(results.value('http_req_duration', 'p(95)'))} · "
            f"p99 {_ms(results.value('http_req_duration', 'p(99)'))} · "
            f"duration {results.duration_s:.1f} s",
            highlight=False,
        )
    generator = results.load_generator
    if generator is not None:
        colour = "green" if generator.trustworthy else "bold yellow"
        console.print(generator.summary_line(), style=colour, markup=False, highlight=False)
    for w in results.warnings:
        console.print(Text.assemble(("warning:", "yellow"), " ", w))


def print_outcome(console: Console, outcome: RunOutcome) -> None:
    if outcome.k6_stdout:
        # As k6 prints it (handleSummary's stdout may carry its own colours): raw, no markup.
        console.file.write(outcome.k6_stdout)
        console.file.flush()
    if outcome.results is not None:
        print_results(console, outcome.results)
    colour = "green" if outcome.exit_code == 0 else "red"
    meaning = K6_MEANINGS.get(outcome.exit_code, outcome.verdict)
    console.print(
        Text.assemble(
            (outcome.verdict, f"bold {colour}"),
            f" · exit {outcome.exit_code} ({meaning}) · run {outcome.run_id}",
        )
    )
    html = outcome.run_dir / REPORT_HTML
    if html.exists():
        console.print(f"report: {_rel(html)}", highlight=False, soft_wrap=True)
    else:  # k6 failed before any sample: there is no report to point at
        console.print(
            f"no report; k6's log: {_rel(outcome.run_dir / K6_LOG)}", highlight=False, soft_wrap=True
        )


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
