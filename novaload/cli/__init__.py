"""The ``novaload`` command line: parse, call one library function, print.

``main`` is the only place that turns exceptions into exit codes: a
:class:`NovaloadError` becomes its one-line message and ``exit_code``; any
other exception is a bug (exit 1) and prints a traceback. ``--debug`` shows
the traceback for user errors too.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

# Command modules register themselves on `app` when imported.
from novaload.cli import (  # noqa: F401  (imported for registration)
    cmd_compare,
    cmd_config,
    cmd_import,
    cmd_monitor,
    cmd_report,
    cmd_run,
    cmd_suite,
    cmd_target,
)
from novaload.cli.app import app, console_err, state, styled
from novaload.errors import ExitCode, NovaloadError


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        # Without standalone mode typer *returns* the code of `typer.Exit(code)`.
        code = app(args=argv, standalone_mode=False)
    except NovaloadError as exc:
        if state.debug:
            console_err.print_exception()
        console_err.print(styled("error:", "bold red", f" {exc}"), soft_wrap=True)
        sys.exit(int(exc.exit_code))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        console_err.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except OSError as exc:
        if exc.filename is None:
            _internal_error()
        # A path the user gave (a folder that is a file, a read-only or full disk) that
        # the library did not already name: one line, exit 2, traceback only with --debug.
        if state.debug:
            console_err.print_exception()
        where = exc.filename if isinstance(exc.filename, str) else str(exc.filename)
        console_err.print(
            styled("error:", "bold red", f" {where}: {exc.strerror or type(exc).__name__}"), soft_wrap=True
        )
        sys.exit(ExitCode.USAGE)
    except Exception as exc:  # noqa: BLE001 - the one place bugs become exit 1
        # Click's usage errors (typer vendors click in recent releases, so match by shape).
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        _internal_error()
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error() -> NoReturn:
    console_err.print_exception()
    console_err.print(
        styled(
            "internal error",
            "bold red",
            " — this is a bug in novaload; please report it with the traceback above",
        )
    )
    sys.exit(ExitCode.INTERNAL)


__all__ = ["app", "main"]
