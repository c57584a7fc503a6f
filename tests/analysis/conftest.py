"""Synthetic runs for analysis tests: a per-window timeseries built from a formula."""

from __future__ import annotations

import random
from collections.abc import Callable

import pandas as pd
import pytest

from novaload.results.model import RunResults


def synthetic_results(
    n_windows: int,
    p95: Callable[[float], float],
    error_rate: Callable[[float], float] = lambda t: 0.0,
    rps: Callable[[float], float] = lambda t: 100.0,
    window_s: float = 1.0,
) -> RunResults:
    rows = []
    for i in range(n_windows):
        t = i * window_s
        requests = int(round(rps(t) * window_s))
        rows.append(
            {
                "t": t,
                "requests": requests,
                "failures": int(round(requests * error_rate(t))),
                "rps": requests / window_s,
                "p50": p95(t) / 2,
                "p95": p95(t),
                "p99": p95(t) * 1.5,
                "vus": 1.0,
                "iterations": requests,
            }
        )
    return RunResults(
        metrics={},
        thresholds=[],
        duration_s=n_windows * window_s,
        duration_source="sample-span",
        started_at=None,
        ended_at=None,
        sources=[],
        lines=0,
        points=0,
        input_bytes=0,
        timeseries=pd.DataFrame(rows),
        window_s=window_s,
    )


@pytest.fixture
def synthetic() -> Callable[..., RunResults]:
    return synthetic_results


@pytest.fixture
def noise() -> Callable[[int], Callable[[float], float]]:
    """Seeded Gaussian noise per window (same t → same value within one test)."""

    def make(seed: int, sd: float = 1.0) -> Callable[[float], float]:
        rng = random.Random(seed)
        cache: dict[float, float] = {}

        def value(t: float) -> float:
            if t not in cache:
                cache[t] = rng.gauss(0.0, sd)
            return cache[t]

        return value

    return make
