"""Load shapes compile to k6 stages whose planned load matches the shape numerically."""

from __future__ import annotations

import math

import pytest

from novaload.config.models import Shape
from novaload.scenario.shapes import (
    compile_shape,
    draw_shape,
    plan_duration,
    plan_series,
    planned_load,
    plateaus,
    random_levels,
)

MODELS = ["closed", "open"]


def sample_times(total: float, n: int = 400) -> list[float]:
    # Avoid exact stage boundaries: at a jump both sides are "right".
    return [total * (i + 0.5) / n for i in range(n)]


def assert_matches(shape: Shape, analytic, tolerance: float) -> None:
    executor = compile_shape(shape)
    total = plan_duration(executor)
    assert total == pytest.approx(_seconds(shape.duration))
    worst = max(abs(planned_load(executor, t) - analytic(t)) for t in sample_times(total))
    assert worst <= tolerance, f"planned load deviates by {worst:.3f} from the analytic shape"


def _seconds(text: str) -> float:
    from novaload.config.models import parse_duration

    return parse_duration(text)


@pytest.mark.parametrize("model", MODELS)
def test_constant_holds_peak(model: str) -> None:
    shape = Shape(kind="constant", model=model, peak=40, duration="30s")
    executor = compile_shape(shape)
    assert executor["executor"] == ("constant-vus" if model == "closed" else "constant-arrival-rate")
    assert_matches(shape, lambda t: 40.0, 1e-9)
    assert planned_load(executor, 31) == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_ramp_rises_linearly_holds_and_falls(model: str) -> None:
    shape = Shape(kind="ramp", model=model, start=5, peak=45, duration="60s", ramp_up="20s", ramp_down="10s")

    def analytic(t: float) -> float:
        if t < 20:
            return 5 + 40 * t / 20
        if t < 50:
            return 45
        return 45 * (60 - t) / 10

    assert_matches(shape, analytic, 1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_steps_jump_to_evenly_spaced_levels(model: str) -> None:
    shape = Shape(kind="steps", model=model, start=0, peak=100, steps=4, duration="40s")
    assert_matches(shape, lambda t: 25.0 * (math.floor(t / 10) + 1), 1e-9)
    assert [level for _, _, level in plateaus(compile_shape(shape))] == [25, 50, 75, 100]


def test_steps_step_duration_overrides_duration() -> None:
    shape = Shape(kind="steps", model="open", start=45, peak=180, steps=9, step_duration="4s", duration="36s")
    steps = plateaus(compile_shape(shape))
    assert [(s, e) for s, e, _ in steps] == [(4.0 * i, 4.0 * (i + 1)) for i in range(9)]
    assert [lvl for _, _, lvl in steps] == [60 + 15 * i for i in range(9)]


@pytest.mark.parametrize("model", MODELS)
def test_spike_rises_holds_and_returns_to_baseline(model: str) -> None:
    shape = Shape(
        kind="spike",
        model=model,
        baseline=10,
        peak=110,
        duration="60s",
        ramp_up="5s",
        hold="10s",
        ramp_down="5s",
    )
    # 40 s of baseline split 20/20 around the surge.

    def analytic(t: float) -> float:
        if t < 20:
            return 10
        if t < 25:
            return 10 + 100 * (t - 20) / 5
        if t < 35:
            return 110
        if t < 40:
            return 110 - 100 * (t - 35) / 5
        return 10

    assert_matches(shape, analytic, 1e-9)


def test_burst_repeats_surges_every_period() -> None:
    shape = Shape(kind="burst", model="closed", baseline=2, peak=20, duration="30s", period="10s", hold="3s")
    assert_matches(shape, lambda t: 20.0 if t % 10 >= 7 else 2.0, 1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_sine_follows_the_curve(model: str) -> None:
    shape = Shape(
        kind="sine", model=model, baseline=10, peak=110, duration="120s", period="60s", resolution="2s"
    )

    def analytic(t: float) -> float:
        return 10 + 100 * (1 - math.cos(2 * math.pi * t / 60)) / 2

    # Linear interpolation between 2 s points of a 50-amplitude sine of period 60 s
    # errs by at most 50 * (2π·2/60)² / 8 ≈ 0.27, plus 0.5 from whole-number targets.
    assert_matches(shape, analytic, 0.8)


def test_random_is_seeded_and_reproducible() -> None:
    a = Shape(kind="random", model="open", start=5, peak=50, duration="60s", resolution="5s", seed=7)
    b = Shape(kind="random", model="open", start=5, peak=50, duration="60s", resolution="5s", seed=8)
    assert compile_shape(a) == compile_shape(a.model_copy())
    assert compile_shape(a)["stages"] != compile_shape(b)["stages"]
    levels = random_levels(a)
    assert len(levels) == 12 and all(5 <= v <= 50 for v in levels)
    executor = compile_shape(a)
    # At each stage end the plan is exactly that stage's seeded level.
    for i, level in enumerate(levels[:-1]):
        assert planned_load(executor, 5.0 * (i + 1)) == pytest.approx(level)


def test_open_model_carries_arrival_rate_fields() -> None:
    shape = Shape(
        kind="steps",
        model="open",
        peak=60,
        steps=3,
        duration="30s",
        time_unit="1m",
        pre_allocated_vus=4,
        max_vus=9,
    )
    executor = compile_shape(shape)
    assert executor["executor"] == "ramping-arrival-rate"
    assert (executor["timeUnit"], executor["preAllocatedVUs"], executor["maxVUs"]) == ("1m", 4, 9)
    assert executor["startRate"] == 0


def test_plan_series_covers_the_plan_to_its_end() -> None:
    executor = compile_shape(Shape(kind="ramp", peak=10, duration="10s"))
    series = plan_series(executor, 2.5)
    assert [t for t, _ in series] == [0, 2.5, 5, 7.5, 10]
    assert [v for _, v in series] == [0, 2.5, 5, 7.5, 10]


def test_draw_shape_draws_a_rising_ramp() -> None:
    series = plan_series(compile_shape(Shape(kind="ramp", peak=100, duration="1m")), 1)
    text = draw_shape(series, width=40, height=8)
    rows = text.splitlines()
    assert len(rows) == 8 + 2
    assert rows[0].startswith("100")
    bars = [row.split("│", 1)[1] for row in rows[:8]]
    assert bars[-1].strip() and not bars[0][:20].strip()  # low at the start, full at the end
    assert rows[-1].rstrip().endswith("1m")
