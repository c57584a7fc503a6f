"""k6 thresholds: the one model of them, parsed once into typed, frozen objects.

Every part of novaload that reads a threshold goes through here: config validation
(``config/models.py``), the results engine (thresholds in k6's JSON output, in k6's
summary files and in ``novaload report --thresholds FILE``), the scenario analyses
(their SLOs) and the reports. This module imports nothing of novaload but the errors,
so it sits below all of them.

It mirrors k6 v1.1.0:

* ``metrics/thresholds_parser.go``: ``AGG OP VALUE``, the operators tried in the order
  ``<= < >= > === == !=`` (the first one found splits the text), ``AGG`` one of
  ``count rate value avg min max med`` or ``p(N)``; both sides trimmed; the value a
  Go float (``1e3``, ``.5``).
* ``metrics/thresholds.go``: which aggregations each metric type offers, and the two
  forms a threshold is written in: a string, or ``{threshold, abortOnFail,
  delayAbortEval}``; one or several per metric.
* ``metrics/metric.go``: metric names with submetric selectors
  ``metric{k:v, "k2":'v2'}``: everything before the first ``{`` is the metric, the
  selector ends with ``}``, pairs split on ``,`` and cut on the first ``:`` (so values
  keep further colons: URLs, group paths ``::a::b``), both sides trimmed of spaces then
  quotes.

novaload extends it with **windowed thresholds** (SLOs over time), which k6 does not
have (grafana/k6#1136) and which are therefore judged offline only, never sent to k6:
``AGG OP VALUE for DURATION`` (the expression is broken in every time-series window
of a stretch at least DURATION long: a sustained breach) and ``AGG OP VALUE within
DURATION`` (the expression is judged over every DURATION-long sliding window of the
run). The words follow Taurus' pass/fail criteria. They are accepted where novaload
reads thresholds itself (``configs/``, ``--thresholds`` files), not in k6's output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from novaload.errors import ConfigError, InputError
from novaload.inputs import THRESHOLDS, json_depth_over, load_json, load_yaml, read_text

OPERATORS = ("<=", "<", ">=", ">", "===", "==", "!=")
AGGREGATIONS_BY_TYPE: dict[str, frozenset[str]] = {
    "counter": frozenset({"count", "rate"}),
    "gauge": frozenset({"value"}),
    "rate": frozenset({"rate"}),
    "trend": frozenset({"avg", "min", "max", "med"}),  # plus p(N)
}
_PLAIN_AGGREGATIONS = frozenset({"value", "count", "rate", "avg", "min", "med", "max"})
_GO_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$", re.I)
# k6's types.ParseExtendedDuration: Go durations plus days ("1d2h"), or milliseconds as a number.
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$|^\d+(\.\d+)?$")
_OBJECT_KEYS = frozenset({"threshold", "abortOnFail", "delayAbortEval"})
_WINDOW = re.compile(r"^(?P<expr>.*\S)\s+(?P<kind>for|within)\s+(?P<dur>\S+)\s*$")
_WINDOW_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WINDOW_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

Source = Literal["script", "file", "config"]


def go_g(x: float) -> str:
    """Format like Go's ``%g`` for the values thresholds use (``95``, ``99.9``)."""
    if math.isfinite(x) and x == int(x) and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


def percentile_key(p: float) -> str:
    """k6's sink key of percentile ``p`` (percent): ``p(95)``, ``p(99.9)``."""
    return f"p({go_g(p)})"


def _parse_go_float(text: str) -> float:
    if not _GO_FLOAT.match(text.replace("_", "")):
        raise ValueError(f"invalid number {text!r}")
    return float(text)


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class ThresholdExpr:
    """One parsed ``AGG OP VALUE`` expression."""

    source: str  # as written
    aggregation: str  # "avg", "p(95)", ...  (k6's sink key: p(%g))
    percentile: float | None  # 95.0 for p(95)
    operator: str
    limit: float

    def holds(self, observed: float) -> bool:
        """Whether ``observed OP limit`` (k6's comparison: ``===`` and ``==`` alike)."""
        return compare(observed, self.operator, self.limit)

    def value_key(self, metric_type: str) -> str:
        """The key of the metric's end-of-test values this expression reads.

        A Rate's ``rate`` is exported as ``value``; percentiles by their sink key.
        """
        if self.percentile is not None:
            return percentile_key(self.percentile)
        return "value" if (metric_type == "rate" and self.aggregation == "rate") else self.aggregation

    def is_upper_bound(self) -> bool:
        """``AGG < X`` or ``AGG <= X``: a limit the value must stay under (what SLOs are)."""
        return self.operator in ("<", "<=")


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
        aggregation = percentile_key(percentile)
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


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True, slots=True)
class ThresholdWindow:
    """The time window of a windowed threshold: ``for 30s`` or ``within 1m``."""

    kind: Literal["for", "within"]
    seconds: float
    written: str  # the whole threshold as written: "p(95) < 500 for 30s"

    def __str__(self) -> str:
        return f"{self.kind} {_fmt_seconds(self.seconds)}"


def _fmt_seconds(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{go_g(seconds)}s"


def window_seconds(text: str) -> float:
    """A window length like ``30s``, ``1m30s``, ``500ms``, ``1h`` → seconds (> 0).

    A unit is required: k6 reads a bare number as milliseconds elsewhere, which would
    make ``for 30`` a 30 ms window nobody meant."""
    if not text or _WINDOW_PART.sub("", text) != "":
        raise ValueError(f"window {text!r} is not a duration like 30s, 1m or 1m30s")
    seconds = sum(float(n) * _WINDOW_UNITS[u] for n, u in _WINDOW_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"window {text!r} must be longer than 0")
    return seconds


def split_window(text: str) -> tuple[str, ThresholdWindow | None]:
    """``"p(95)<500 for 30s"`` → (``"p(95)<500"``, its window); no window → (text, None)."""
    m = _WINDOW.match(text)
    if m is None:
        return text, None
    kind: Literal["for", "within"] = "for" if m.group("kind") == "for" else "within"
    return m.group("expr"), ThresholdWindow(kind, window_seconds(m.group("dur")), text.strip())


# --------------------------------------------------------------------------- metric names


@dataclass(frozen=True, slots=True)
class MetricSelector:
    """A threshold's metric: ``http_req_duration`` or a submetric ``metric{k:v,...}``."""

    metric: str  # the parent metric ("http_req_duration")
    tags: tuple[tuple[str, str], ...] = ()  # sorted (key, value) pairs; () = the metric itself
    name: str = ""  # the name k6 gives it (selector text trimmed): "http_req_duration{name:a}"

    @property
    def is_submetric(self) -> bool:
        return bool(self.tags)

    def matches(self, tags: Mapping[str, object]) -> bool:
        """Whether a sample with ``tags`` belongs to this (sub)metric."""
        return all(tags.get(k) == v for k, v in self.tags)


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


def parse_selector(name: str) -> MetricSelector:
    """``parse_metric_name`` as a :class:`MetricSelector`; ``ValueError`` when malformed."""
    parent, tags = parse_metric_name(name)
    return MetricSelector(parent, tags, k6_submetric_name(name))


def k6_submetric_name(name: str) -> str:
    """The name k6 gives the submetric of a threshold key (selector text trimmed)."""
    parent, _, rest = name.partition("{")
    if not rest:
        return name
    return f"{parent}{{{rest[:-1].strip()}}}"


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True, slots=True)
class Threshold:
    """One threshold on one (sub)metric, in whichever form it was written."""

    metric: str  # the key as written: "http_req_duration{name:index}"
    expr: ThresholdExpr
    abort_on_fail: bool = False
    delay_abort_eval: str | None = None  # k6 duration ("10s"), as written
    source: Source = "script"  # where it was written: the k6 script, a --thresholds file, configs/
    object_form: bool = False  # written as {threshold: ...} (kept when handed back to k6)
    selector: MetricSelector | None = None  # parsed from ``metric``; set by parse_threshold
    window: ThresholdWindow | None = None  # a windowed threshold (novaload's; never sent to k6)

    @property
    def parsed_metric(self) -> MetricSelector:
        return self.selector if self.selector is not None else parse_selector(self.metric)

    @property
    def expression(self) -> str:
        """As written, with its window if it has one: ``p(95)<500 for 30s``."""
        return self.window.written if self.window is not None else self.expr.source

    @property
    def for_k6(self) -> bool:
        """Whether k6 can judge it too (a windowed threshold is novaload's alone)."""
        return self.window is None

    def to_k6(self) -> str | dict[str, object]:
        """The form it was written in (k6's ``options.thresholds`` form, when ``for_k6``)."""
        if not self.object_form:
            return self.expression
        out: dict[str, object] = {"threshold": self.expression, "abortOnFail": self.abort_on_fail}
        if self.delay_abort_eval is not None:
            out["delayAbortEval"] = self.delay_abort_eval
        return out


def parse_threshold(
    metric: str, item: object, *, source: Source = "script", strict: bool = True
) -> Threshold:
    """One threshold: ``item`` is ``"AGG OP VALUE"`` or ``{threshold, abortOnFail, delayAbortEval}``.

    ``ValueError`` (a short phrase) when the metric name, the form or the expression is
    malformed. ``strict`` also refuses keys k6 does not know (configs and files, where a
    typo would otherwise be ignored silently; k6's own output is read leniently).
    A window (``for 30s``, ``within 1m``) is accepted unless the source is k6's script.
    """
    if isinstance(item, Threshold):
        return item
    selector = parse_selector(metric)
    abort, delay, object_form = False, None, False
    if isinstance(item, Mapping):
        object_form = True
        unknown = sorted(str(k) for k in item if k not in _OBJECT_KEYS)
        if strict and unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)} (want threshold, abortOnFail, delayAbortEval)"
            )
        text = item.get("threshold")
        raw_abort = item.get("abortOnFail", False)
        if not isinstance(raw_abort, bool):
            raise ValueError(f"abortOnFail must be true or false, not {raw_abort!r}")
        abort = raw_abort
        delay = _delay(item.get("delayAbortEval"))
    else:
        text = item
    if not isinstance(text, str):
        raise ValueError("a threshold is a string or {threshold: ..., abortOnFail: ..., delayAbortEval: ...}")
    k6_text, window = split_window(text) if source != "script" else (text, None)
    if window is not None and abort:
        raise ValueError(
            "abortOnFail needs k6 to judge the threshold; a windowed one is judged after the run"
        )
    expr = parse_expression(k6_text)
    return Threshold(metric, expr, abort, delay, source, object_form, selector, window)


def _delay(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"delayAbortEval must be a duration like '10s', not {value!r}")
    text = f"{value}ms" if isinstance(value, (int, float)) else value.strip()
    if not _GO_DURATION.match(text):
        raise ValueError(f"delayAbortEval must be a duration like '10s', not {value!r}")
    return text


def parse_metric_thresholds(
    metric: str, items: object, *, source: Source = "script", strict: bool = True
) -> tuple[Threshold, ...]:
    """A metric's thresholds: one item or a list of them (k6 takes both in JSON)."""
    return tuple(parse_threshold(metric, item, source=source, strict=strict) for item in _items(items))


def _items(items: object) -> list[object]:
    """One threshold (a string, an object, a parsed one) or an iterable of them, as a list."""
    if isinstance(items, (str, Mapping, Threshold)):
        return [items]
    if not isinstance(items, Iterable):
        raise ValueError("thresholds of a metric are a list of expressions")
    return list(items)


def thresholds_from_mapping(
    thresholds: object, *, source: Source, origin: str, strict: bool = True
) -> list[Threshold]:
    """``{metric: [expr | {threshold, abortOnFail, delayAbortEval}]}`` → thresholds.

    ``origin`` (a file name, "extra thresholds") starts every error message, which
    also names the metric and the expression (a :class:`ConfigError`).
    """
    if not isinstance(thresholds, Mapping):
        raise ConfigError(
            "thresholds must be a mapping of metric to expressions",
            file=origin,
            value=type(thresholds).__name__,
        )
    out: list[Threshold] = []
    for metric, items in thresholds.items():
        try:
            parse_selector(str(metric))
        except ValueError as exc:
            raise ConfigError(f"bad metric name: {exc}", file=origin, key=str(metric)) from None
        if items is None:  # `metric:` with nothing under it
            continue
        try:
            listed = _items(items)
        except ValueError as exc:
            raise ConfigError(str(exc), file=origin, key=str(metric), value=items) from None
        for item in listed:
            try:
                out.append(parse_threshold(str(metric), item, source=source, strict=strict))
            except ValueError as exc:
                shown = item.get("threshold", item) if isinstance(item, Mapping) else item
                raise ConfigError(
                    f"invalid threshold expression: {exc}", file=origin, key=str(metric), value=shown
                ) from None
    return out


def as_thresholds(
    thresholds: Mapping[str, Sequence[object] | object], *, source: Source = "config"
) -> list[Threshold]:
    """Thresholds given as parsed objects or in any written form, as :class:`Threshold`\\ s.

    For library callers that hand a plain ``{metric: [...]}`` mapping where parsed
    thresholds are expected (an analysis context, extra thresholds).
    """
    return thresholds_from_mapping(thresholds, source=source, origin="thresholds")


def load_thresholds_file(path: Path | str) -> list[Threshold]:
    """Read ``novaload report --thresholds FILE`` (YAML or JSON).

    Either ``{metric: [...]}`` or ``{"thresholds": {metric: [...]}}``.
    """
    path = Path(path)
    text = read_text(path, THRESHOLDS, what="thresholds file")
    data = _parse_yaml_or_json(path, text)
    if isinstance(data, Mapping) and set(data) == {"thresholds"}:
        data = data["thresholds"]
    if not isinstance(data, Mapping) or not data:
        raise InputError(f"{path}: expected a mapping of metric to threshold expressions")
    return thresholds_from_mapping(data, source="file", origin=str(path))


# What a threshold whose (sub)metric got no samples does: k6 passes it (flagged), or the
# run fails (--no-data fail). Read by the results engine, the CLI and the scenario model.
NO_DATA_CHOICES = ("pass", "fail")


def _parse_yaml_or_json(path: Path, text: str) -> object:
    """JSON when it starts like JSON, else YAML (of which JSON is a subset), in bounds."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return load_json(text, str(path), THRESHOLDS)
        except InputError:
            if json_depth_over(text, THRESHOLDS.max_depth) is not None:
                raise
    return load_yaml(text, str(path), THRESHOLDS)


__all__ = [
    "AGGREGATIONS_BY_TYPE",
    "NO_DATA_CHOICES",
    "OPERATORS",
    "MetricSelector",
    "Threshold",
    "ThresholdExpr",
    "ThresholdWindow",
    "as_thresholds",
    "check_aggregation",
    "compare",
    "go_g",
    "k6_submetric_name",
    "load_thresholds_file",
    "parse_expression",
    "parse_metric_name",
    "parse_metric_thresholds",
    "parse_selector",
    "parse_threshold",
    "percentile_key",
    "split_window",
    "thresholds_from_mapping",
    "window_seconds",
]
