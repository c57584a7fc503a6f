"""Unit tests of the settings, the latency model and the capacity model."""

from __future__ import annotations

import random
import statistics

import pytest

from novaload.errors import ConfigError
from novaload.target import TargetSettings
from novaload.target.behaviour import Conditions, RateWindow
from novaload.target.settings import LatencyModel


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"error_rate": 1.5}, id="error-rate"),
        pytest.param({"latency_median_ms": 10, "latency_p99_ms": 5}, id="p99-below-median"),
        pytest.param({"latency_median_ms": 0, "latency_p99_ms": 5}, id="zero-median-nonzero-p99"),
        pytest.param({"capacity_rps": 0}, id="capacity-zero"),
        pytest.param({"port": 70000}, id="port"),
        pytest.param({"latency_drift_ms_per_min": -1}, id="negative-drift"),
    ],
)
def test_invalid_settings_raise_config_error_naming_the_key(fields):
    with pytest.raises(ConfigError) as err:
        TargetSettings(**fields)
    assert next(iter(fields)) in str(err.value) or "latency" in str(err.value)


def test_lognormal_fit_matches_median_and_p99():
    model = LatencyModel(8.0, 60.0, random.Random(1))
    samples = sorted(model.sample_ms() for _ in range(40_000))
    assert statistics.median(samples) == pytest.approx(8.0, rel=0.05)
    assert samples[int(0.99 * len(samples))] == pytest.approx(60.0, rel=0.1)


def test_zero_latency_means_no_delay():
    model = LatencyModel(0.0, 0.0, random.Random(1))
    assert {model.sample_ms() for _ in range(100)} == {0.0}


def test_rate_window_forgets_after_one_second():
    window = RateWindow()
    for i in range(50):
        window.hit(100.0 + i * 0.01)
    assert window.hit(100.5) == 51
    assert window.hit(102.0) == 1


def test_same_seed_gives_same_decisions():
    settings = TargetSettings(error_rate=0.3, seed=11)
    a, b = Conditions(settings), Conditions(settings)
    assert [a.decide(1.0) for _ in range(200)] == [b.decide(1.0) for _ in range(200)]


def _overloaded(conditions: Conditions, n: int) -> list[tuple[float, int, str]]:
    return [conditions.decide(1.0) for _ in range(n)]


def test_capacity_penalty_and_shedding_grow_with_overload():
    base = TargetSettings(latency_median_ms=0, latency_p99_ms=0, seed=5)
    mild = _overloaded(Conditions(base.updated({"capacity_rps": 400})), 500)
    heavy = _overloaded(Conditions(base.updated({"capacity_rps": 100})), 500)
    under = _overloaded(Conditions(base.updated({"capacity_rps": 10_000})), 500)
    assert all(d == (0.0, 0, "") for d in under)
    assert sum(s == 503 for _, s, _ in heavy) > sum(s == 503 for _, s, _ in mild) > 0
    assert max(d for d, _, _ in heavy) > max(d for d, _, _ in mild) > 0
