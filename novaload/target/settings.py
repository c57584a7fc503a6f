"""Typed settings of the demo target and the latency/error model they define.

:class:`TargetSettings` is what a user chooses (CLI flags, admin API, tests);
:class:`LatencyModel` turns the median/p99 pair into a lognormal sampler.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from novaload.errors import ConfigError

# z-score of the 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408


@dataclass(frozen=True)
class TargetSettings:
    """How the demo target listens and misbehaves.

    ``latency_median_ms``/``latency_p99_ms`` define a lognormal base latency
    (0/0 = no delay). ``error_rate`` is the injected 500/503 fraction,
    ``latency_drift_ms_per_min`` adds delay growing with uptime (soak hook),
    ``capacity_rps`` is the request rate beyond which the target degrades
    like an overloaded queue (stress hook). ``otlp_endpoint``: where its spans go
    (``novaload.target.tracing``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    latency_median_ms: float = 8.0
    latency_p99_ms: float = 60.0
    error_rate: float = 0.0
    latency_drift_ms_per_min: float = 0.0
    capacity_rps: float | None = None
    seed: int | None = None
    ws_interval_ms: float = 100.0
    # Export the target's own spans over OTLP/HTTP to {otlp_endpoint}/v1/traces (the base
    # URL, as OTEL_EXPORTER_OTLP_ENDPOINT); None: no tracing, OpenTelemetry not imported.
    otlp_endpoint: str | None = None

    def __post_init__(self) -> None:
        _check(0 <= self.port <= 65535, "port", self.port, "must be 0..65535")
        _check(self.latency_median_ms >= 0, "latency_median_ms", self.latency_median_ms, "must be >= 0")
        _check(
            self.latency_p99_ms >= self.latency_median_ms,
            "latency_p99_ms",
            self.latency_p99_ms,
            f"must be >= latency_median_ms ({self.latency_median_ms})",
        )
        _check(
            self.latency_median_ms > 0 or self.latency_p99_ms == 0,
            "latency_median_ms",
            0,
            "must be > 0 when latency_p99_ms > 0",
        )
        _check(0.0 <= self.error_rate <= 1.0, "error_rate", self.error_rate, "must be within 0..1")
        _check(
            self.latency_drift_ms_per_min >= 0,
            "latency_drift_ms_per_min",
            self.latency_drift_ms_per_min,
            "must be >= 0",
        )
        _check(
            self.capacity_rps is None or self.capacity_rps > 0,
            "capacity_rps",
            self.capacity_rps,
            "must be > 0 (or unset)",
        )
        _check(self.ws_interval_ms >= 1, "ws_interval_ms", self.ws_interval_ms, "must be >= 1")
        _check(
            self.otlp_endpoint is None or re.match(r"^https?://[^\s/]+", self.otlp_endpoint) is not None,
            "otlp_endpoint",
            self.otlp_endpoint,
            "must be an http(s):// URL like http://127.0.0.1:4318",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> TargetSettings:
        """Return a copy with ``changes`` applied; unknown keys are a ConfigError."""
        known = {f.name for f in fields(self)}
        for key in changes:
            if key not in known:
                raise ConfigError("unknown setting", key=key, value=changes[key])
        coerced = {key: _coerce(key, value) for key, value in changes.items()}
        return replace(self, **coerced)


_FLOAT_KEYS = {
    "latency_median_ms",
    "latency_p99_ms",
    "error_rate",
    "latency_drift_ms_per_min",
    "ws_interval_ms",
}
_INT_KEYS = {"port", "seed"}


def _coerce(key: str, value: Any) -> Any:
    """Turn JSON values into the field's type; booleans are never numbers here."""
    if value is None and key in {"capacity_rps", "seed", "otlp_endpoint"}:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        if key in _FLOAT_KEYS or key == "capacity_rps":
            return float(value)
        if key in _INT_KEYS:
            return int(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError("has the wrong type", key=key, value=value) from None


def _check(ok: bool, key: str, value: object, message: str) -> None:
    if not ok:
        raise ConfigError(message, key=key, value=value)


class LatencyModel:
    """Lognormal latency fitted so that its median and p99 match the settings."""

    def __init__(self, median_ms: float, p99_ms: float, rng: random.Random) -> None:
        self._rng = rng
        self.enabled = median_ms > 0
        self._mu = math.log(median_ms) if self.enabled else 0.0
        self._sigma = math.log(p99_ms / median_ms) / _Z99 if self.enabled else 0.0

    def sample_ms(self) -> float:
        if not self.enabled:
            return 0.0
        if self._sigma == 0.0:
            return math.exp(self._mu)
        return self._rng.lognormvariate(self._mu, self._sigma)
