"""Routing Ctrl-C and SIGTERM to a runner while its k6 instances run (containers, pods)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def signals_to(hit: Callable[..., None]) -> Iterator[None]:
    """Route SIGINT/SIGTERM to ``hit`` for the ``with`` block, then restore the handlers.

    Python delivers signals to the main thread only: off it there is nothing to route.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, hit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["signals_to"]
