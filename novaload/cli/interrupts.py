"""What Ctrl-C and SIGTERM mean around a run, outside the runner's own handling.

Before k6 starts, an interrupt aborts at once (exit 130; nothing ran). While k6 runs
the runner owns interrupts (first: graceful stop, second: kill). What arrives after
the runner has let go, typically the second of two quick Ctrl-C when k6 already
stopped on the first, must not abandon the run half-recorded: it is announced and
deferred, so ``run.json`` and the reports the collected results allow are still
written. A third interrupt in that phase gives up on the reports (the pipeline still
writes ``run.json`` on its way out).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

_GIVE_UP_AFTER = 3


class InterruptsAroundK6:
    """Installs the handlers for SIGINT/SIGTERM (main thread only) while a run is driven."""

    def __init__(self, k6_started: Callable[[], bool], warn: Callable[[str], None]) -> None:
        self._k6_started = k6_started
        self._warn = warn
        self._deferred = 0
        self._saved: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if not self._k6_started():
            raise KeyboardInterrupt
        self._deferred += 1
        if self._deferred >= _GIVE_UP_AFTER:
            raise KeyboardInterrupt
        self._warn(
            "interrupt: k6 has stopped; writing run.json and the reports "
            f"(interrupt {_GIVE_UP_AFTER - self._deferred} more time(s) to skip the reports)"
        )

    def __enter__(self) -> InterruptsAroundK6:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


__all__ = ["InterruptsAroundK6"]
