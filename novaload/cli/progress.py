"""Live progress of a run: a rich panel on a terminal, plain log lines in CI."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from novaload.runners.base import ExecutionPlan, LiveStats


def _fmt(stats: LiveStats, planned: float | None) -> list[tuple[str, str]]:
    remaining = max(0.0, planned - stats.elapsed_s) if planned else None
    return [
        ("elapsed", f"{stats.elapsed_s:5.0f}s" + (f" / {planned:.0f}s" if planned else "")),
        ("remaining", f"{remaining:.0f}s" if remaining is not None else "?"),
        ("VUs", f"{stats.vus}/{stats.vus_max}"),
        ("iterations", f"{stats.iterations}"),
        ("requests", f"{stats.requests}"),
        ("req/s", f"{stats.rps:.1f}"),
        ("p95", f"{stats.p95_ms:.1f} ms" if stats.p95_ms is not None else "-"),
        ("errors", f"{100 * stats.error_rate:.2f} %" if stats.error_rate is not None else "-"),
    ]


class ConsoleObserver:
    """Implements the pipeline's RunObserver for a human or a CI log."""

    def __init__(
        self, console: Console, planned_s: float | None = None, plain_interval_s: float = 5.0
    ) -> None:
        self.console = console
        self.planned_s = planned_s
        self.plain_interval_s = plain_interval_s
        self._live: Live | None = None
        self._last_plain = 0.0
        self.k6_started = False  # the pipeline calls start() just before the runner starts k6

    # RunObserver -------------------------------------------------------------------
    def start(self, plan: ExecutionPlan) -> None:
        self.planned_s = plan.planned_duration_s
        self.k6_started = True

    def info(self, message: str) -> None:
        self.console.print(Text.assemble(("•", "cyan"), " ", message), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.console.print(Text.assemble(("warning:", "yellow"), " ", message), soft_wrap=True)

    def progress(self, stats: LiveStats) -> None:
        if self.console.is_terminal:
            self._live_update(stats)
        elif time.monotonic() - self._last_plain >= self.plain_interval_s:
            self._last_plain = time.monotonic()
            self.console.print(
                "progress: " + " ".join(f"{k}={v.replace(' ', '')}" for k, v in _fmt(stats, self.planned_s)),
                highlight=False,
            )

    # ---------------------------------------------------------------------------------
    def _live_update(self, stats: LiveStats) -> None:
        table = Table.grid(padding=(0, 2))
        row = _fmt(stats, self.planned_s)
        for _ in row:
            table.add_column()
        table.add_row(*[Text(k, style="dim") for k, _ in row])
        table.add_row(*[Text(v, style="bold") for _, v in row])
        if self.planned_s:
            outer = Table.grid()
            outer.add_row(
                ProgressBar(total=self.planned_s, completed=min(stats.elapsed_s, self.planned_s), width=60)
            )
            outer.add_row(table)
            renderable = outer
        else:
            renderable = table
        # No refresh thread: the figures change once a second, when this is called, and
        # every wake-up of ours while k6 runs is taken from k6 on a busy machine.
        if self._live is None:
            self._live = Live(renderable, console=self.console, auto_refresh=False, transient=False)
            self._live.start(refresh=True)
        else:
            self._live.update(renderable, refresh=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
