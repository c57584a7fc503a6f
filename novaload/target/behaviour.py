"""Fault and latency injection: what delay and which failure a business request gets.

:class:`Conditions` owns the mutable runtime behaviour of the target (current
settings, RNG, drift clock, the 1 s request-rate window used by the capacity
model). Every decision is O(1) so the target stays fast under load.
"""

from __future__ import annotations

import random
import time

from novaload.target.settings import LatencyModel, TargetSettings

# Past capacity, the excess of the last second is modelled as queued work draining
# at capacity: wait = (rate/capacity - 1) s. Capped like a bounded server queue.
_MAX_PENALTY_MS = 5_000.0
# A shedding server never refuses every request: some keep getting through.
_MAX_SHED_FRACTION = 0.95


class RateWindow:
    """Requests seen in the last second, kept in 10 buckets of 100 ms (O(1) per hit)."""

    def __init__(self, window_s: float = 1.0, buckets: int = 10) -> None:
        self._width = window_s / buckets
        self._n = buckets
        self._ids = [-1] * buckets
        self._counts = [0] * buckets

    def hit(self, now: float) -> int:
        """Record one request at ``now`` (monotonic s); return the count in the window."""
        idx = int(now / self._width)
        slot = idx % self._n
        if self._ids[slot] != idx:
            self._ids[slot] = idx
            self._counts[slot] = 0
        self._counts[slot] += 1
        oldest = idx - self._n
        return sum(c for i, c in zip(self._ids, self._counts) if i > oldest)


class Conditions:
    """Current settings plus the state needed to apply them to each request."""

    def __init__(self, settings: TargetSettings) -> None:
        self.initial = settings
        self.rng = random.Random(settings.seed)
        self.apply(settings)
        self.reset_clock()

    def apply(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.latency = LatencyModel(settings.latency_median_ms, settings.latency_p99_ms, self.rng)

    def reset_clock(self) -> None:
        """Restart drift and the rate window (admin reset, new run)."""
        self.started = time.monotonic()
        self.window = RateWindow()

    def uptime_s(self) -> float:
        return time.monotonic() - self.started

    def decide(self, weight: float) -> tuple[float, int, str]:
        """Return ``(delay_ms, status, reason)`` for one request; status 0 = serve it.

        ``weight`` scales the base latency (a VM create costs more than a read).
        """
        s = self.settings
        now = time.monotonic()
        delay = self.latency.sample_ms() * weight
        if s.latency_drift_ms_per_min:
            delay += s.latency_drift_ms_per_min * (now - self.started) / 60.0
        if s.capacity_rps is not None:
            rho = self.window.hit(now) / s.capacity_rps
            if rho > 1.0:
                if self.rng.random() < min(_MAX_SHED_FRACTION, 1.0 - 1.0 / rho):
                    return 0.0, 503, "overloaded"
                delay += min(_MAX_PENALTY_MS, (rho - 1.0) * 1000.0)
        if s.error_rate and self.rng.random() < s.error_rate:
            return delay, 500 if self.rng.random() < 0.5 else 503, "injected"
        return delay, 0, ""
