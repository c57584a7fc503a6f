"""Scenario analyses on real short k6 runs against the demo target.

- soak flags an injected latency drift and does not flag a flat run;
- capacity finds the target's configured capacity_rps within ±15 %.
"""

from __future__ import annotations

import pytest

from novaload.analysis import AnalysisContext, run_analyses
from novaload.config.models import Profile, ProjectConfig
from novaload.results.ingest import ingest

pytestmark = [pytest.mark.k6, pytest.mark.slow]

SOAK_PROFILE = Profile(name="soak-test", vus=4, duration="22s", think_time=(0.05, 0.1), graceful_stop="2s")


def _soak(run_scenario, make_target, project: ProjectConfig, drift_ms_per_min: float):
    target = make_target(latency_drift_ms_per_min=drift_ms_per_min)
    run = run_scenario("soak", target, profile=SOAK_PROFILE)
    assert run.summary["metrics"]["http_reqs"]["count"] > 100
    results = ingest([run.results_json])
    ctx = AnalysisContext.for_run(project.scenarios["soak"], SOAK_PROFILE, "soak")
    # 99 % instead of the default 95 %: a flat run must not flag by chance in CI
    # (one-sided false-positive rate 0.5 % instead of 2.5 %); the drift stays far above.
    ctx = AnalysisContext(
        scenario=ctx.scenario,
        executor=ctx.executor,
        thresholds=ctx.thresholds,
        params={**ctx.params, "confidence": 0.99},
    )
    return run_analyses(["soak"], results, ctx)[0]


def test_soak_flags_injected_latency_drift(run_scenario, make_target, project) -> None:
    # 300 ms/min = +5 ms per second: over 20 s the p95 more than doubles.
    analysis = _soak(run_scenario, make_target, project, drift_ms_per_min=300)
    assert analysis.flagged, analysis.verdict
    assert analysis.figures["latency_degraded"] is True
    assert analysis.figures["p95_degradation_ci_pct_per_hour"][0] > 5
    assert analysis.figures["windows"] >= 15


def test_soak_does_not_flag_a_flat_run(run_scenario, make_target, project) -> None:
    analysis = _soak(run_scenario, make_target, project, drift_ms_per_min=0)
    assert not analysis.flagged, analysis.verdict
    assert analysis.figures["windows"] >= 15


CAPACITY_RPS = 150


def test_capacity_finds_configured_limit(run_scenario, make_target, project) -> None:
    # Steps of 15 req/s from 60 to 180, 4 s each (~40 s in all).
    profile = Profile.model_validate(
        {
            "name": "capacity-test",
            "think_time": [0, 0],
            "graceful_stop": "2s",
            "shape": {
                "kind": "steps",
                "model": "open",
                "start": 45,
                "peak": 180,
                "steps": 9,
                "step_duration": "4s",
                "duration": "36s",
                "pre_allocated_vus": 20,
                "max_vus": 300,
            },
        }
    )
    target = make_target(capacity_rps=CAPACITY_RPS)
    run = run_scenario("capacity", target, profile=profile, timeout=120)
    results = ingest([run.results_json])
    ctx = AnalysisContext.for_run(project.scenarios["capacity"], profile, "capacity")
    analysis = run_analyses(["capacity"], results, ctx)[0]
    knee = analysis.figures["knee_rps"]
    assert knee is not None, analysis.verdict
    assert abs(knee - CAPACITY_RPS) <= 0.15 * CAPACITY_RPS, analysis.markdown
    assert analysis.figures["capacity_reached"] is True
