"""User-facing errors and the exit codes they map to.

Every error a user can cause (bad config, bad input file, missing k6, unreachable
Docker, ...) is a :class:`NovaloadError`. The CLI catches that one root in one
place (``novaload.cli.main``) and turns it into a one-line message and
``error.exit_code``; anything else is a bug and exits with ``ExitCode.INTERNAL``.

    NovaloadError                      exit 2 unless stated
    ├── ConfigError                    a config file, key or value is wrong
    ├── UsageError                     a command-line combination is wrong
    ├── InputError                     a results / summary / thresholds file is unusable
    ├── K6NotFoundError                no usable k6 binary
    ├── RunnerError                    the runner could not start k6 (Docker unreachable, ...)
    ├── RunFolderError                 the run folder can't be made or written (a file in the
    │                                  way, read-only, disk full) or holds another run
    └── MonitoringError                the monitoring stack could not be driven

Exit codes of a *finished* run are not errors: they come from
``novaload.run.outcome.exit_code_for`` (k6's own codes pass through unchanged).
"""

from __future__ import annotations

import reprlib
from enum import IntEnum
from pathlib import Path

# An error is one line: what it quotes is cut (a value may be a megabyte, or a YAML
# alias that stands for millions of nodes, all of them shared: repr is bounded here).
MAX_MESSAGE = 500
_quote = reprlib.Repr()
_quote.maxstring = 80
_quote.maxother = 80
_quote.maxlevel = 2
_quote.maxlist = _quote.maxtuple = _quote.maxdict = _quote.maxset = 6


def quoted(value: object) -> str:
    """``repr(value)``, cut to a few dozen characters whatever its size or nesting."""
    return _quote.repr(value)


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` on one line, at most ``limit`` characters."""
    flat = " ".join(message.split()) if ("\n" in message or "\r" in message) else message
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ExitCode(IntEnum):
    """Process exit statuses. k6's own codes (97-110) pass through unchanged."""

    OK = 0
    INTERNAL = 1  # a bug in novaload: traceback is printed
    USAGE = 2  # usage, configuration or input error; nothing was run
    REGRESSION = 3  # the run (or `compare`) found a regression against its baseline
    NO_RESULTS = 4  # k6 exited 0 but wrote no usable results: nothing was measured
    # --strict-generator (or `generator: {strict: true}`): the load generator was saturated
    GENERATOR_UNTRUSTWORTHY = 5
    # `monitor up|status`: a service of the monitoring stack is down or unhealthy
    MONITORING_UNHEALTHY = 6
    # `report` without --script or --k6-summary: the results name a submetric with
    # thresholds that k6's JSON output does not carry, so no verdict can be given
    THRESHOLDS_INCOMPLETE = 7
    # k6 itself crashed: a Go runtime panic or fatal error (k6 exits 2). A k6 killed by a
    # signal keeps 128+N; a panic k6 caught itself keeps k6's 109.
    K6_CRASHED = 8
    # A k6 instance ended but its exit code is not known: its Kubernetes pod was deleted or
    # evicted, or its container's status was lost, before the code was read (or the Docker
    # engine went away while waiting for a container). Never "passed", never a made-up 1.
    K6_EXIT_UNKNOWN = 9
    # k6's codes, from errext/exitcodes/codes.go; listed so they can be named.
    K6_CLOUD_TEST_FAILED = 97
    K6_CLOUD_SYNC_FAILED = 98
    THRESHOLDS_FAILED = 99
    K6_SETUP_TIMEOUT = 100
    K6_TEARDOWN_TIMEOUT = 101
    K6_GENERIC_TIMEOUT = 102
    K6_STOPPED_VIA_API = 103
    K6_INVALID_CONFIG = 104
    K6_EXTERNAL_ABORT = 105
    K6_API_NOT_STARTED = 106
    K6_SCRIPT_EXCEPTION = 107
    K6_SCRIPT_ABORTED = 108
    K6_GO_PANIC = 109
    K6_MARKED_AS_FAILED = 110


class NovaloadError(Exception):
    """Root of every user-facing error. ``str(err)`` is the one line shown."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.hint = one_line(hint, 200) if hint else hint

    def __str__(self) -> str:  # one line, always
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(NovaloadError):
    """A configuration file, key or value is invalid.

    The message names the file, the key path and the offending value, e.g.
    ``configs/profiles.yaml: profiles.smoke.vus: must be >= 1 (got -3)``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        key: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        parts = []
        if file is not None:
            parts.append(str(file))
        if key:
            parts.append(key)
        prefix = ": ".join(parts)
        shown = message if value is None else f"{message} (got {quoted(value)})"
        super().__init__(f"{prefix}: {shown}" if prefix else shown, hint=hint)
        self.file = file
        self.key = key
        self.value = value


class UsageError(NovaloadError):
    """A command-line argument or combination of arguments is invalid."""


class InputError(NovaloadError):
    """A results, summary or thresholds file cannot be used (empty, not k6, corrupt)."""


class K6NotFoundError(NovaloadError):
    """No usable k6 binary was found."""


class RunnerError(NovaloadError):
    """The runner could not start or supervise k6 (e.g. Docker engine unreachable)."""


class RunFolderError(NovaloadError):
    """The run folder cannot be claimed or written: the message names the path and why
    (exists and is not a folder, read-only file system, no space left, another run)."""


class MonitoringError(NovaloadError):
    """The monitoring stack could not be started, stopped or queried."""


__all__ = [
    "ConfigError",
    "ExitCode",
    "InputError",
    "K6NotFoundError",
    "MonitoringError",
    "NovaloadError",
    "RunFolderError",
    "RunnerError",
    "UsageError",
]
