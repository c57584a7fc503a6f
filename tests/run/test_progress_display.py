"""The live progress panel on a terminal: redrawn when figures arrive, never by a thread
of its own (every wake-up while k6 runs is a turn taken from k6 on a busy machine)."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from novaload.cli.progress import ConsoleObserver
from novaload.runners.base import LiveStats


def test_the_panel_is_drawn_on_each_poll_without_a_refresh_thread() -> None:
    out = io.StringIO()
    observer = ConsoleObserver(Console(file=out, force_terminal=True, width=120), planned_s=10)
    before = set(threading.enumerate())
    try:
        observer.progress(LiveStats(elapsed_s=1, vus=3, vus_max=5, requests=41, rps=41.0, p95_ms=12.5))
        assert "41" in out.getvalue() and "12.5 ms" in out.getvalue()
        observer.progress(LiveStats(elapsed_s=2, vus=3, vus_max=5, requests=97, rps=56.0))
        assert "97" in out.getvalue()
        assert set(threading.enumerate()) == before  # rich's auto-refresh would start one
    finally:
        observer.close()
