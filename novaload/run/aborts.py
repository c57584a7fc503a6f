"""How k6 stopped, from its own log: a threshold with ``abortOnFail`` that failed, or k6
crashing.

k6 says it aborted on a threshold only in its log (``internal/metrics/engine/engine.go``,
the same words in 1.x and 2.x; logrus' text format puts the time first); its exit code
is 99 either way. The reports say which metric and when. A k6 that crashed (a Go
panic's trace, a fatal error) leaves its last words in the same log.
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


# The first line of a Go runtime crash: "panic: ...", "fatal error: ...", "SIGSEGV: ...".
_GO_CRASH = re.compile(r"^(?:panic: |fatal error: |SIG[A-Z]+: |runtime: )")
_TAIL_LINES = 8
_TAIL_BYTES = 256 * 1024


def k6_crash_lines(logs: list[Path]) -> list[str]:
    """What k6 said as it died: the first line of a Go crash trace (if any) and the last
    lines of its log(s), at most a few, each cut to one line of bounded length."""
    found: list[str] = []
    for log in logs:
        try:
            with log.open("rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                head_text = b""
                if size > _TAIL_BYTES:
                    fh.seek(0)
                    head_text = fh.read(_TAIL_BYTES)
                fh.seek(max(0, size - _TAIL_BYTES))
                tail = fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        lines = [*head_text.decode("utf-8", "replace").splitlines(), *tail] if head_text else tail
        crash = next((line for line in lines if _GO_CRASH.match(line)), None)
        last = [line for line in tail if line.strip()][-_TAIL_LINES:]
        if crash and crash not in last:
            found.append(crash[:300])
        found += [line[:300] for line in last]
    return found


__all__ = ["k6_crash_lines", "k6_threshold_abort"]
