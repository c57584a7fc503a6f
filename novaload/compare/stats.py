"""The statistics behind "is this run slower?": bootstrap confidence intervals
for relative differences of latency quantiles, error rates and throughput, and
a Mann–Whitney U test — all with numpy alone, seeded, and vectorised.

Why the quantile bootstrap needs no resampling: the k-th smallest of n draws
with replacement from a sorted sample ``x`` is ``x[ceil(n·U) - 1]`` where ``U``
is the k-th smallest of n uniforms, i.e. ``U ~ Beta(k, n - k + 1)``; the next
order statistic is ``U + (1 - U)·Beta(1, n - k)``. Drawing those two numbers
gives the exact bootstrap distribution of k6's interpolated percentile in
O(resamples) instead of O(resamples × n), so large runs need no subsampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


def z_for(confidence: float) -> float:
    """Two-sided normal quantile for ``confidence`` (0.95 → 1.95996...)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its two-sided confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def k6_percentile(sorted_values: np.ndarray, q: float) -> float:
    """k6's percentile (``i = q·(n-1)``, linear interpolation); NaN for no values."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    return float(np.quantile(sorted_values, q, method="linear"))


def bootstrap_quantiles(
    sorted_values: np.ndarray, q: float, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``resamples`` draws of the bootstrap distribution of the q-quantile (see module doc)."""
    n = len(sorted_values)
    if n == 1:
        return np.full(resamples, float(sorted_values[0]))
    pos = q * (n - 1)  # 0-based interpolation position, as k6 computes it
    k = int(math.floor(pos)) + 1  # 1-based rank of the lower order statistic
    frac = pos - (k - 1)
    u_k = rng.beta(k, n - k + 1, size=resamples)
    lower = sorted_values[np.clip(np.ceil(u_k * n).astype(np.int64), 1, n) - 1]
    if frac == 0.0 or k >= n:
        return lower.astype(np.float64)
    u_next = u_k + (1.0 - u_k) * rng.beta(1, n - k, size=resamples)
    upper = sorted_values[np.clip(np.ceil(u_next * n).astype(np.int64), 1, n) - 1]
    return lower + (upper - lower) * frac


def quantile_change(
    old_sorted: np.ndarray,
    new_sorted: np.ndarray,
    q: float,
    *,
    confidence: float,
    resamples: int,
    rng: np.random.Generator,
) -> Interval:
    """Relative change ``new/old - 1`` of the q-quantile, with a percentile-bootstrap CI."""
    old_q = k6_percentile(old_sorted, q)
    new_q = k6_percentile(new_sorted, q)
    b_old = bootstrap_quantiles(old_sorted, q, resamples, rng)
    b_new = bootstrap_quantiles(new_sorted, q, resamples, rng)
    return _relative_interval(old_q, new_q, b_old, b_new, confidence)


def _relative_interval(
    old: float, new: float, b_old: np.ndarray, b_new: np.ndarray, confidence: float
) -> Interval:
    floor = 1e-9  # a 0 ms quantile (an instant local endpoint) must not divide by zero
    estimate = new / max(old, floor) - 1.0
    ratios = b_new / np.maximum(b_old, floor) - 1.0
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return Interval(float(estimate), float(low), float(high))


def mean_change(
    old: np.ndarray, new: np.ndarray, *, confidence: float, resamples: int, rng: np.random.Generator
) -> Interval:
    """Relative change of the mean (e.g. requests per window), bootstrap CI."""
    b_old = old[rng.integers(0, len(old), size=(resamples, len(old)))].mean(axis=1)
    b_new = new[rng.integers(0, len(new), size=(resamples, len(new)))].mean(axis=1)
    return _relative_interval(float(old.mean()), float(new.mean()), b_old, b_new, confidence)


def _wilson(successes: int, n: int, z: float) -> tuple[float, float, float]:
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def proportion_change(old_fail: int, old_n: int, new_fail: int, new_n: int, *, confidence: float) -> Interval:
    """Difference ``p_new - p_old`` of two error rates (Newcombe's hybrid Wilson interval).

    Wilson-based, so a run with zero errors still gets a sensible interval.
    """
    z = z_for(confidence)
    p1, l1, u1 = _wilson(new_fail, new_n, z)
    p2, l2, u2 = _wilson(old_fail, old_n, z)
    d = p1 - p2
    return Interval(
        d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    )


def mann_whitney_p(old: np.ndarray, new: np.ndarray) -> float:
    """Two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected)."""
    n1, n2 = len(old), len(new)
    if n1 == 0 or n2 == 0:
        return math.nan
    both = np.concatenate([old, new])
    order = np.argsort(both, kind="mergesort")
    sorted_vals = both[order]
    # average ranks for ties: rank = mean of the positions each distinct value occupies
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    avg_rank = first + (counts + 1) / 2.0
    ranks = np.empty(len(both))
    ranks[order] = np.repeat(avg_rank, counts)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    tie = float((counts**3 - counts).sum())
    var = n1 * n2 / 12.0 * ((n + 1) - tie / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return 1.0
    z = (abs(u1 - n1 * n2 / 2.0) - 0.5) / math.sqrt(var)
    return float(math.erfc(max(z, 0.0) / math.sqrt(2)))


__all__ = [
    "Interval",
    "bootstrap_quantiles",
    "k6_percentile",
    "mann_whitney_p",
    "mean_change",
    "proportion_change",
    "quantile_change",
    "z_for",
]
