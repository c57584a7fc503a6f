"""The Typer application and the state shared by all commands."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.text import Text

from novaload import __version__


@dataclass
class State:
    debug: bool = False
    config_dir: Path | None = None
    scenarios_dir: Path | None = None


state = State()


def _width(stream: TextIO) -> int | None:
    """CI logs are not terminals: give tables room instead of rich's default 80 columns."""
    if stream.isatty() or os.environ.get("COLUMNS"):
        return None
    return 160


# Results go to stdout; progress, warnings and errors to stderr, so stdout can be piped.
# Markup is off: k6 output, error messages, names from the config and git branches are
# user-controlled, and a "[/]" in any of them would raise MarkupError (or restyle the
# line). novaload's own styling is passed as rich Text/styles, never parsed from strings.
# Emoji codes are off for the same reason: rich would print ":warning:" in a URL, a k6
# line or a scenario written to stdout as an emoji.
class _Console(Console):
    def on_broken_pipe(self) -> None:
        """A reader that went away (``novaload run … | grep -q passed``) must not change
        the exit code CI reads (rich would exit 1): the rest of this stream is dropped."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())


console = _Console(highlight=False, markup=False, emoji=False, width=_width(sys.stdout))
console_err = _Console(stderr=True, highlight=False, markup=False, emoji=False, width=_width(sys.stderr))


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style`` followed by ``rest`` as plain text (never parsed as markup)."""
    return Text.assemble((label, style), rest)


app = typer.Typer(
    name="novaload",
    help="One-command, CI-grade Grafana k6 load testing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"novaload {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.", envvar="NOVALOAD_DEBUG")
    ] = False,
    config_dir: Annotated[
        Path | None,
        typer.Option(
            "--config-dir", help="Configuration folder [default: ./configs].", envvar="NOVALOAD_CONFIG_DIR"
        ),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option(
            "--scenarios-dir",
            help="Template folder [default: ./k6-scenarios].",
            envvar="NOVALOAD_SCENARIOS_DIR",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    state.debug = debug
    state.config_dir = config_dir
    state.scenarios_dir = scenarios_dir
    if debug:
        os.environ["NOVALOAD_DEBUG"] = "1"
    # Containers of a novaload that was killed (and whose watchdog died too) go now. This
    # is housekeeping, not the command's output: it is said only with --debug, so that a
    # command's stderr stays its own (one line per error), whatever another run left.
    from novaload.runners.reaper import reap_orphans

    for name in reap_orphans():
        if debug:
            console_err.print(f"removed container {name}: the novaload run that started it is gone")
