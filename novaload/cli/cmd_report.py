"""``novaload report``: rebuild every report file from existing k6 results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import app, console
from novaload.cli.summary import print_results
from novaload.report_files import build_reports
from novaload.runfolder import REPORT_HTML


@app.command(no_args_is_help=True)
def report(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="k6 JSON (.json/.json.gz) or CSV results; several = one split run; or a run folder."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Where to write the reports.")],
    k6_summary: Annotated[
        Path | None,
        typer.Option(
            "--k6-summary",
            help="k6's --summary-export file or handleSummary data (gives the exact test duration).",
        ),
    ] = None,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="Re-judge against these thresholds (YAML/JSON).")
    ] = None,
    replace_thresholds: Annotated[
        bool,
        typer.Option("--replace-thresholds", help="Judge only the --thresholds file, not the script's own."),
    ] = False,
    window: Annotated[float, typer.Option("--window", min=0.1, help="Time-series window in seconds.")] = 1.0,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Skip and count invalid lines instead of failing.")
    ] = False,
    apdex_t: Annotated[
        float | None,
        typer.Option("--apdex-t", min=0.001, help="Apdex target time T in ms for every endpoint [500]."),
    ] = None,
    strict_generator: Annotated[
        bool,
        typer.Option(
            "--strict-generator",
            help="Exit 5 when the load generator was saturated (judged from the results' folder).",
        ),
    ] = False,
    summary_trend_stats: Annotated[
        str | None,
        typer.Option(
            "--summary-trend-stats",
            help="The Trend stats k6 was asked for, when no --k6-summary tells (e.g. 'avg,p(99.99),count').",
        ),
    ] = None,
    no_data: Annotated[
        str,
        typer.Option(
            "--no-data",
            help="A threshold whose metric got no samples: pass (as k6, flagged) or fail (exit 99).",
            envvar="NOVALOAD_NO_DATA",
        ),
    ] = "pass",
) -> None:
    """Ingest k6 results and write summary.json, report.html/.md, CSVs and junit.xml.

    Exits 99 when a threshold fails (as k6 would), 5 with --strict-generator when the
    load generator was saturated, 0 otherwise.
    """
    built = build_reports(
        results,
        out_dir,
        k6_summary=k6_summary,
        thresholds_file=thresholds,
        replace_thresholds=replace_thresholds,
        window_s=window,
        lenient=lenient,
        strict_generator=strict_generator,
        apdex_t_ms=apdex_t,
        trend_stats=tuple(s.strip() for s in summary_trend_stats.split(",") if s.strip())
        if summary_trend_stats
        else None,
        no_data=no_data,
    )
    print_results(console, built.results)
    console.print(f"report: {out_dir / REPORT_HTML}", highlight=False, markup=False)
    raise typer.Exit(built.exit_code)
