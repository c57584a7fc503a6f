"""``novaload suite FILE.yaml``: several runs, one folder, one index report, one exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import app, console, console_err, new_table, one_of, state

# config/suite.py's Suite.mode (pydantic: not imported before the command runs).
SUITE_MODES = ("sequential", "parallel")


@app.command(no_args_is_help=True)
def suite(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE|NAME",
            help="Suite file (YAML: runs of scenarios or scripts), or a name in configs/suites/.",
        ),
    ],
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            metavar="NAME",
            help="Environment for runs that set none.",
            show_default="the file's",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Profile for runs that set none.",
            show_default="the file's",
        ),
    ] = None,
    vus: Annotated[
        int | None,
        typer.Option("--vus", min=1, metavar="N", help="Peak VUs of every run.", show_default="each run's"),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            metavar="DURATION",
            help="Total duration of every run, e.g. 30s.",
            show_default="each run's",
        ),
    ] = None,
    target_url: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            help="Base URL for runs that set none.",
            show_default="the environment's",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="RUN",
            help="Gate every run on a regression against this run, last or last-passing.",
            show_default="the file's",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            metavar=one_of(SUITE_MODES),
            help="Run one after another or side by side.",
            show_default="the file's",
        ),
    ] = None,
    max_parallel: Annotated[
        int | None,
        typer.Option(
            "--max-parallel",
            min=1,
            metavar="N",
            help="With --mode parallel: at most N runs at once.",
            show_default="the file's, else all",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", metavar="DIR", help="Suite folder.", show_default="reports/suite-<name>-<time>"
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the suite already in --out-dir (each run's folder as a whole, and the index); "
            "without it such a folder is refused.",
        ),
    ] = False,
    k6: Annotated[
        str | None,
        typer.Option(
            "--k6", metavar="PATH", help="k6 binary to use.", show_default="$K6_BINARY or novaload's"
        ),
    ] = None,
    history_dir: Annotated[
        Path | None,
        typer.Option(
            "--history-dir",
            metavar="DIR",
            help="Run-history store.",
            show_default="reports/.history",
            envvar="NOVALOAD_HISTORY_DIR",
        ),
    ] = None,
) -> None:
    """Run a suite of scenarios/scripts sequentially or in parallel; exit with the worst code."""
    from novaload.config.suite import RunSettings, load_suite
    from novaload.errors import UsageError
    from novaload.suite import SEVERITY_ORDER, run_suite
    from novaload.suite.index import figure_text, share_text

    if mode is not None and mode not in SUITE_MODES:
        raise UsageError(f"--mode must be sequential or parallel (got {mode!r})")
    if not file.exists() and file.suffix == "" and len(file.parts) == 1:
        from novaload.config.loader import default_config_dir

        named = (state.config_dir or default_config_dir()) / "suites" / f"{file}.yaml"
        file = named if named.is_file() else file  # `novaload suite core` = configs/suites/core.yaml
    spec = load_suite(file)
    try:
        overrides = RunSettings(
            env=env, profile=profile, vus=vus, duration=duration, target=target_url, baseline=baseline
        )
    except ValueError as exc:  # pydantic's ValidationError: one line, the first problem
        first = str(exc).splitlines()
        raise UsageError(f"suite options: {' '.join(first[1:3]).strip() or first[0]}") from None
    outcome = run_suite(
        spec,
        file,
        out_dir=out_dir,
        overwrite=overwrite,
        overrides=overrides,
        mode=mode,
        max_parallel=max_parallel,
        k6=k6,
        config_dir=state.config_dir,
        scenarios_dir=state.scenarios_dir,
        history_dir=history_dir,
        on_event=lambda message: console_err.print(message),
    )
    # Each run's folder is in the suite folder as <#>-<run> (01-api); index.html links them.
    table = new_table("#", "run", "verdict", "exit", "requests", "p95 ms", "failed", title=f"suite {spec.name}",
                      right=("#", "exit", "requests", "p95 ms", "failed"))  # fmt: skip
    for row in outcome.rows:
        f = row.figures
        table.add_row(
            str(row.index + 1),
            row.label,
            row.verdict,
            str(row.exit_code) if row.verdict != "not run" else "–",
            figure_text(f.get("requests"), ",.0f"),
            figure_text(f.get("p95_ms"), ".1f"),
            share_text(f.get("failed_rate")),
        )
    console.print(table)
    console.print(f"suite folder: {outcome.suite_dir} (index.html, index.md, junit.xml)")
    meaning = dict(SEVERITY_ORDER).get(str(outcome.exit_code), "see the runs")
    console.print(f"suite verdict: {outcome.verdict} · exit code {outcome.exit_code} ({meaning})")
    raise typer.Exit(outcome.exit_code)
