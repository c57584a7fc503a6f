"""``novaload render``, ``list`` and ``doctor``: look at the configuration and the machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from novaload.cli.app import app, console, console_err, state
from novaload.errors import ExitCode


@app.command(no_args_is_help=True)
def render(
    scenario: Annotated[str, typer.Argument(help="Scenario name (see `novaload list`).")],
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment [default: $ENVIRONMENT or local].")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", "-p")] = None,
    vus: Annotated[int | None, typer.Option("--vus", min=1)] = None,
    duration: Annotated[str | None, typer.Option("--duration")] = None,
    target_url: Annotated[str | None, typer.Option("--target")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the script here [default: stdout].")
    ] = None,
    show_shape: Annotated[
        bool, typer.Option("--show-shape", help="Draw the planned load over time.")
    ] = False,
) -> None:
    """Render a scenario into a complete k6 script without running it."""
    import os

    from novaload.config import Overrides, load_project, select
    from novaload.runfolder import new_run_id
    from novaload.scenario.render import render as render_script

    project = load_project(state.config_dir, state.scenarios_dir)
    overrides = Overrides(
        environment=env, profile=profile, vus=vus, duration=duration, target_url=target_url
    ).merged_with_env(os.environ)
    selection = select(project, scenario, overrides)
    assert selection.scenario is not None
    rendered = render_script(
        selection.scenario,
        selection.environment,
        selection.profile,
        run_id=new_run_id(scenario),
        scenarios_dir=state.scenarios_dir,
    )
    if output is None:
        sys.stdout.write(rendered.text)
    else:
        rendered.write(output)
        console_err.print(
            f"wrote {output} ({selection.scenario.name} · "
            f"{selection.environment.name} · {selection.profile.name})"
        )
    if show_shape:
        from novaload.scenario.shapes import draw_shape, plan_series

        for name, executor in rendered.options["scenarios"].items():
            console_err.print(f"[bold]{name}[/] · {executor['executor']}")
            console_err.print(draw_shape(plan_series(executor, 1.0), width=72, height=14), highlight=False)


@app.command("list")
def list_() -> None:
    """Show scenarios, environments, profiles and suites, one line each."""
    from rich.markup import escape

    from novaload.config import load_project
    from novaload.config.loader import default_config_dir

    project = load_project(state.config_dir, state.scenarios_dir)
    console.print("[bold]scenarios[/]")
    for s in project.scenarios.values():
        # Descriptions are user text (imported ones come from API titles): never markup.
        console.print(
            f"  {escape(s.name):<12} {escape(s.description)} [dim](default profile {escape(s.default_profile)})[/]"
        )
    console.print("[bold]environments[/]")
    for e in project.environments.values():
        target = "built-in demo target" if e.uses_demo_target else e.base_url
        note = " [yellow](requires --yes)[/]" if e.requires_confirmation else ""
        console.print(f"  {e.name:<12} {target}{note}")
    console.print("[bold]profiles[/]")
    for p in project.profiles.values():
        console.print(f"  {escape(p.name):<12} {escape(p.description)}")
    suites = sorted((state.config_dir or default_config_dir()).joinpath("suites").glob("*.yaml"))
    if suites:
        from novaload.config.loader import read_yaml

        console.print("[bold]suites[/] (novaload suite NAME)")
        for path in suites:
            data = read_yaml(path)
            about = data.get("description", "") if isinstance(data, dict) else ""
            console.print(f"  {escape(path.stem):<12} {escape(str(about))}")


@app.command()
def doctor() -> None:
    """Check that k6, the configuration and optional components are usable here."""
    from novaload.doctor import run_checks

    checks = run_checks(state.config_dir, state.scenarios_dir)
    table = Table(show_edge=False)
    for col in ("check", "status", "detail"):
        table.add_column(col)
    style = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    for c in checks:
        # Details quote settings and services' answers: never interpreted as markup.
        table.add_row(Text(c.name), Text(c.status, style=style[c.status]), Text(c.detail))
    console.print(table)
    raise typer.Exit(ExitCode.USAGE if any(c.status == "fail" for c in checks) else 0)
