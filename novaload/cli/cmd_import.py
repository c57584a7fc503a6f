"""``novaload import openapi|har``: an API description or a browser recording → a scenario file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from novaload.cli.app import app, console, console_err, state

if TYPE_CHECKING:
    from novaload.importers import ImportedScenario

import_app = typer.Typer(
    help="Generate a scenario (configs/scenarios/NAME.yaml) from OpenAPI or a HAR recording.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

NameOption = Annotated[
    str | None,
    typer.Option(
        "--name", "-n", metavar="NAME", help="Scenario name.", show_default="from the title or the file name"
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the scenario here (- for stdout).",
        show_default="configs/scenarios/NAME.yaml",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing scenario file.")]


def _write(imported: ImportedScenario, output: Path | None, force: bool) -> None:
    from novaload.importers import default_output, write_scenario

    if output is not None and str(output) == "-":
        imported.validated("<stdout>")
        console.print(imported.to_yaml(), end="", soft_wrap=True)
        return
    path = write_scenario(imported, output or default_output(imported.name, state.config_dir), force=force)
    console_err.print(
        f"wrote {path}: {len(imported.endpoints)} endpoint(s)"
        + (
            f", {len(imported.skipped)} item(s) not generated (listed at the top of the file)"
            if imported.skipped
            else ""
        ),
    )
    for line in imported.skipped[:10]:
        console_err.print(f"  - {line}", soft_wrap=True)
    if len(imported.skipped) > 10:
        console_err.print(f"  … and {len(imported.skipped) - 10} more")
    console_err.print(f"run it: novaload run {imported.name}")


@import_app.command("openapi", no_args_is_help=True)
def openapi(
    spec: Annotated[
        str, typer.Argument(metavar="SPEC", help="OpenAPI 3.0/3.1 file (JSON or YAML) or http(s) URL.")
    ],
    name: NameOption = None,
    base_path: Annotated[
        str | None,
        typer.Option(
            "--base-path",
            metavar="PATH",
            help="Prefix for every path.",
            show_default="the first server's path",
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", metavar="TAG", help="Only operations with this tag (repeatable)."),
    ] = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """One weighted endpoint per operation, with checks and a default SLO."""
    from novaload.importers import import_openapi
    from novaload.importers.common import check_name

    imported = import_openapi(
        spec, name=check_name(name) if name else None, base_path=base_path, tags=tag or ()
    )
    _write(imported, output, force)


@import_app.command("har", no_args_is_help=True)
def har(
    recording: Annotated[
        Path, typer.Argument(metavar="HAR", help="HAR file recorded by a browser (DevTools, Playwright).")
    ],
    name: NameOption = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", metavar="HOST", help="Replay this host's requests.", show_default="the page's host"
        ),
    ] = None,
    keep_static: Annotated[
        bool, typer.Option("--keep-static", help="Keep stylesheets, scripts, images, fonts and media.")
    ] = False,
    max_think_time: Annotated[
        float,
        typer.Option(
            "--max-think-time", min=0, metavar="SECONDS", help="Cap recorded pauses at this many seconds."
        ),
    ] = 30.0,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """The recorded requests in order, with their think times; secrets become ${VAR}s."""
    from novaload.importers import import_har
    from novaload.importers.common import check_name

    imported = import_har(
        recording,
        name=check_name(name) if name else None,
        host=host,
        keep_static=keep_static,
        max_think_time=max_think_time,
    )
    _write(imported, output, force)
