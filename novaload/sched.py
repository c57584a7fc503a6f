"""How novaload's own threads share the CPUs with the k6 they watch.

While k6 runs, anything novaload does on the same machine is taken from k6 (and from a
local target) when the CPUs are busy: on 2 cores even a thread that only wakes every
50 ms cost k6 a measurable part of its rate. Threads that work during the run (the
results scan, importing what the report needs) mark themselves as batch work.
"""

from __future__ import annotations

import os
import threading


def yield_to_k6(yield_: bool = True) -> None:
    """The calling thread becomes SCHED_BATCH (``yield_``) or an ordinary thread again.

    A batch thread that wakes up does not preempt a running k6 thread but waits for its
    turn; it still gets its fair share, so work that must keep up (a pipe k6 writes
    into) does. Linux applies the policy per thread: only the caller is affected, and an
    unprivileged thread may go back. Best effort: where refused or missing nothing
    changes.
    """
    policy = os.SCHED_BATCH if yield_ else os.SCHED_OTHER
    try:
        os.sched_setscheduler(threading.get_native_id(), policy, os.sched_param(0))
    except (AttributeError, OSError):
        pass


__all__ = ["yield_to_k6"]
