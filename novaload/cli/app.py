"""The Typer application and the state shared by all commands.

Help texts follow click's conventions, and ``tests/test_cli_help.py`` holds every command to
them at 80 columns:

* Help is rendered by click's plain formatter (``rich_markup_mode=None``): nothing in a help
  text is parsed, so ``[…]``, ``*`` or backticks print as written, and a flag shows no
  ``<bool>``.
* Every option and argument has a help text: one sentence, plain prose, ending in a period.
* A default that is the parameter's Python default is printed by click (``[default: 1]``).
  One that is decided later (an environment variable, the scenario's, a folder named after
  the run) goes in ``show_default="…"``, never in the help text.
* An environment variable the option reads through typer is its ``envvar=`` (click prints it);
  one the library reads is named in ``show_default`` (``$ENVIRONMENT or local``).
* Every option that takes a value has a ``metavar`` in capitals (``NAME``, ``DIR``, ``N``,
  ``DURATION``, ``URL``), not typer's ``<str>``; one whose value is one of a few words
  lists them with :func:`one_of`, from the library's own tuple (which validates them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from novaload import __version__
from novaload.redact import redact


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
    """Everything printed goes through the redactor (redact.py) on its way out: a secret
    in a k6 line, an error message or a table cell is masked whoever prints it."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return redact(super()._render_buffer(buffer))

    def on_broken_pipe(self) -> None:
        """A reader that went away (``novaload run … | grep -q passed``) must not change
        the exit code CI reads (rich would exit 1): the rest of this stream is dropped."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())


console = _Console(highlight=False, markup=False, emoji=False, width=_width(sys.stdout))
console_err = _Console(stderr=True, highlight=False, markup=False, emoji=False, width=_width(sys.stderr))


def new_table(
    *columns: str, title: str | None = None, right: Iterable[str] = (), narrow: dict[str, int] | None = None
) -> Table:
    """A table for the terminal that fits 80 columns without cutting a value: a cell too
    long for its column wraps (at spaces, else anywhere: ``fold``), never ends in "…".
    ``right``: the columns of figures (right-aligned, never wrapped); ``narrow``: columns
    given a maximum width, so the room goes to the ones that need it."""
    table = Table(title=title, title_justify="left", show_edge=False)
    figures, widths = set(right), narrow or {}
    for name in columns:
        table.add_column(
            name,
            justify="right" if name in figures else "left",
            overflow="fold",
            no_wrap=name in figures,
            max_width=widths.get(name),
        )
    return table


def print_wide(target: Console, table: Table) -> None:
    """A ``--wide`` table: every column at its full width, however wide the terminal (as
    ``kubectl get -o wide``): lines longer than the terminal wrap there, cells stay whole."""
    from rich.measure import Measurement

    needed = Measurement.get(target, target.options.update(width=100_000), table).maximum
    saved = target.width
    target.width = max(needed, saved)  # print() never goes beyond the console's own width
    try:
        target.print(table)
    finally:
        target.width = saved


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style`` followed by ``rest`` as plain text (never parsed as markup)."""
    return Text.assemble((label, style), rest)


# `run` and `report` build the same endpoint tables (results.endpoint_cap)
MaxEndpointsOption = Annotated[
    int,
    typer.Option(
        "--max-endpoints",
        min=1,
        metavar="N",
        help="Rows of the endpoint tables: the endpoints with fewest requests beyond N are one "
        "'(other)' row (k6's figures and thresholds are unchanged).",
    ),
]


def one_of(values: Iterable[str]) -> str:
    """The metavar of an option taking one of ``values``, as click prints a choice: ``[a|b]``."""
    return "[" + "|".join(values) + "]"


# Click's plain help formatter, deliberately: rich's would parse every help text as markup
# (a "[default: …]" vanished) and print flags as "<bool>"; the plain one prints what is
# written, wraps at the terminal's width and reads the same in a CI log.
app = typer.Typer(
    name="novaload",
    help="One-command, CI-grade Grafana k6 load testing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
            "--config-dir",
            metavar="DIR",
            help="Configuration folder (environments, profiles, scenarios, suites).",
            show_default="./configs, else the packaged one",
            envvar="NOVALOAD_CONFIG_DIR",
        ),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option(
            "--scenarios-dir",
            metavar="DIR",
            help="k6 script templates the scenarios are rendered from.",
            show_default="./k6-scenarios, else the packaged one",
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
