"""Whether k6 stopped a test itself because a threshold with ``abortOnFail`` failed.

k6 says so only in its log (``internal/metrics/engine/engine.go``, the same words in 1.x
and 2.x; logrus' text format puts the time first); its exit code is 99 either way. The
reports say which metric and when.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

_K6_ABORT = re.compile(
    r'time="(?P<time>[^"]+)".*thresholds on metrics \'(?P<metrics>.*?)\' were crossed; '
    r"at least one has abortOnFail enabled, stopping test prematurely"
)


def k6_threshold_abort(logs: list[Path], started: datetime) -> str | None:
    """One line saying that k6 aborted the test on a threshold, which and when, from k6's
    log(s); None when it did not."""
    for log in logs:
        try:
            text = log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        m = _K6_ABORT.search(text)
        if m is None:
            continue
        when = m["time"]
        try:
            at = datetime.fromisoformat(when.replace("Z", "+00:00"))
            when = f"{at.strftime('%H:%M:%S')} UTC, {max(0.0, (at - started).total_seconds()):.0f} s into the run"
        except ValueError:
            pass
        return f"k6 aborted the test at {when}: a threshold with abortOnFail failed on {m['metrics']}"
    return None


__all__ = ["k6_threshold_abort"]
