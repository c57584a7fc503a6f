"""Where a runner's k6 output lines go: the console, ``k6.log`` and each instance's log."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import IO

from novaload.redact import redact

LogCallback = Callable[[str], None]


class InstanceConsole:
    """Serialises lines from several k6 instances (containers, runner pods) onto the
    console, ``k6.log`` and each instance's own log."""

    def __init__(self, sink: LogCallback, combined: IO[str]) -> None:
        self._sink = sink
        self._combined = combined
        self._lock = threading.Lock()

    def line(self, text: str, prefix: str = "", own: IO[str] | None = None, *, show: bool = True) -> None:
        """``prefix + text`` to ``k6.log`` and, if ``show``, the console; ``text`` to ``own``.

        Never raises: a full disk, a failing sink or a log closed after a log thread's
        bounded join loses the line, not the run. Every line is redacted here, whoever
        sends it.
        """
        text, prefix = redact(text), redact(prefix)
        with self._lock:
            if own is not None:
                with contextlib.suppress(OSError, ValueError):
                    own.write(text + "\n")
                    own.flush()
            with contextlib.suppress(OSError, ValueError):
                self._combined.write(prefix + text + "\n")
                self._combined.flush()
            if show:
                with contextlib.suppress(Exception):
                    self._sink(prefix + text)


def print_line(text: str) -> None:
    """The default sink: stdout, at once."""
    print(text, file=sys.stdout, flush=True)


__all__ = ["InstanceConsole", "LogCallback", "print_line"]
