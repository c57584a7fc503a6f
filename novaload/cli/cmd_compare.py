"""``novaload compare`` (is CURRENT slower than BASELINE, beyond noise?) and
``novaload history`` (the runs registered in the history store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from novaload.cli.app import app, console, state
from novaload.errors import ExitCode

if TYPE_CHECKING:
    from novaload.compare.comparison import Comparison

# The comparison engine (pandas, numpy) is imported inside the commands: every other
# command would pay for it at start-up otherwise.
HistoryDir = Annotated[
    Path | None,
    typer.Option(
        "--history-dir",
        envvar="NOVALOAD_HISTORY_DIR",
        help="History store folder [default: reports/.history].",
    ),
]


@app.command(no_args_is_help=True)
def compare(
    baseline: Annotated[
        str, typer.Argument(help="Run folder, k6 JSON results file, run id, `last` or `last-passing`.")
    ],
    current: Annotated[str, typer.Argument(help="Run folder, k6 JSON results file, run id or `last`.")],
    baseline_branch: Annotated[
        str | None, typer.Option("--baseline-branch", help="Selectors pick only runs of this git branch.")
    ] = None,
    history_dir: HistoryDir = None,
    reports_dir: Annotated[
        list[Path] | None,
        typer.Option("--reports-dir", help="Where else to look for moved run folders (repeatable)."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Comparison settings [default: <config dir>/compare.yaml]."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-o", help="Write comparison.json and comparison.md here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print comparison.json to stdout.")] = False,
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
        print_comparison(result)
    raise typer.Exit(ExitCode.REGRESSION if result.regressed else ExitCode.OK)


def print_comparison(result: Comparison) -> None:
    from novaload.compare.comparison import METRIC_LABELS, Status

    conf = f"{result.confidence_per_test * 100:.2f} % CI"
    table = Table(
        title=f"{result.baseline.run_id or result.baseline.label} → "
        f"{result.current.run_id or result.current.label}",
        title_justify="left",
        show_edge=False,
    )
    for col in ("endpoint", "metric", "baseline", "current", "change", conf, "verdict"):
        table.add_column(col, justify="right" if col in ("baseline", "current", "change") else "left")
    style = {Status.REGRESSED: "bold red", Status.IMPROVED: "green"}
    from novaload.compare.comparison import _fmt_value  # one formatting for all outputs

    for e in result.endpoints:
        if not e.metrics:
            table.add_row(e.name, "", "", "", "", "", e.status)
        for i, m in enumerate(e.metrics):
            s = style.get(m.status)
            table.add_row(
                e.name if i == 0 else "",
                METRIC_LABELS[m.metric],
                _fmt_value(m.metric, m.old),
                _fmt_value(m.metric, m.new),
                m.change_text(),
                m.ci_text(),
                Text(str(m.status), style=s or ""),
            )
        table.add_section()
    console.print(table)
    console.print(Text(result.summary_line(), style="bold red" if result.regressed else "green"))


@app.command()
def history(
    scenario: Annotated[str | None, typer.Option("--scenario", help="Only this scenario.")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="Only this git branch.")] = None,
    verdict: Annotated[
        str | None, typer.Option("--verdict", help="Only this verdict (passed, failed, regressed, ...).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N runs.")] = 20,
    history_dir: HistoryDir = None,
    add: Annotated[
        list[Path] | None, typer.Option("--add", help="Register existing run folders first (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
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
    table = Table(title=f"history: {store.path}", title_justify="left", show_edge=False)
    table.add_column("run id", no_wrap=True)  # the folder is in --json
    for col in (
        "scenario",
        "env",
        "profile",
        "branch",
        "commit",
        "verdict",
        "exit",
        "requests",
        "req/s",
        "errors",
        "p95 ms",
    ):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e.run_id,
            e.scenario or "-",
            e.environment or "-",
            e.profile or "-",
            e.git_branch or "-",
            (e.git_commit or "-")[:8],
            e.verdict or "-",
            "-" if e.exit_code is None else str(e.exit_code),
            _n(e.requests, "{:.0f}"),
            _n(e.rps, "{:.1f}"),
            _n(None if e.error_rate is None else e.error_rate * 100, "{:.2f} %"),
            _n(e.p95, "{:.1f}"),
        )
    console.print(table)
    if not entries:
        console.print("no runs registered yet", highlight=False)


def _n(v: float | None, fmt: str) -> str:
    return "-" if v is None else fmt.format(v)
