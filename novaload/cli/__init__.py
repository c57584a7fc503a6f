"""The ``novaload`` command line: parse, call one library function, print.

``main`` is the only place that turns exceptions into exit codes: a
:class:`NovaloadError` becomes its one-line message and ``exit_code``; any
other exception is a bug (exit 1) and prints a traceback. ``--debug`` shows
the traceback for user errors too. ``command`` is the process's entry point (the
``novaload`` script, ``python -m novaload``): ``main``, then the end of the process.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
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


def command() -> NoReturn:
    """The ``novaload`` command: :func:`main`, then the process ends at once.

    The interpreter's own teardown (freeing every module and object: pandas, numpy,
    DuckDB, the run's results) takes 0.1-0.3 s after a run and does nothing a user
    needs: every file novaload writes is closed by then. So once the output is flushed
    and the atexit handlers have run (logging, temporary folders, thread pools), the
    process exits with the command's code. Unless a thread that is not a daemon still
    runs: the normal exit then waits for it, as Python's does.
    """
    try:
        main()
    except SystemExit as exc:
        status = exc.code
    else:
        status = 0
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(status)
    if status is None:
        code = 0
    elif isinstance(status, int):
        code = status
    else:  # sys.exit("message"), as Python prints it
        print(status, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone, a stream closed: nothing left to lose
            pass
    atexit._run_exitfuncs()
    os._exit(code & 0xFF)


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line), run the command, exit with its code
    (``SystemExit``). Usable in-process (tests): the interpreter stays."""
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
        k6_flag = _k6_flag_before_dashes(exc)
        if k6_flag is not None:
            console_err.print(
                styled(
                    "error:",
                    "bold red",
                    f" {k6_flag} is a flag of k6 run: put k6's flags after -- "
                    f"(novaload run SCRIPT [OPTIONS] -- {k6_flag} …)",
                ),
                soft_wrap=True,
            )
            sys.exit(ExitCode.USAGE)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        _internal_error()
    sys.exit(code if isinstance(code, int) else 0)


def _k6_flag_before_dashes(exc: Exception) -> str | None:
    """A k6 flag given to ``novaload run`` in front of ``--`` (``--tag x=y``, ``-i 7``),
    which click only knows as an unknown option."""
    option = getattr(exc, "option_name", None)
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ != "NoSuchOption" or not isinstance(option, str) or ctx is None:
        return None
    if getattr(ctx.command, "name", None) != "run":
        return None
    from novaload.runners.k6args import is_k6_flag

    return option if is_k6_flag(option) else None


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


__all__ = ["app", "command", "main"]
