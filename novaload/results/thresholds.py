"""k6 threshold syntax: parsing expressions and submetric selectors, judging them.

Mirrors k6 v1.1.0 ``metrics/thresholds_parser.go`` (``AGG OP VALUE``, operators
tried in the order ``<= < >= > === == !=``, ``strings.Cut`` on the first match),
``metrics/thresholds.go`` (which aggregations each metric type offers) and
``metrics/metric.go`` / ``internal/metrics/engine`` (``metric{k:v, "k2":'v2'}``
selectors: split on ``,``, cut on ``:``, trim spaces then quotes). Also reads the
``--thresholds FILE`` format of ``novaload report`` (YAML or JSON).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from novaload.errors import ConfigError, InputError

OPERATORS = ("<=", "<", ">=", ">", "===", "==", "!=")
AGGREGATIONS_BY_TYPE: dict[str, frozenset[str]] = {
    "counter": frozenset({"count", "rate"}),
    "gauge": frozenset({"value"}),
    "rate": frozenset({"rate"}),
    "trend": frozenset({"avg", "min", "max", "med"}),  # plus p(N)
}
_PLAIN_AGGREGATIONS = frozenset({"value", "count", "rate", "avg", "min", "med", "max"})
_GO_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.I)


@dataclass(frozen=True, slots=True)
class ThresholdExpr:
    """One parsed ``AGG OP VALUE`` expression."""

    source: str  # as written
    aggregation: str  # "avg", "p(95)", ...  (k6's sink key: p(%g))
    percentile: float | None  # 95.0 for p(95)
    operator: str
    limit: float


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    """A threshold as configured: metric name as written, expression, options."""

    metric: str
    expr: ThresholdExpr
    abort_on_fail: bool = False
    source: str = "script"  # "script" | "file"


def go_g(x: float) -> str:
    """Format like Go's ``%g`` for the values thresholds use (``95``, ``99.9``)."""
    if math.isfinite(x) and x == int(x) and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


def _parse_go_float(text: str) -> float:
    if not _GO_FLOAT.match(text.replace("_", "")):
        raise ValueError(f"invalid number {text!r}")
    return float(text)


def parse_expression(text: str) -> ThresholdExpr:
    """Parse ``AGG OP VALUE`` exactly as k6 does; ``ValueError`` when malformed."""
    for op in OPERATORS:
        left, _, right = text.partition(op)
        if right:  # k6: strings.Cut then `right != ""`
            agg, value = left.strip(), right.strip()
            break
    else:
        raise ValueError("malformed threshold expression (no operator)")
    percentile = None
    if agg in _PLAIN_AGGREGATIONS:
        aggregation = agg
    elif agg.startswith("p(") and agg.endswith(")"):
        try:
            percentile = _parse_go_float(agg[2:-1])
        except ValueError:
            raise ValueError(f"malformed percentile {agg!r}") from None
        aggregation = f"p({go_g(percentile)})"
    else:
        raise ValueError(f"unknown aggregation {agg!r}")
    try:
        limit = _parse_go_float(value)
    except ValueError:
        raise ValueError(f"right-hand side {value!r} is not a number") from None
    return ThresholdExpr(text, aggregation, percentile, op, limit)


def check_aggregation(expr: ThresholdExpr, metric_type: str) -> bool:
    """Whether ``metric_type`` offers the expression's aggregation (k6's rule)."""
    allowed = AGGREGATIONS_BY_TYPE.get(metric_type)
    if allowed is None:
        return True  # unknown type: cannot tell, judge on what exists
    if expr.percentile is not None:
        return metric_type == "trend"
    return expr.aggregation in allowed


def parse_metric_name(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``metric{k:v,...}`` → (parent, sorted tag pairs); ``ValueError`` when malformed.

    Follows k6: the parent is everything before the first ``{``; the selector must
    end with ``}``; each ``k:v`` is cut at the first ``:`` and both sides are trimmed
    of spaces and then of ``"``/``'`` quotes. An empty selector is an error.
    """
    parent, brace, rest = name.partition("{")
    if not brace:
        if "}" in name:
            raise ValueError("unmatched closing curly brace")
        return name, ()
    if not rest.endswith("}"):
        raise ValueError("selector must end with '}' (format metric{key:value})")
    body = rest[:-1].strip()
    if not body:
        raise ValueError("empty submetric selector")
    tags: dict[str, str] = {}
    for kv in body.split(","):
        if kv == "":
            continue
        k, _, v = kv.partition(":")
        if v == "":  # k6's ParseMetricName rejects `key` without `:value`
            raise ValueError(f"tag expression {kv.strip()!r} is malformed (want key:value)")
        tags[k.strip().strip("\"'")] = v.strip().strip("\"'")
    return parent.strip(), tuple(sorted(tags.items()))


def k6_submetric_name(name: str) -> str:
    """The name k6 gives the submetric of a threshold key (selector text trimmed)."""
    parent, _, rest = name.partition("{")
    if not rest:
        return name
    return f"{parent}{{{rest[:-1].strip()}}}"


def compare(observed: float, operator: str, limit: float) -> bool:
    if operator == ">":
        return observed > limit
    if operator == ">=":
        return observed >= limit
    if operator == "<=":
        return observed <= limit
    if operator == "<":
        return observed < limit
    if operator in ("==", "==="):
        return observed == limit
    return observed != limit


def specs_from_mapping(
    thresholds: Mapping[str, Sequence[str | Mapping[str, object]]],
    *,
    source: str,
    origin: str,
) -> list[ThresholdSpec]:
    """``{metric: [expr | {threshold, abortOnFail, delayAbortEval}]}`` → specs.

    ``origin`` (a file name or "extra thresholds") prefixes every error message.
    """
    specs: list[ThresholdSpec] = []
    if not isinstance(thresholds, Mapping):
        raise ConfigError(
            "thresholds must be a mapping of metric to expressions",
            file=origin,
            value=type(thresholds).__name__,
        )
    for metric, exprs in thresholds.items():
        try:
            parse_metric_name(str(metric))
        except ValueError as exc:
            raise ConfigError(f"bad metric name: {exc}", file=origin, key=str(metric)) from None
        if isinstance(exprs, (str, Mapping)):
            exprs = [exprs]
        for item in exprs:
            specs.append(_spec_from_item(str(metric), item, source=source, origin=origin))
    return specs


def _spec_from_item(metric: str, item: object, *, source: str, origin: str) -> ThresholdSpec:
    abort = False
    if isinstance(item, Mapping):
        text = item.get("threshold")
        abort = bool(item.get("abortOnFail", False))
    else:
        text = item
    if not isinstance(text, str):
        raise ConfigError(
            "threshold must be a string or {threshold: ...}", file=origin, key=metric, value=item
        )
    try:
        expr = parse_expression(text)
    except ValueError as exc:
        raise ConfigError(
            f"invalid threshold expression: {exc}", file=origin, key=metric, value=text
        ) from None
    return ThresholdSpec(metric, expr, abort, source)


def load_thresholds_file(path: Path | str) -> list[ThresholdSpec]:
    """Read ``novaload report --thresholds FILE`` (YAML or JSON).

    Either ``{metric: [...]}`` or ``{"thresholds": {metric: [...]}}``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: thresholds file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read thresholds file: {exc}") from None
    data = _parse_yaml_or_json(path, text)
    if isinstance(data, Mapping) and set(data) == {"thresholds"}:
        data = data["thresholds"]
    if not isinstance(data, Mapping) or not data:
        raise InputError(f"{path}: expected a mapping of metric to threshold expressions")
    return specs_from_mapping(data, source="file", origin=str(path))


def _parse_yaml_or_json(path: Path, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML or JSON: {exc}".splitlines()[0]) from None


__all__ = [
    "OPERATORS",
    "ThresholdExpr",
    "ThresholdSpec",
    "check_aggregation",
    "compare",
    "go_g",
    "k6_submetric_name",
    "load_thresholds_file",
    "parse_expression",
    "parse_metric_name",
    "specs_from_mapping",
]
