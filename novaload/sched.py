"""How novaload's own threads share the CPUs with the k6 they watch.

While k6 runs, anything novaload does on the same machine is taken from k6 (and from a
local target it loads) when the CPUs are busy: on 2 cores even a thread that only woke
every 50 ms cost k6 a measurable part of its rate. Threads that work during the run
(the results scan, importing what the report needs) say how much they may wait:

* ``IDLE`` (SCHED_IDLE): runs only on CPU time nobody else wants; the kernel counts a CPU
  running it as free, so a k6 or target thread that wakes takes it at once. For work
  that can fall behind and catch up after k6 exits (a results *file* stays on disk).
* ``BATCH`` (SCHED_BATCH): does not preempt a running thread when it wakes, but gets its
  fair share, so it keeps up. For work k6 waits on (a *pipe* k6 writes into).

Linux applies policies per thread, so only the caller is affected. An unprivileged
thread may not leave SCHED_IDLE, so work left when k6 exits is done by an ordinary
thread (the live scan's caller). Best effort: where refused or missing nothing changes.
"""

from __future__ import annotations

import os
import threading
from typing import Literal

Patience = Literal["IDLE", "BATCH"]


def yield_to_k6(patience: Patience = "IDLE") -> None:
    """Make the calling thread ``patience`` work (see the module doc)."""
    policy = getattr(os, f"SCHED_{patience}", None)
    if policy is None:
        return
    try:
        os.sched_setscheduler(threading.get_native_id(), policy, os.sched_param(0))
    except OSError:
        pass


__all__ = ["Patience", "yield_to_k6"]
