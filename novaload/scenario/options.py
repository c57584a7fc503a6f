"""Compile a profile (and scenario SLOs) into k6 ``options``.

Load models map to k6 executors:

    vus + duration         constant-vus
    vus + iterations       shared-iterations
    stages                 ramping-vus
    rate + duration        constant-arrival-rate
    shape (closed model)   ramping-vus            (stages from novaload.scenario.shapes)
    shape (open model)     ramping-arrival-rate
"""

from __future__ import annotations

from typing import Any

from novaload.config.models import Profile, Scenario
from novaload.thresholds import Threshold


def executor_for(profile: Profile, *, exec_fn: str = "default") -> dict[str, Any]:
    """The k6 scenario object (executor and its parameters) for one profile."""
    base: dict[str, Any] = {"exec": exec_fn, "gracefulStop": profile.graceful_stop}
    if profile.shape is not None:
        from novaload.scenario.shapes import compile_shape

        return {**base, **compile_shape(profile.shape)}
    if profile.stages:
        return {
            **base,
            "executor": "ramping-vus",
            "startVUs": 0,
            "stages": [{"duration": s.duration, "target": s.target} for s in profile.stages],
            "gracefulRampDown": profile.graceful_stop,
        }
    if profile.rate is not None:
        pre = profile.pre_allocated_vus or profile.vus or max(1, profile.rate)
        return {
            **base,
            "executor": "constant-arrival-rate",
            "rate": profile.rate,
            "timeUnit": profile.time_unit,
            "duration": profile.duration,
            "preAllocatedVUs": pre,
            "maxVUs": max(pre, profile.max_vus or pre),
        }
    if profile.iterations is not None:
        out = {**base, "executor": "shared-iterations", "vus": profile.vus, "iterations": profile.iterations}
        if profile.duration:
            out["maxDuration"] = profile.duration
        return out
    return {**base, "executor": "constant-vus", "vus": profile.vus, "duration": profile.duration}


def thresholds_option(thresholds: dict[str, tuple[Threshold, ...]]) -> dict[str, list[Any]]:
    """Config thresholds → k6's ``options.thresholds``, each in the form it was written.

    Windowed thresholds (``... for 30s``) are novaload's alone: k6 would refuse them, so
    they stay out of the script and are judged offline after the run."""
    out = {metric: [t.to_k6() for t in items if t.for_k6] for metric, items in thresholds.items()}
    return {metric: items for metric, items in out.items() if items}


def build_options(
    scenario: Scenario,
    profile: Profile,
    *,
    insecure_skip_tls_verify: bool = False,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """k6 ``options`` for a rendered scenario.

    Templates with several k6 scenarios (``mixed``) put a ``k6_scenarios``
    mapping in their params: ``{name: {exec, weight}}``; each gets the profile's
    executor with its load scaled by weight.
    """
    sub = scenario.params.get("k6_scenarios")
    if sub:
        k6_scenarios = {
            name: _weighted(
                executor_for(profile, exec_fn=spec.get("exec", name)),
                float(spec.get("weight", 1.0)),
                {"component": name, **spec.get("tags", {})},
            )
            for name, spec in sub.items()
        }
    else:
        k6_scenarios = {scenario.name: executor_for(profile)}
    options: dict[str, Any] = {
        "scenarios": k6_scenarios,
        "thresholds": thresholds_option(scenario.all_thresholds),
        "summaryTrendStats": list(scenario.summary_trend_stats),
        "tags": {**scenario.tags, **(extra_tags or {})},
    }
    if insecure_skip_tls_verify:
        options["insecureSkipTLSVerify"] = True
    return options


def _weighted(executor: dict[str, Any], weight: float, tags: dict[str, str]) -> dict[str, Any]:
    """Scale an executor's load by ``weight`` (at least one VU / iteration)."""
    out = dict(executor)
    for key in ("vus", "rate", "preAllocatedVUs", "maxVUs", "startRate"):
        if key in out and out[key]:
            out[key] = max(1, round(out[key] * weight))
    if "stages" in out:
        out["stages"] = [{**s, "target": max(0, round(s["target"] * weight))} for s in out["stages"]]
    if "iterations" in out:
        out["iterations"] = max(1, round(out["iterations"] * weight))
    out["tags"] = tags
    return out


__all__ = ["build_options", "executor_for", "thresholds_option"]
