"""``novaload suite FILE.yaml``: several runs, one folder, one index report, one exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from novaload.cli.app import app, console, console_err, state


@app.command(no_args_is_help=True)
def suite(
    file: Annotated[
        Path,
        typer.Argument(help="Suite file (YAML: runs of scenarios or scripts), or a name in configs/suites/."),
    ],
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment for runs that set none.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile for runs that set none.")
    ] = None,
    vus: Annotated[int | None, typer.Option("--vus", min=1)] = None,
    duration: Annotated[str | None, typer.Option("--duration")] = None,
    target_url: Annotated[
        str | None, typer.Option("--target", help="Base URL for runs that set none.")
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="Gate every run on regression against this run / last / last-passing."
        ),
    ] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="sequential or parallel [default: the file's mode].")
    ] = None,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", min=1)] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Suite folder [default: reports/suite-NAME-…].")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the suite already in --out-dir (each run's folder as a whole, and the index); "
            "without it such a folder is refused.",
        ),
    ] = False,
    k6: Annotated[str | None, typer.Option("--k6", envvar="K6_BINARY", help="k6 binary to use.")] = None,
    history_dir: Annotated[Path | None, typer.Option("--history-dir")] = None,
) -> None:
    """Run a suite of scenarios/scripts sequentially or in parallel; exit with the worst code."""
    from novaload.config.suite import RunSettings, load_suite
    from novaload.errors import UsageError
    from novaload.suite import SEVERITY_ORDER, run_suite
    from novaload.suite.index import figure_text, share_text

    if mode is not None and mode not in ("sequential", "parallel"):
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
    table = Table(title=f"suite {spec.name}", show_edge=False)
    for col in ("#", "run", "verdict", "exit", "requests", "p95 ms", "failed", "folder"):
        table.add_column(col)
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
            row.folder,
        )
    console.print(table)
    console.print(f"suite folder: {outcome.suite_dir} (index.html, index.md, junit.xml)")
    meaning = dict(SEVERITY_ORDER).get(str(outcome.exit_code), "see the runs")
    console.print(f"suite verdict: {outcome.verdict} · exit code {outcome.exit_code} ({meaning})")
    raise typer.Exit(outcome.exit_code)
