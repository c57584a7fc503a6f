"""Step analyses: ``stress`` (where did the SLOs first break?) and ``capacity`` (the knee).

Both cut the run into the plan's constant-load steps (``shapes.plateaus``) and
judge each step on its windows: latency percentile and error rate against the
SLOs; capacity also on throughput achieved vs the step's target rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from novaload.analysis.base import (
    Analysis,
    AnalysisContext,
    Slo,
    StepStats,
    clean,
    fmt,
    html_para,
    html_table,
    md_table,
    step_stats,
    windows,
)
from novaload.results.model import RunResults
from novaload.scenario.shapes import is_open_model, plateaus, time_unit_s


def _steps(results: RunResults, ctx: AnalysisContext, slo: Slo) -> list[StepStats]:
    if ctx.executor is None:
        return []
    ts = windows(results.timeseries)
    # The run's last window is partial (k6 stops mid-window, in-flight iterations are
    # cut): counted in, it would make the last step look like it fell short.
    ts = ts.iloc[:-1] if len(ts) > 1 else ts
    return step_stats(
        ts,
        plateaus(ctx.executor, min_s=0.0),
        results.window_s,
        slo.column,
        results.latency_between,
        slo.percentile,
    )


def _unit(ctx: AnalysisContext) -> str:
    return "iterations/s" if ctx.executor is not None and is_open_model(ctx.executor) else "VUs"


def _no_steps(name: str, title: str) -> Analysis:
    verdict = "no constant-load steps in the plan (or no data in them): nothing to judge"
    return Analysis(
        name=name,
        title=title,
        verdict=verdict,
        flagged=False,
        figures={"steps": []},
        markdown=verdict,
        html=html_para(verdict),
    )


# --------------------------------------------------------------------------- stress


def stress(results: RunResults, ctx: AnalysisContext) -> Analysis:
    """Name the first step whose windows broke the SLOs."""
    title = "Stress: breaking point"
    slo = ctx.slo
    steps = [s for s in _steps(results, ctx, slo) if s.requests > 0]
    if not steps:
        return _no_steps("stress", title)
    unit = _unit(ctx)
    broken = [(s, slo.broken_by(s.latency_ms, s.error_rate)) for s in steps]
    first = next(((s, why) for s, why in broken if why), None)
    if first is None:
        verdict = (
            f"no step broke the SLOs ({slo.describe()}); the highest step, {steps[-1].level:g} {unit}, held"
        )
    else:
        s, why = first
        verdict = (
            f"thresholds first broke at step {s.index} ({s.level:g} {unit}, "
            f"t={s.start_s:g}–{s.end_s:g} s): {'; '.join(why)}"
        )
    header = ["step", f"load ({unit})", "from s", "to s", "req/s", slo.column + " ms", "errors %", "SLOs"]
    rows = [
        [
            s.index,
            f"{s.level:g}",
            f"{s.start_s:g}",
            f"{s.end_s:g}",
            fmt(s.rps),
            fmt(s.latency_ms),
            fmt(100 * s.error_rate, 2),
            "broken" if why else "met",
        ]
        for s, why in broken
    ]
    figures = {
        "slo": slo.describe(),
        "breaking_step": first[0].index if first else None,
        "breaking_load": first[0].level if first else None,
        "steps": [_step_fig(s, bool(why)) for s, why in broken],
    }
    return Analysis(
        name="stress",
        title=title,
        verdict=verdict,
        flagged=first is not None,
        figures=figures,
        markdown=f"**{verdict}**\n\n" + md_table(header, rows),
        html=html_para(verdict) + html_table(header, rows, [i for i, (_, why) in enumerate(broken) if why]),
    )


def _step_fig(s: StepStats, broken: bool, **extra: object) -> dict[str, object]:
    return {
        "step": s.index,
        "level": s.level,
        "start_s": s.start_s,
        "end_s": s.end_s,
        "requests": s.requests,
        "failures": s.failures,
        "rps": clean(s.rps, 3),
        "latency_ms": clean(s.latency_ms, 3),
        "error_rate": clean(s.error_rate, 6),
        "slo_broken": broken,
        **extra,
    }


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True, slots=True)
class CapacityStep:
    stats: StepStats
    target_rps: float
    broken: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.stats.rps / self.target_rps if self.target_rps else 0.0


def _knee(judged: list[CapacityStep]) -> tuple[CapacityStep | None, CapacityStep | None]:
    """``(knee, breaking step)``: the last sustained step before the break.

    A failing step followed by a sustained one is a transient (a load-generator
    hiccup, a GC pause): the target demonstrably sustained the higher rate, so
    only a failing step that is last or followed by another failure is the break.
    """
    knee = None
    for i, step in enumerate(judged):
        if not step.broken:
            knee = step
            continue
        following = judged[i + 1] if i + 1 < len(judged) else None
        if following is None or following.broken:
            return knee, step
    return knee, None


def capacity(results: RunResults, ctx: AnalysisContext) -> Analysis:
    """The knee: the last step before the break meeting the SLOs at ≥ 95 % of its rate."""
    title = "Capacity: highest sustainable rate"
    slo = ctx.slo
    steps = _steps(results, ctx, slo)
    if not steps or ctx.executor is None:
        return _no_steps("capacity", title)
    min_ratio = ctx.param("min_throughput_ratio", 0.95)
    per_iter = ctx.param("requests_per_iteration", 1.0)
    per_s = 1.0 / time_unit_s(ctx.executor) if is_open_model(ctx.executor) else None
    judged = []
    for s in steps:
        # Closed model: no target rate exists; only the SLOs judge a step.
        target = s.level * per_s * per_iter if per_s else s.rps
        why = list(slo.broken_by(s.latency_ms, s.error_rate))
        if s.requests == 0:
            why.append("no requests")
        elif target and s.rps / target < min_ratio:
            why.append(f"throughput {s.rps:.1f}/s < {100 * min_ratio:g} % of {target:g}/s")
        judged.append(CapacityStep(stats=s, target_rps=target, broken=tuple(why)))
    knee, first_fail = _knee(judged)
    if knee is None:
        verdict = f"no step was sustainable under the SLOs ({slo.describe()})"
    elif first_fail is None:
        verdict = (
            f"capacity not reached: every step up to {knee.stats.rps:.1f} req/s met the SLOs "
            f"({slo.describe()}); raise the peak"
        )
    else:
        verdict = (
            f"highest sustainable rate ≈ {knee.target_rps:g} req/s (step {knee.stats.index}); "
            f"step {first_fail.stats.index} at {first_fail.target_rps:g} req/s broke: "
            f"{'; '.join(first_fail.broken)}"
        )
    header = [
        "step",
        "target req/s",
        "achieved req/s",
        "achieved %",
        slo.column + " ms",
        "errors %",
        "verdict",
    ]
    rows = [
        [
            st.stats.index,
            fmt(st.target_rps),
            fmt(st.stats.rps),
            fmt(100 * st.ratio),
            fmt(st.stats.latency_ms),
            fmt(100 * st.stats.error_rate, 2),
            "; ".join(st.broken) or "sustained",
        ]
        for st in judged
    ]
    figures = {
        "slo": slo.describe(),
        "min_throughput_ratio": min_ratio,
        "knee_rps": clean(knee.target_rps, 3) if knee else None,
        "knee_achieved_rps": clean(knee.stats.rps, 3) if knee else None,
        "knee_step": knee.stats.index if knee else None,
        "capacity_reached": first_fail is not None,
        "steps": [_step_fig(st.stats, bool(st.broken), target_rps=clean(st.target_rps, 3)) for st in judged],
    }
    return Analysis(
        name="capacity",
        title=title,
        verdict=verdict,
        flagged=knee is None,
        figures=figures,
        markdown=f"**{verdict}**\n\n" + md_table(header, rows),
        html=html_para(verdict) + html_table(header, rows, [i for i, st in enumerate(judged) if st.broken]),
    )


__all__ = ["capacity", "stress"]
