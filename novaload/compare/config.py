"""What counts as a regression: minimum effect sizes and statistical settings,
read from ``configs/compare.yaml`` (optional; defaults below).

A metric regresses only when its change exceeds the minimum effect *and* the
confidence interval of the change excludes zero: the effect size keeps
harmless drifts out, the interval keeps run-to-run noise out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from novaload.config.loader import read_yaml
from novaload.errors import ConfigError

CONFIG_FILE = "compare.yaml"


@dataclass(frozen=True, slots=True)
class CompareConfig:
    # Latency quantiles: minimum relative increase, percent. The confidence interval only
    # covers sampling noise; what differs between two runs of the same build (machine
    # load, scheduling of the load generator itself) is absorbed by this floor. Two
    # concurrent runs of one build on a busy 2-core CI machine differed by up to ~12 %.
    p50_pct: float = 15.0
    p95_pct: float = 15.0
    p99_pct: float = 25.0  # the tail is the noisiest quantile of a short run
    error_rate_pp: float = 1.0  # error rate: minimum increase, percentage points
    throughput_pct: float = 10.0  # requests/s: minimum relative decrease, percent
    confidence: float = 0.95  # of the two-sided intervals
    min_samples: int = 30  # fewer latency samples on a side = "insufficient data"
    min_windows: int = 5  # fewer full time windows = throughput not judged
    resamples: int = 10_000  # bootstrap draws (cheap: see stats.py); tails of the Bonferroni CI need many
    max_samples: int = 20_000  # per side for Mann-Whitney and kept in the history store
    seed: int = 20261121
    trend_runs: int = 20  # runs in the trend chart

    def __post_init__(self) -> None:
        for name in ("p50_pct", "p95_pct", "p99_pct", "error_rate_pp", "throughput_pct"):
            _check(getattr(self, name) >= 0, name, getattr(self, name), "must be >= 0")
        _check(0.5 < self.confidence < 1.0, "confidence", self.confidence, "must be within 0.5..1")
        for name in ("min_samples", "min_windows", "resamples", "max_samples", "trend_runs"):
            _check(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")

    def min_latency_pct(self, stat: str) -> float:
        return {"p50": self.p50_pct, "p95": self.p95_pct, "p99": self.p99_pct}[stat]


def _check(ok: bool, key: str, value: object, message: str) -> None:
    if not ok:
        raise ConfigError(message, key=f"compare.{key}", value=value)


def load_compare_config(path: Path | None = None, config_dir: Path | None = None) -> CompareConfig:
    """``path`` if given (must exist), else ``<config_dir>/compare.yaml`` if present, else defaults.

    The file holds the keys of :class:`CompareConfig`, at top level or under ``compare:``.
    """
    if path is None:
        candidate = (config_dir or Path("configs")) / CONFIG_FILE
        if not candidate.is_file():
            return CompareConfig()
        path = candidate
    doc = read_yaml(path) or {}
    if isinstance(doc, dict) and isinstance(doc.get("compare"), dict):
        doc = doc["compare"]
    if not isinstance(doc, dict):
        raise ConfigError("must be a mapping of compare settings", file=path, value=doc)
    return _from_mapping(doc, path)


def _from_mapping(doc: dict[str, Any], path: Path) -> CompareConfig:
    types = {f.name: f.type for f in fields(CompareConfig)}
    changes: dict[str, Any] = {}
    for key, value in doc.items():
        if key not in types:
            raise ConfigError(
                "unknown setting",
                file=path,
                key=f"compare.{key}",
                value=value,
                hint=f"known: {', '.join(sorted(types))}",
            )
        want = int if types[key] in (int, "int") else float
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError("must be a number", file=path, key=f"compare.{key}", value=value)
        if want is int and value != int(value):
            raise ConfigError("must be a whole number", file=path, key=f"compare.{key}", value=value)
        changes[key] = want(value)
    try:
        return replace(CompareConfig(), **changes)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=path) from exc


__all__ = ["CONFIG_FILE", "CompareConfig", "load_compare_config"]
