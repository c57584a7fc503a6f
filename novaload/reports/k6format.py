"""Numbers as k6's end-of-test summary prints them, so novaload's terminal lines read the
same as k6's on the same screen (k6 truncates durations and rates where a plain format
rounds: k6 shows 38.73ms for 38.7389 ms, not 38.74).

The rules are those of k6's summary code (``humanizeValue`` and its helpers in k6's
summary JavaScript, the same in the ``k6-summary`` jslib): durations with two decimals
truncated, in ns/µs/ms/s/m/h; a rate as a percentage truncated to two decimals; data in
decimal units rounded to one decimal under 10; other values with at most six decimals.
JavaScript's ``toFixed`` rounds halves away from zero on the exact binary value, which
``decimal`` reproduces. No pandas here: the terminal lines are printed without it.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def to_fixed(val: float, prec: int) -> str:
    """JavaScript's ``val.toFixed(prec)``."""
    if not math.isfinite(val):
        return "NaN" if math.isnan(val) else ("Infinity" if val > 0 else "-Infinity")
    text = str(Decimal(val).quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def _no_trailing_zeros(fixed: str) -> str:
    """``parseFloat(fixed).toString()`` for a ``toFixed`` text."""
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    return "0" if fixed in ("-0", "") else fixed


def fixed_no_trailing_zeros(val: float, prec: int) -> str:
    return _no_trailing_zeros(to_fixed(val, prec))


def fixed_no_trailing_zeros_trunc(val: float, prec: int) -> str:
    mult = 10**prec
    return fixed_no_trailing_zeros(math.trunc(mult * val) / mult, prec)


def duration(ms: float) -> str:
    """A time value (k6's unit: milliseconds) as k6's summary prints it."""
    if ms == 0:
        return "0s"
    if ms < 0.001:
        return f"{math.trunc(ms * 1_000_000)}ns"
    if ms < 1:
        return fixed_no_trailing_zeros_trunc(ms * 1000, 2) + "µs"
    if ms < 1000:
        return fixed_no_trailing_zeros_trunc(ms, 2) + "ms"
    result = fixed_no_trailing_zeros_trunc((ms % 60000) / 1000, 0 if ms > 60000 else 2) + "s"
    rest = math.trunc(ms / 60000)
    if rest < 1:
        return result
    result = f"{rest % 60}m{result}"
    rest = math.trunc(rest / 60)
    return result if rest < 1 else f"{rest}h{result}"


def rate(val: float) -> str:
    """A Rate metric's value (0..1) as k6's percentage, truncated to two decimals."""
    return to_fixed(math.trunc(val * 100 * 100) / 100, 2) + "%"


def data(size: float) -> str:
    """Bytes in decimal units (kB = 1000 B), as k6's ``humanizeBytes``."""
    if size < 10:
        return f"{int(size) if size == int(size) else repr(float(size))} B"
    e = math.floor(math.log(size) / math.log(1000))
    val = math.floor((size / 1000**e) * 10 + 0.5) / 10
    return f"{to_fixed(val, 1 if val < 10 else 0)} {_BYTE_UNITS[e]}"


def value(val: float, metric_type: str, contains: str) -> str:
    """k6's ``humanizeValue``: one figure of a metric of this type and content."""
    if metric_type == "rate":
        return rate(val)
    if contains == "data":
        return data(val)
    if contains == "time":
        return duration(val)
    return fixed_no_trailing_zeros(val, 6)


def metric_figures(
    values: dict[str, float], metric_type: str, contains: str, trend_stats: tuple[str, ...]
) -> str:
    """A metric's figures as k6's summary line shows them after the dots: a Trend's
    ``avg=… min=…`` in ``trend_stats`` order, a Counter's count and rate, a Gauge's
    value, min and max, a Rate's percentage and ``N out of M`` (k6 v1's summary)."""
    if metric_type == "trend":
        parts = []
        for stat in trend_stats:
            v = values.get(stat)
            if v is not None:
                parts.append(f"{stat}={int(v) if stat == 'count' else value(v, metric_type, contains)}")
        return " ".join(parts)
    if metric_type == "counter":
        count, per_s = values.get("count", 0.0), values.get("rate", 0.0)
        return f"{value(count, metric_type, contains)} {value(per_s, metric_type, contains)}/s"
    if metric_type == "gauge":
        v, lo, hi = (values.get(k, 0.0) for k in ("value", "min", "max"))
        return f"{value(v, metric_type, contains)} min={value(lo, metric_type, contains)} max={value(hi, metric_type, contains)}"
    if metric_type == "rate":
        passes, fails = (int(values.get(k, 0)) for k in ("passes", "fails"))
        return f"{rate(values.get('value', values.get('rate', 0.0)))} {passes} out of {passes + fails}"
    return "[no data]"


__all__ = ["data", "duration", "metric_figures", "rate", "to_fixed", "value"]
