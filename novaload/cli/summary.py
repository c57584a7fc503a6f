"""Print a finished run or report for humans: verdict, thresholds, headline figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from novaload.cli.app import new_table
from novaload.redact import redact
from novaload.run.outcome import K6_MEANINGS
from novaload.runfolder import K6_LOG, REPORT_HTML

if TYPE_CHECKING:
    from novaload.results.model import RunResults
    from novaload.run.pipeline import RunOutcome


def _k6(results: RunResults, metric: str, value: float | None, aggregation: str = "") -> str:
    """``value`` of ``metric`` (a submetric too) as k6's summary prints it."""
    from novaload.reports import k6format  # late: the reports package loads pandas

    if value is None:
        return "-"
    m = results.metric(metric) or results.metric(metric.split("{", 1)[0])
    if m is None:
        return k6format.fixed_no_trailing_zeros(value, 6)
    if aggregation == "count" and m.type == "trend":
        return str(int(value))
    return k6format.value(value, m.type, m.contains)


def print_results(console: Console, results: RunResults) -> None:
    if results.thresholds:
        table = new_table(
            "metric", "threshold", "observed", "status", title="thresholds", right=("observed",)
        )
        style = {"passed": "green", "failed": "bold red", "no data": "yellow"}
        for t in results.thresholds:
            observed = _k6(results, t.metric, t.observed, t.aggregation)
            table.add_row(t.metric, t.expression, observed, Text(t.status, style=style[t.status]))
        console.print(table)
    reqs = results.value("http_reqs", "count")
    if reqs is not None:
        # k6's figures as k6 prints them (durations and rates truncated, not rounded)
        console.print(
            f"requests {_k6(results, 'http_reqs', reqs)} "
            f"({_k6(results, 'http_reqs', results.value('http_reqs', 'rate', 0))}/s) · "
            f"failed {_k6(results, 'http_req_failed', results.value('http_req_failed', 'value', 0))} · "
            f"p95 {_k6(results, 'http_req_duration', results.value('http_req_duration', 'p(95)'))} · "
            f"p99 {_k6(results, 'http_req_duration', results.value('http_req_duration', 'p(99)'))} · "
            f"duration {results.duration_s:.1f} s",
            highlight=False,
        )
    from novaload.reports.protocols import terminal_lines  # late: it loads pandas

    for line in terminal_lines(results):  # gRPC, WebSockets, browser, custom metrics
        console.print(line, markup=False, highlight=False)
    generator = results.load_generator
    if generator is not None:
        colour = "green" if generator.trustworthy else "bold yellow"
        console.print(generator.summary_line(), style=colour, markup=False, highlight=False)
    for w in results.warnings:
        console.print(Text.assemble(("warning:", "yellow"), " ", w))


def print_outcome(console: Console, outcome: RunOutcome) -> None:
    if outcome.k6_stdout:
        # As k6 prints it (handleSummary's stdout may carry its own colours): raw, no markup.
        console.file.write(redact(outcome.k6_stdout))
        console.file.flush()
    if outcome.results is not None:
        print_results(console, outcome.results)
    colour = "green" if outcome.exit_code == 0 else "red"
    meaning = K6_MEANINGS.get(outcome.exit_code, outcome.verdict)
    console.print(
        Text.assemble(
            (outcome.verdict, f"bold {colour}"),
            f" · exit {outcome.exit_code} ({meaning}) · run {outcome.run_id}"
            + (f" · baseline {outcome.baseline}" if outcome.baseline else ""),
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
