"""k6 duration strings ("1m30s", "500ms", "2h"): parsed and formatted here, once.

Its own module, free of pydantic: a user's script run with ``--duration`` needs it before
k6 starts, and nothing else of the configuration.
"""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


# What k6 refuses at start, checked before a run folder is claimed: a duration is a Go
# time.Duration (int64 nanoseconds: 2562047h47m16.854775807s at most; k6 says "invalid
# duration").
K6_MAX_DURATION_S = (2**63 - 1) / 1e9
K6_MAX_DURATION = "2562047h47m16.854775807s"
# VUs, iterations and rates are int64 in k6.
K6_MAX_INT = 2**63 - 1


def parse_duration(text: str) -> float:
    """k6 duration string ("1m30s", "500ms", "2h") → seconds. Bare numbers are seconds."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
    elif not _DURATION_FULL.match(text):
        raise ValueError(f"not a k6 duration like '30s', '5m' or '1h30m': {text[:40]!r}")
    else:
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    if seconds > K6_MAX_DURATION_S:
        raise ValueError(f"longer than k6's longest duration, {K6_MAX_DURATION} (got {text[:40]!r})")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds → the shortest k6 duration string ("90" → "1m30s")."""
    if seconds != int(seconds):
        return f"{int(round(seconds * 1000))}ms"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"


__all__ = ["K6_MAX_DURATION", "K6_MAX_DURATION_S", "K6_MAX_INT", "format_duration", "parse_duration"]
