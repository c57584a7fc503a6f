"""t quantile and OLS against reference values (scipy's, written down)."""

from __future__ import annotations

import pytest

from novaload.analysis.stats import ols, t_cdf, t_quantile


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736174698),
        (0.975, 2, 4.302652729749464),
        (0.975, 10, 2.2281388519862735),
        (0.975, 30, 2.0422724563012373),
        (0.95, 7, 1.894578605061305),
        (0.995, 20, 2.845339709776814),
        (0.025, 10, -2.2281388519862735),
        (0.5, 5, 0.0),
    ],
    ids=lambda v: str(v),
)
def test_t_quantile_matches_reference(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-8)


def test_t_cdf_inverts_quantile() -> None:
    assert t_cdf(t_quantile(0.9, 4), 4) == pytest.approx(0.9, abs=1e-10)


def test_ols_recovers_an_exact_line() -> None:
    fit = ols([0, 1, 2, 3, 4], [1, 3, 5, 7, 9])
    assert (fit.intercept, fit.slope) == (pytest.approx(1), pytest.approx(2))
    assert fit.slope_ci == (pytest.approx(2), pytest.approx(2))


def test_ols_confidence_interval_matches_reference() -> None:
    # By hand: slope 0.6, intercept 2.2, RSS 2.4, Sxx 10 → se = sqrt(2.4 / 3 / 10);
    # t(0.975, 3) = 3.182446305284263 (scipy.stats.t.ppf).
    fit = ols([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    assert (fit.slope, fit.intercept) == (pytest.approx(0.6), pytest.approx(2.2))
    assert fit.slope_se == pytest.approx(0.08**0.5, abs=1e-12)
    assert fit.slope_ci[0] == pytest.approx(0.6 - 3.182446305284263 * 0.08**0.5, abs=1e-8)


def test_ols_rejects_too_few_points() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        ols([1, 2], [1, 2])
