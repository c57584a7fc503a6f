"""The statistics: the closed-form quantile bootstrap against a brute-force one,
Mann–Whitney, and the error-rate interval."""

from __future__ import annotations

import numpy as np
import pytest

from novaload.compare.stats import (
    bootstrap_quantiles,
    k6_percentile,
    mann_whitney_p,
    mean_change,
    proportion_change,
    quantile_change,
    z_for,
)


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99], ids=["p50", "p95", "p99"])
@pytest.mark.parametrize("n", [40, 500], ids=["n40", "n500"])
def test_beta_bootstrap_matches_brute_force_resampling(q: float, n: int):
    rng = np.random.default_rng(7)
    x = np.sort(rng.lognormal(2.5, 0.8, size=n))
    fast = bootstrap_quantiles(x, q, 20_000, np.random.default_rng(1))
    idx = np.random.default_rng(2).integers(0, n, size=(5_000, n))
    slow = np.quantile(x[idx], q, axis=1)
    # The distributions are discrete (atoms at sample values), so compare moments.
    assert abs(fast.mean() - slow.mean()) <= 0.1 * slow.std()
    assert fast.std() == pytest.approx(slow.std(), rel=0.1)


def test_k6_percentile_interpolates_like_k6():
    # k6: i = p*(n-1) -> 0.95*3 = 2.85 -> 3 + (4-3)*0.85
    assert k6_percentile(np.array([1.0, 2.0, 3.0, 4.0]), 0.95) == pytest.approx(3.85)


def test_quantile_change_of_a_50_percent_slowdown_excludes_zero():
    rng = np.random.default_rng(3)
    x = np.sort(rng.lognormal(3, 0.5, size=400))
    ci = quantile_change(
        x, np.sort(x * 1.5), 0.95, confidence=0.99, resamples=5000, rng=np.random.default_rng(4)
    )
    assert ci.estimate == pytest.approx(0.5)
    assert ci.low > 0.1 and ci.excludes_zero


def test_quantile_change_of_the_same_distribution_contains_zero():
    rng = np.random.default_rng(5)
    a, b = (np.sort(rng.lognormal(3, 0.5, size=400)) for _ in range(2))
    ci = quantile_change(a, b, 0.95, confidence=0.99, resamples=5000, rng=np.random.default_rng(6))
    assert ci.low < 0 < ci.high


@pytest.mark.parametrize(("shift", "small"), [(1.0, False), (1.3, True)], ids=["same", "shifted"])
def test_mann_whitney(shift: float, small: bool):
    rng = np.random.default_rng(8)
    a = rng.lognormal(3, 0.5, size=300)
    b = rng.lognormal(3, 0.5, size=300) * shift
    p = mann_whitney_p(a, b)
    assert (p < 0.001) if small else (p > 0.01)


def test_mann_whitney_handles_all_ties():
    assert mann_whitney_p(np.ones(50), np.ones(50)) == 1.0


def test_proportion_change_with_zero_errors_has_a_finite_interval():
    ci = proportion_change(0, 1000, 0, 1000, confidence=0.95)
    assert ci.estimate == 0 and ci.low < 0 < ci.high and ci.high < 0.01
    worse = proportion_change(0, 1000, 60, 1000, confidence=0.95)
    assert worse.estimate == pytest.approx(0.06) and worse.low > 0


def test_mean_change_ci():
    rng = np.random.default_rng(9)
    old = rng.normal(100, 5, size=30)
    ci = mean_change(old, old * 0.7, confidence=0.95, resamples=2000, rng=rng)
    assert ci.high < 0 and ci.estimate == pytest.approx(-0.3)


@pytest.mark.parametrize(("conf", "z"), [(0.95, 1.95996), (0.975, 2.24140), (0.999, 3.29053)])
def test_z_for(conf: float, z: float):
    assert z_for(conf) == pytest.approx(z, abs=1e-4)
