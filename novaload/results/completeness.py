"""Whether each k6 instance's results arrived whole.

k6 that exits 0 has flushed its JSON output and closed it: every sample it counted is in
the file, and the last line ends with a newline. What novaload reads can still be less —
a results file that is missing, empty or cut short (a full disk, a wrapper, a volume), a
Kubernetes runner's stream that broke — while every runner exited 0. Figures from what
arrived would then be judged as if they were the run's, so a run whose results did not all
arrive is never "passed" (``novaload.run.outcome``).

Each instance's results file is held against k6's own count of the same instance, its
``--summary-export`` (every runner asks for one): a Counter's ``count`` is the sum of its
samples, a Rate's ``passes + fails`` and a Trend's ``count`` (when exported) the number
of its samples. Without a summary (``--no-summary``) only what the file itself shows is
known: missing, or its last line cut.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from novaload.errors import InputError


@dataclass(frozen=True, slots=True)
class Arrived:
    """What one results file held when it was read."""

    lines: int = 0
    bytes: int = 0  # uncompressed
    cut: bool = False  # its last line (or gzip stream) ends mid-way
    # metric -> (samples, sum of their values), Point lines only
    samples: Mapping[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Instance:
    """One k6 instance of a run: its label ("runner 2/3", "k6"), results file and k6's
    summary of it (None: k6 wrote none)."""

    label: str
    results: Path
    summary: Path | None


def k6_counts(summary: Path) -> dict[str, tuple[str, float]] | None:
    """metric -> ("samples" | "sum", what k6 counted) from a k6 summary; None when the
    file is missing or not a k6 summary."""
    from novaload.results.summary import load_k6_summary

    try:
        doc = load_k6_summary(summary)
    except (InputError, OSError):
        return None
    counts: dict[str, tuple[str, float]] = {}
    for name, values in doc.values.items():
        if "{" in name:  # a submetric: its samples are its parent's
            continue
        kind = doc.metric_types.get(name, "")
        if kind == "counter" and _number(values.get("count")):
            counts[name] = ("sum", float(values["count"]))
        elif kind == "rate" and _number(values.get("passes")) and _number(values.get("fails")):
            counts[name] = ("samples", float(values["passes"]) + float(values["fails"]))
        elif kind == "trend" and _number(values.get("count")):
            counts[name] = ("samples", float(values["count"]))
    return counts


# The counts a reader knows first: what the test did, then the rest alphabetically.
_LEAD = ("iterations", "http_reqs", "checks", "http_req_failed")


def _first_the_load(item: tuple[str, tuple[str, float]]) -> tuple[int, str]:
    name = item[0]
    return (_LEAD.index(name) if name in _LEAD else len(_LEAD), name)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def gaps(instances: Sequence[Instance], arrived: Mapping[Path, Arrived]) -> list[str]:
    """One line for each instance whose results did not all arrive, naming what arrived
    against what k6 counted; empty when every instance's results are whole."""
    lines = []
    by_path = {_resolved(p): a for p, a in arrived.items()}
    for inst in instances:
        got = by_path.get(_resolved(inst.results))
        counts = k6_counts(inst.summary) if inst.summary is not None else None
        line = _gap(inst, got, counts)
        if line is not None:
            lines.append(line)
    return lines


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _gap(inst: Instance, got: Arrived | None, counts: dict[str, tuple[str, float]] | None) -> str | None:
    short = []
    for metric, (kind, expected) in sorted((counts or {}).items(), key=_first_the_load):
        n, total = got.samples.get(metric, (0, 0.0)) if got is not None else (0, 0.0)
        have = float(n) if kind == "samples" else total
        if not math.isclose(have, expected, rel_tol=1e-9, abs_tol=1e-9):
            short.append(f"{metric} {_fmt(expected)}, arrived {_fmt(have)}")
    missing = not inst.results.exists()
    if not short and not (got is not None and got.cut) and not (missing and counts is None):
        return None
    name = inst.results.name
    if missing:
        held = f"{name} is missing"
    else:
        g = got or Arrived()
        held = f"{name} holds {g.lines:,} lines ({g.bytes:,} bytes" + (
            ", its last line cut)" if g.cut else ")"
        )
    if counts is None:
        said = "k6 wrote no summary to compare with"
    elif short:
        said = (
            "k6 counted " + "; ".join(short[:3]) + (f" (and {len(short) - 3} more)" if len(short) > 3 else "")
        )
    else:
        said = "k6 counted as much, but a sample line is lost"
    return f"{inst.label}: its results did not all arrive: {held}; {said}"


def _fmt(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,.6g}"


def foreign_summary(summary: Path, arrived: Mapping[Path, Arrived]) -> str | None:
    """Why ``summary`` (a ``--k6-summary`` given for these results) is not k6's summary
    of them, or None. k6's counts must equal what the results hold, all of them together
    or a single file (an instance's summary of a split run): a summary of another run
    would judge these results by another script's thresholds and duration."""
    counts = k6_counts(summary)
    if not counts or not arrived:
        return None
    totals: dict[str, tuple[int, float]] = {}
    for got in arrived.values():
        for metric, (n, total) in got.samples.items():
            n0, t0 = totals.get(metric, (0, 0.0))
            totals[metric] = (n0 + n, t0 + total)
    differs = [_differs(counts, samples) for samples in (totals, *(a.samples for a in arrived.values()))]
    if any(d is None for d in differs):
        return None
    return f"{summary} is not k6's summary of these results: {differs[0]} (another run's summary, or results that did not all arrive)"


def _differs(counts: Mapping[str, tuple[str, float]], samples: Mapping[str, tuple[int, float]]) -> str | None:
    """The first metric whose count k6's summary and the results disagree on, or None."""
    for metric, (kind, expected) in sorted(counts.items(), key=_first_the_load):
        n, total = samples.get(metric, (0, 0.0))
        have = float(n) if kind == "samples" else total
        if not math.isclose(have, expected, rel_tol=1e-9, abs_tol=1e-9):
            return f"k6 counted {metric} {_fmt(expected)}, the results hold {_fmt(have)}"
    return None


__all__ = ["Arrived", "Instance", "foreign_summary", "gaps", "k6_counts"]
