"""``novaload compare`` (is CURRENT slower than BASELINE, beyond noise?) and
``novaload history`` (the runs registered in the history store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from novaload.cli.app import app, console, new_table, print_wide, state
from novaload.errors import ExitCode

if TYPE_CHECKING:
    from novaload.compare.comparison import Comparison

# The comparison engine (pandas, numpy) is imported inside the commands: every other
# command would pay for it at start-up otherwise.
HistoryDir = Annotated[
    Path | None,
    typer.Option(
        "--history-dir",
        metavar="DIR",
        envvar="NOVALOAD_HISTORY_DIR",
        help="Run-history store.",
        show_default="reports/.history",
    ),
]


@app.command(no_args_is_help=True)
def compare(
    baseline: Annotated[
        str,
        typer.Argument(
            metavar="BASELINE", help="Run folder, k6 JSON results file, run id, last or last-passing."
        ),
    ],
    current: Annotated[
        str, typer.Argument(metavar="CURRENT", help="Run folder, k6 JSON results file, run id or last.")
    ],
    baseline_branch: Annotated[
        str | None,
        typer.Option(
            "--baseline-branch",
            metavar="BRANCH",
            help="last and last-passing pick only runs of this git branch.",
        ),
    ] = None,
    history_dir: HistoryDir = None,
    reports_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--reports-dir", metavar="DIR", help="Where else to look for moved run folders (repeatable)."
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Comparison settings (noise, minimum effects, confidence).",
            show_default="<config dir>/compare.yaml",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", "-o", metavar="DIR", help="Write comparison.json and comparison.md here."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print comparison.json to stdout.")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="One row per endpoint and metric, the endpoint in a column.")
    ] = False,
) -> None:
    """Compare two runs per endpoint: p50/p95/p99, error rate, requests/s.

    A metric regresses only when its change exceeds the minimum effect AND its
    confidence interval excludes zero. Exits 3 on a regression, 0 otherwise,
    2 on bad input.
    """
    from novaload.compare import compare_runs, load_compare_config
    from novaload.history import HistoryStore

    config = load_compare_config(config_file, state.config_dir)
    result = compare_runs(
        baseline,
        current,
        history=HistoryStore(history_dir),
        config=config,
        baseline_branch=baseline_branch,
        reports_dirs=reports_dir or [],
    )
    if out_dir is not None:
        result.write(out_dir)
    if as_json:
        console.print_json(json.dumps(result.to_dict(), allow_nan=False))
    else:
        print_comparison(result, wide=wide)
    raise typer.Exit(ExitCode.REGRESSION if result.regressed else ExitCode.OK)


def print_comparison(result: Comparison, *, wide: bool = False) -> None:
    """At 80 columns a small table per endpoint, titled by its name (which gets the whole
    width), the columns aligned across them; ``wide``: one table, the endpoint in a column."""
    from novaload.compare.comparison import (
        METRIC_LABELS,
        Status,
        _fmt_value,  # one formatting for all outputs
    )

    conf = f"{result.confidence_per_test * 100:.2f} % CI"
    style = {Status.REGRESSED: "bold red", Status.IMPROVED: "green"}
    figures = ("baseline", "current", "change")
    columns = ("metric", *figures, conf, "verdict")
    rows: dict[str, list[list[str | Text]]] = {}
    for e in result.endpoints:
        rows[e.name] = [
            [
                METRIC_LABELS[m.metric],
                _fmt_value(m.metric, m.old),
                _fmt_value(m.metric, m.new),
                m.change_text(),
                m.ci_text(short=not wide),
                Text(str(m.status), style=style.get(m.status) or ""),
            ]
            for m in e.metrics
        ] or [["", "", "", "", "", Text(str(e.status))]]
    console.print(
        f"{result.baseline.run_id or result.baseline.label} → {result.current.run_id or result.current.label}",
        soft_wrap=True,
    )
    if wide:
        table = new_table("endpoint", *columns, right=figures)
        for name, metrics in rows.items():
            for i, cells in enumerate(metrics):
                table.add_row(name if i == 0 else "", *cells)
            table.add_section()
        print_wide(console, table)
        return
    widths = [
        max(len(str(c)) for c in (col, *(r[i] for m in rows.values() for r in m)))
        for i, col in enumerate(columns)
    ]
    for n, (name, metrics) in enumerate(rows.items()):
        table = new_table(*columns, title=name, right=figures)
        table.show_header = n == 0
        table.title_style = "bold"
        for column, width in zip(table.columns, widths, strict=True):
            # Aligned across the endpoints' tables; a verdict wraps ("insufficient data").
            column.min_width = column.max_width = min(width, 12) if column.header == "verdict" else width
        for cells in metrics:
            table.add_row(*cells)
        console.print(table)


@app.command()
def history(
    scenario: Annotated[
        str | None, typer.Option("--scenario", metavar="NAME", help="Only this scenario or script.")
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", metavar="NAME", help="Only this environment.")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", metavar="BRANCH", help="Only this git branch.")
    ] = None,
    verdict: Annotated[
        str | None,
        typer.Option(
            "--verdict", metavar="VERDICT", help="Only this verdict (passed, failed, regressed, ...)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, metavar="N", help="The newest N runs.")] = 20,
    history_dir: HistoryDir = None,
    add: Annotated[
        list[Path] | None,
        typer.Option("--add", metavar="DIR", help="Register an existing run folder first (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Every column: scenario, profile, target, load, runner, git branch and commit too."
        ),
    ] = False,
) -> None:
    """List the runs registered in the history store, newest first."""
    from novaload.compare import register_run_dir
    from novaload.history import HistoryStore

    store = HistoryStore(history_dir)
    for run_dir in add or []:
        register_run_dir(run_dir, store.directory)
    entries = (
        store.list(scenario=scenario, environment=env, branch=branch, verdict=verdict, limit=limit)
        if store.path.is_file()
        else []
    )
    if as_json:
        from dataclasses import asdict

        console.print_json(json.dumps([asdict(e) for e in entries]))
        return
    # 80 columns: the run (its id starts with the scenario and the time), the environment,
    # the verdict and three figures; --wide adds what tells tests and builds apart.
    figures = ("requests", "req/s", "err %", "p95 ms")
    columns = (
        ("run id", "scenario", "env", "profile", "target", "load", "runner", "branch", "commit")
        + ("verdict", "exit", *figures)
        if wide
        else ("run id", "env", "verdict", *figures[1:])
    )
    table = new_table(*columns, title=f"history: {store.path}", right=figures)
    for e in entries:
        runner = (
            None
            if e.runner is None
            else (f"{e.runner} ×{e.parallelism}" if (e.parallelism or 1) > 1 else e.runner)
        )
        cells = {
            "run id": e.run_id,
            "scenario": e.scenario,
            "env": e.environment,
            "profile": e.profile,
            "target": e.target_id,
            "load": e.load,
            "runner": runner,
            "branch": e.git_branch,
            "commit": (e.git_commit or "")[:8] or None,
            "verdict": e.verdict,
            "exit": None if e.exit_code is None else str(e.exit_code),
            "requests": _n(e.requests, "{:.0f}"),
            "req/s": _n(e.rps, "{:.1f}"),
            "err %": _n(None if e.error_rate is None else e.error_rate * 100, "{:.2f}"),
            "p95 ms": _n(e.p95, "{:.1f}"),
        }
        table.add_row(*(cells[c] or "-" for c in columns))
    if wide:
        print_wide(console, table)
    else:
        console.print(table)
    if not entries:
        console.print("no runs registered yet", highlight=False)


def _n(v: float | None, fmt: str) -> str:
    return "-" if v is None else fmt.format(v)
