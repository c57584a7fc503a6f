"""``novaload report``: rebuild every report file from existing k6 results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import MaxEndpointsOption, app, console, one_of
from novaload.cli.summary import print_results
from novaload.errors import UsageError
from novaload.report_files import build_reports
from novaload.results.endpoint_cap import DEFAULT_MAX_ENDPOINTS
from novaload.runfolder import REPORT_HTML
from novaload.thresholds import NO_DATA_CHOICES


@app.command(no_args_is_help=True)
def report(
    results: Annotated[
        list[Path],
        typer.Argument(
            metavar="RESULTS",
            help="k6 JSON (.json, .json.gz) or CSV results (several: the instances of one split run), "
            "or a run folder.",
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", metavar="DIR", help="Where to write the reports.")
    ],
    k6_summary: Annotated[
        Path | None,
        typer.Option(
            "--k6-summary",
            metavar="FILE",
            help="k6's --summary-export file or handleSummary data (gives the exact test duration).",
        ),
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option("--thresholds", metavar="FILE", help="Re-judge against these thresholds (YAML/JSON)."),
    ] = None,
    replace_thresholds: Annotated[
        bool,
        typer.Option("--replace-thresholds", help="Judge only the --thresholds file, not the script's own."),
    ] = False,
    window: Annotated[
        float, typer.Option("--window", min=0.1, metavar="SECONDS", help="Time-series window in seconds.")
    ] = 1.0,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Skip and count invalid lines instead of failing.")
    ] = False,
    apdex_t: Annotated[
        float | None,
        typer.Option(
            "--apdex-t",
            min=0.001,
            metavar="MS",
            help="Apdex target time T in ms for every endpoint.",
            show_default="500",
        ),
    ] = None,
    max_endpoints: MaxEndpointsOption = DEFAULT_MAX_ENDPOINTS,
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
            metavar="STATS",
            help="The Trend stats k6 was asked for, when no --k6-summary tells, e.g. avg,p(99.99),count.",
            show_default="avg,min,med,max,p(90),p(95)",
        ),
    ] = None,
    no_data: Annotated[
        str,
        typer.Option(
            "--no-data",
            metavar=one_of(NO_DATA_CHOICES),
            help="A threshold whose metric got no samples: pass (as k6 does, flagged) or fail (exit 99).",
            envvar="NOVALOAD_NO_DATA",
        ),
    ] = "pass",
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            metavar="FILE",
            help="The k6 script that made the results: its thresholds, as `k6 inspect` reads them, "
            "judge the results, and the exit code is k6's.",
            show_default="none: the thresholds k6's JSON output kept",
        ),
    ] = None,
    script_env: Annotated[
        list[str] | None,
        typer.Option(
            "--script-env",
            "-e",
            metavar="NAME=VALUE",
            help="The script's __ENV for k6 inspect, as k6's -e (repeatable).",
            show_default="none",
        ),
    ] = None,
    k6: Annotated[
        str | None,
        typer.Option(
            "--k6", metavar="PATH", help="k6 binary for --script.", show_default="$K6_BINARY or novaload's"
        ),
    ] = None,
) -> None:
    """Ingest k6 results and write summary.json, report.html/.md, CSVs and junit.xml.

    Exits 99 when a threshold fails (as k6 would), 5 with --strict-generator when the
    load generator was saturated, 7 when the results name a thresholded submetric whose
    thresholds k6's JSON output dropped (give --script or --k6-summary), 0 otherwise.
    """
    env: dict[str, str] = {}
    for item in script_env or []:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise UsageError(f"--script-env {item!r}: expected NAME=VALUE")
        env[name] = value
    built = build_reports(
        results,
        out_dir,
        k6_summary=k6_summary,
        thresholds_file=thresholds,
        replace_thresholds=replace_thresholds,
        window_s=window,
        lenient=lenient,
        strict_generator=strict_generator,
        max_endpoints=max_endpoints,
        apdex_t_ms=apdex_t,
        trend_stats=tuple(s.strip() for s in summary_trend_stats.split(",") if s.strip())
        if summary_trend_stats
        else None,
        no_data=no_data,
        script=script,
        script_env=env,
        k6=k6,
    )
    print_results(console, built.results)
    console.print(f"report: {out_dir / REPORT_HTML}", highlight=False, markup=False)
    raise typer.Exit(built.exit_code)
