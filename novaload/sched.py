"""How novaload's own threads share the CPUs with the k6 they watch.

While k6 runs, anything novaload does on the same machine is taken from k6 (and from a
local target it loads) when the CPUs are busy: on 2 cores even a thread that only woke
every 50 ms cost k6 a measurable part of its rate. Threads that work during the run
(the results scan, importing what the report needs) make themselves SCHED_BATCH: a
batch thread that wakes does not preempt a running k6 thread but waits for its turn,
and still gets its fair share, so it keeps up (k6 waits on a pipe it writes into).

Not SCHED_IDLE, though it would yield more: a Python thread holds the GIL while it runs
Python code, and an idle-policy thread starved by a busy k6 while holding it stalls
every other thread of novaload (the load-generator sampler lost 6 s of samples that
way, with k6 pinned to one core), and an unprivileged thread can never leave the idle
policy again. Linux applies policies per thread, so only the caller is affected. Best
effort: where refused or missing nothing changes.
"""

from __future__ import annotations

import os
import threading


def yield_to_k6() -> None:
    """The calling thread becomes SCHED_BATCH (see the module doc)."""
    if not hasattr(os, "SCHED_BATCH"):
        return
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_BATCH, os.sched_param(0))
    except OSError:
        pass


__all__ = ["yield_to_k6"]
