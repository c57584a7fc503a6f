"""Is the load generator trustworthy? Judged offline from what a run left behind.

Three pieces of evidence, each optional (an old run or a bare results file may
lack some; the verdict says what it rests on):

* ``generator-samples.jsonl`` (written during the run by
  ``novaload.runners.health``): k6's CPU use as a share of the cores it may use,
  and its memory. k6 that used, or was ready to run but waited for, >=
  ``cpu_percent`` of its share for ``cpu_seconds`` in a row is a saturated
  generator: it measures its own scheduling delay as latency. The waiting counts
  because a k6 pinned to a core its neighbours keep busy uses little CPU yet starves.
* ``dropped_iterations`` from k6's results: an arrival-rate executor could not
  start an iteration when it was due (no free VU), so the rate asked for was
  not sent. More than ``max_dropped_iterations`` is a reason.
* ``Insufficient VUs, reached N active VUs`` in ``k6.log``: an arrival-rate
  executor hit its ``maxVUs`` ceiling.

A run with any reason is **untrustworthy**. Criteria come from the scenario's
``generator:`` config (:class:`novaload.config.models.GeneratorCriteria`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from novaload.config.models import GeneratorCriteria
from novaload.runfolder import GENERATOR_SAMPLES, K6_LOG

TRUSTWORTHY: Literal["trustworthy"] = "trustworthy"
UNTRUSTWORTHY: Literal["untrustworthy"] = "untrustworthy"
# k6 (lib/executor/*arrival_rate.go): logged once per executor when maxVUs is reached.
_VU_CEILING = re.compile(r"Insufficient VUs, reached (\d+) active VUs")
_LOGFMT_FIELD = re.compile(r'\b(executor|scenario)=("(?:[^"\\]|\\.)*"|\S+)')


@dataclass(frozen=True, slots=True)
class GeneratorSample:
    """One sample of one k6 instance; ``t`` is seconds since the run's first k6 sample."""

    t: float
    instance: int
    interval_s: float
    cpu_percent: float  # of one core
    wait_percent: float | None  # run-queue wait (ready, no CPU free), % of one core
    cpu_share: float  # cores k6 may use
    rss_bytes: int | None
    host_cpu_percent: float | None

    @property
    def cpu_of_share(self) -> float:
        """CPU use in percent of the share (100 = every core k6 may use was busy)."""
        return self.cpu_percent / self.cpu_share if self.cpu_share > 0 else math.nan

    @property
    def demand_of_share(self) -> float:
        """CPU k6 used *or waited for*, in percent of its share: what the saturation
        criterion judges (a starved k6 uses little CPU but waits a lot)."""
        wait = self.wait_percent or 0.0
        return (self.cpu_percent + wait) / self.cpu_share if self.cpu_share > 0 else math.nan


@dataclass(frozen=True, slots=True)
class VuCeiling:
    scenario: str
    executor: str
    max_vus: int


@dataclass(frozen=True, slots=True)
class GeneratorHealth:
    verdict: Literal["trustworthy", "untrustworthy"]
    reasons: tuple[str, ...]
    criteria: GeneratorCriteria
    samples: tuple[GeneratorSample, ...] = ()
    sampled: bool = False  # a samples file was found (CPU/memory were judged)
    dropped_iterations: int = 0
    vu_ceilings: tuple[VuCeiling, ...] = ()
    longest_saturated_s: float = 0.0  # longest stretch with demand >= cpu_percent of the share
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def trustworthy(self) -> bool:
        return self.verdict == TRUSTWORTHY

    @property
    def peak_cpu_of_share(self) -> float | None:
        vals = [s.cpu_of_share for s in self.samples if math.isfinite(s.cpu_of_share)]
        return max(vals) if vals else None

    @property
    def peak_demand_of_share(self) -> float | None:
        vals = [s.demand_of_share for s in self.samples if math.isfinite(s.demand_of_share)]
        return max(vals) if vals else None

    @property
    def peak_rss_bytes(self) -> int | None:
        vals = [s.rss_bytes for s in self.samples if s.rss_bytes is not None]
        return max(vals) if vals else None

    @property
    def cpu_share(self) -> float | None:
        return self.samples[-1].cpu_share if self.samples else None

    def summary_line(self) -> str:
        """One line for the terminal and report.md."""
        if self.trustworthy:
            what = "CPU/memory sampled" if self.sampled else "CPU not sampled"
            peak = self.peak_demand_of_share
            extra = f", peak CPU demand {peak:.0f} % of its share" if peak is not None else ""
            return f"load generator: trustworthy ({what}{extra}, no dropped iterations)"
        return "load generator: UNTRUSTWORTHY: " + "; ".join(self.reasons)

    def to_json(self) -> dict[str, Any]:
        """``novaload.load_generator`` in summary.json."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "criteria": self.criteria.model_dump(),
            "sampled": self.sampled,
            "cpu_share": self.cpu_share,
            "peak_cpu_percent_of_share": self.peak_cpu_of_share,
            "peak_demand_percent_of_share": self.peak_demand_of_share,
            "longest_saturated_s": self.longest_saturated_s,
            "peak_rss_bytes": self.peak_rss_bytes,
            "dropped_iterations": self.dropped_iterations,
            "vu_ceilings": [
                {"scenario": v.scenario, "executor": v.executor, "max_vus": v.max_vus}
                for v in self.vu_ceilings
            ],
            "samples": [
                {
                    "t": s.t,
                    "instance": s.instance,
                    "interval_s": s.interval_s,
                    "cpu_percent": s.cpu_percent,
                    "wait_percent": s.wait_percent,
                    "cpu_share": s.cpu_share,
                    "rss_bytes": s.rss_bytes,
                    "host_cpu_percent": s.host_cpu_percent,
                }
                for s in self.samples
            ],
        }


def read_samples(path: Path, origin_s: float | None) -> list[GeneratorSample]:
    """The samples file; ``t`` relative to ``origin_s`` (unix seconds), else to the first sample.

    A line that is not a sample (a truncated last line of a killed run) is skipped.
    """
    raw: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
                float(rec["time"])
                float(rec["cpu_percent"])
                float(rec["cpu_share"])
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(rec, dict):
                raw.append(rec)
    if not raw:
        return []
    zero = origin_s if origin_s is not None else min(float(r["time"]) for r in raw)
    out = [
        GeneratorSample(
            t=float(r["time"]) - zero,
            instance=int(r.get("instance", 1)),
            interval_s=float(r.get("interval_s") or 1.0),
            cpu_percent=float(r["cpu_percent"]),
            wait_percent=None if r.get("wait_percent") is None else float(r["wait_percent"]),
            cpu_share=float(r["cpu_share"]),
            rss_bytes=None if r.get("rss_bytes") is None else int(r["rss_bytes"]),
            host_cpu_percent=None if r.get("host_cpu_percent") is None else float(r["host_cpu_percent"]),
        )
        for r in raw
    ]
    return sorted(out, key=lambda s: (s.instance, s.t))


def read_vu_ceilings(log: Path) -> list[VuCeiling]:
    """Every ``Insufficient VUs`` warning k6 logged (one per executor and instance)."""
    out: dict[tuple[str, str], VuCeiling] = {}
    with log.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _VU_CEILING.search(line)
            if not m:
                continue
            tags = {k: v.strip('"') for k, v in _LOGFMT_FIELD.findall(line)}
            key = (tags.get("scenario", "?"), tags.get("executor", "?"))
            out.setdefault(key, VuCeiling(key[0], key[1], int(m.group(1))))
    return list(out.values())


def longest_saturated(samples: list[GeneratorSample], cpu_percent: float) -> tuple[float, int | None]:
    """Longest run of consecutive samples (per instance) whose CPU demand (used + waited
    for) is >= ``cpu_percent`` of the share, as the sum of the intervals they cover; and
    the instance it happened on."""
    best, where = 0.0, None
    run, prev_instance = 0.0, None
    for s in samples:
        if s.instance != prev_instance:
            run, prev_instance = 0.0, s.instance
        if math.isfinite(s.demand_of_share) and s.demand_of_share >= cpu_percent:
            run += s.interval_s
            if run > best:
                best, where = run, s.instance
        else:
            run = 0.0
    return best, where


def assess(
    *,
    dropped_iterations: int,
    samples: list[GeneratorSample] | None,
    vu_ceilings: list[VuCeiling] | None,
    criteria: GeneratorCriteria,
) -> GeneratorHealth:
    """The verdict from the evidence (None = that evidence is not available)."""
    reasons: list[str] = []
    notes: list[str] = []
    longest = 0.0
    if samples:
        longest, instance = longest_saturated(samples, criteria.cpu_percent)
        if longest >= criteria.cpu_seconds:
            share = next(s.cpu_share for s in samples if s.instance == instance)
            on = f" (instance {instance})" if len({s.instance for s in samples}) > 1 else ""
            reasons.append(
                f"k6 used or waited for >= {criteria.cpu_percent:g} % of its CPU share ({share:g} core{'' if share == 1 else 's'}) "
                f"for {longest:.1f} s{on} (limit {criteria.cpu_seconds:g} s)"
            )
    else:
        notes.append("k6's CPU and memory were not sampled (no generator-samples.jsonl)")
    if dropped_iterations > criteria.max_dropped_iterations:
        reasons.append(
            f"{dropped_iterations:,} iterations dropped (dropped_iterations > "
            f"{criteria.max_dropped_iterations}): the arrival rate asked for was not sent"
        )
    if vu_ceilings is None:
        notes.append("no k6.log: VU ceilings unknown")
    elif criteria.vu_ceiling:
        for v in vu_ceilings:
            reasons.append(
                f"scenario {v.scenario} ({v.executor}) reached its VU ceiling of {v.max_vus} VUs "
                "(k6: Insufficient VUs)"
            )
    return GeneratorHealth(
        verdict=UNTRUSTWORTHY if reasons else TRUSTWORTHY,
        reasons=tuple(reasons),
        criteria=criteria,
        samples=tuple(samples or ()),
        sampled=bool(samples),
        dropped_iterations=dropped_iterations,
        vu_ceilings=tuple(vu_ceilings or ()),
        longest_saturated_s=longest,
        notes=tuple(notes),
    )


def assess_run_folder(
    folder: Path,
    *,
    dropped_iterations: int,
    origin_s: float | None,
    criteria: GeneratorCriteria | None = None,
) -> GeneratorHealth:
    """Judge a run from its folder (samples file, k6.log) and its dropped iterations."""
    samples_path = folder / GENERATOR_SAMPLES
    log = folder / K6_LOG
    return assess(
        dropped_iterations=dropped_iterations,
        samples=read_samples(samples_path, origin_s) if samples_path.is_file() else None,
        vu_ceilings=read_vu_ceilings(log) if log.is_file() else None,
        criteria=criteria or GeneratorCriteria(),
    )


__all__ = [
    "GeneratorHealth",
    "GeneratorSample",
    "TRUSTWORTHY",
    "UNTRUSTWORTHY",
    "VuCeiling",
    "assess",
    "assess_run_folder",
    "longest_saturated",
    "read_samples",
    "read_vu_ceilings",
]
