"""Small statistics without scipy: Student's t quantile and OLS with a confidence interval.

The t quantile inverts the t distribution's CDF, written with the regularized
incomplete beta function (continued fraction, Numerical Recipes §6.4), by
bisection; good to ~1e-10, which is plenty for a confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300


def _beta_cf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom."""
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (e.g. p=0.975 for a two-sided 95 % interval)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"need 0 < p < 1 and df > 0 (got p={p}, df={df})")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True, slots=True)
class LinearFit:
    """``y = intercept + slope * x`` by ordinary least squares, with the slope's CI."""

    n: int
    intercept: float
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    confidence: float


def ols(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> LinearFit:
    """Fit a line; needs at least 3 points and some spread in ``x``."""
    n = len(x)
    if n != len(y) or n < 3:
        raise ValueError(f"need at least 3 (x, y) pairs (got {n})")
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((xi - mx) ** 2 for xi in x)
    if sxx == 0:
        raise ValueError("x has no spread")
    sxy = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y))
    slope = sxy / sxx
    intercept = my - slope * mx
    rss = sum((yi - intercept - slope * xi) ** 2 for xi, yi in zip(x, y))
    se = math.sqrt(rss / (n - 2) / sxx)
    q = t_quantile(0.5 + confidence / 2.0, n - 2)
    return LinearFit(
        n=n,
        intercept=intercept,
        slope=slope,
        slope_se=se,
        slope_ci=(slope - q * se, slope + q * se),
        confidence=confidence,
    )


__all__ = ["LinearFit", "incomplete_beta", "ols", "t_cdf", "t_quantile"]
