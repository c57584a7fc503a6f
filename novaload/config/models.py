"""Typed, frozen configuration objects: environments, load profiles, scenarios.

These are the only shapes downstream code sees; raw YAML never leaves
``novaload.config.loader``. Field names follow k6 where k6 has a word for the
thing (``vus``, ``duration``, ``stages``, ``rate``, ``time_unit``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_validator,
)

from novaload.config.durations import K6_MAX_INT, format_duration, parse_duration
from novaload.thresholds import Threshold, parse_metric_thresholds, parse_selector

# The scenario analyses a config may name. The registry in ``novaload.analysis`` implements
# exactly these (a test holds the two equal); the name list lives here so that validating a
# config never imports the analyses (pandas) and config stays below analysis.
ANALYSIS_NAMES = frozenset({"stress", "soak", "spike", "capacity"})
# k6's rule for scenario names (lib/executor/base_config.go, scenarioNameWhitelist): a name
# outside it makes k6 exit 104 at start, after the demo target started.
K6_SCENARIO_NAME = re.compile(r"^[0-9a-zA-Z_-]+$")
K6_SCENARIO_NAME_RULE = "must contain only numbers, latin letters, underscores and dashes (k6's rule)"
# Environment-variable references in header values: ${NAME}
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _check_duration(value: str) -> str:
    parse_duration(value)
    return str(value)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- tracing


class Tracing(_Frozen):
    """``tracing:`` of an environment or a scenario (``run --traces``): trace context on
    every HTTP request, and where the report's links to the traces of its exemplars go.

    Written as ``tracing: true`` or as a mapping; a mapping turns tracing on unless it
    says ``enabled: false``. ``url`` is the trace UI's base URL (Jaeger's, or Grafana's
    for ``links: grafana``); without it the monitoring stack's (``NOVALOAD_JAEGER_URL``,
    ``NOVALOAD_GRAFANA_URL``).
    """

    enabled: bool = True
    # the Literals spell out config/tracing.py's PROPAGATORS, TRACE_LINKS, TRACE_DATASOURCES
    propagator: Literal["w3c", "jaeger", "b3"] = "w3c"
    sampling: Annotated[float, Field(ge=0, le=1)] = 1.0  # the ratio of requests whose trace is kept
    links: Literal["jaeger", "grafana", "none"] = "jaeger"
    url: str | None = None
    # links: grafana: the Explore pane's datasource (uid, and jaeger or tempo)
    datasource: Annotated[str, Field(min_length=1)] = "novaload-jaeger"
    datasource_type: Literal["jaeger", "tempo"] = "jaeger"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"enabled": data} if isinstance(data, bool) else data

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http(s):// URL")
        return None if v is None else v.rstrip("/")


# --------------------------------------------------------------------------- environments


class Environment(_Frozen):
    """Where the load goes. Secret header values stay ``${VAR}`` references."""

    name: str
    description: str = ""
    base_url: str = Field(description="http(s) URL, or 'demo' for the built-in demo target")
    ws_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    insecure_skip_tls_verify: bool = False
    requires_confirmation: bool = False  # production: refuse to run without --yes
    tags: dict[str, str] = Field(default_factory=dict)
    tracing: Tracing | None = None  # every run against it traced (a scenario's own wins)

    @field_validator("base_url", "ws_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None or v == "demo":
            return v
        if not re.match(r"^(https?|wss?)://[^\s/]+", v):
            raise ValueError("must be an http(s):// or ws(s):// URL, or 'demo'")
        try:
            _ = urlsplit(v).port  # a port that is not a number raises
        except ValueError:
            raise ValueError("the port is not a number from 0 to 65535") from None
        return v.rstrip("/")

    @property
    def uses_demo_target(self) -> bool:
        return self.base_url == "demo"

    @property
    def secret_refs(self) -> frozenset[str]:
        """Names of environment variables referenced by header values."""
        return frozenset(n for v in self.headers.values() for n in ENV_REF.findall(v))


# --------------------------------------------------------------------------- load profiles


class Stage(_Frozen):
    duration: Annotated[str, Field(description="k6 duration")]
    target: Annotated[int, Field(ge=0)]

    _d = field_validator("duration")(lambda cls, v: _check_duration(v))


class Shape(_Frozen):
    """A load shape compiled to k6 stages by ``novaload.scenario.shapes``."""

    kind: Literal["constant", "ramp", "steps", "burst", "spike", "sine", "random"]
    model: Literal["closed", "open"] = "closed"  # closed = VUs, open = arrival rate
    # Peak load: VUs (closed) or iterations per time_unit (open).
    peak: Annotated[int, Field(ge=1, le=K6_MAX_INT)]
    start: Annotated[int, Field(ge=0)] = 0
    duration: str = "1m"
    steps: Annotated[int, Field(ge=1, le=K6_MAX_INT)] = 5  # steps
    step_duration: str | None = None  # steps: overrides duration / steps
    ramp_up: str | None = None  # ramp / spike / burst
    ramp_down: str | None = None
    hold: str | None = None  # spike/burst: time at peak
    baseline: Annotated[int, Field(ge=0)] | None = None  # spike/burst/sine: load outside peaks
    period: str | None = None  # sine
    resolution: str = "10s"  # sine/random: stage length
    seed: int = 1  # random
    time_unit: str = "1s"
    pre_allocated_vus: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None
    max_vus: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None

    @field_validator(
        "duration", "step_duration", "ramp_up", "ramp_down", "hold", "period", "resolution", "time_unit"
    )
    @classmethod
    def _dur(cls, v: str | None) -> str | None:
        return None if v is None else _check_duration(v)


class Profile(_Frozen):
    """How much load: VUs for a duration, VU stages, an arrival rate, or a shape."""

    name: str
    description: str = ""
    vus: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None
    duration: str | None = None
    iterations: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None
    stages: tuple[Stage, ...] | None = None
    rate: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None  # open model: iterations per time_unit
    time_unit: str = "1s"
    pre_allocated_vus: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None
    max_vus: Annotated[int, Field(ge=1, le=K6_MAX_INT)] | None = None
    shape: Shape | None = None
    graceful_stop: str = "10s"
    think_time: tuple[float, float] = (0.5, 1.5)  # seconds between iterations, min/max

    @field_validator("duration", "time_unit", "graceful_stop")
    @classmethod
    def _dur(cls, v: str | None) -> str | None:
        return None if v is None else _check_duration(v)

    @field_validator("duration")
    @classmethod
    def _positive(cls, v: str | None) -> str | None:
        if v is not None and parse_duration(v) <= 0:  # k6 rejects it at start (exit 104)
            raise ValueError("must be longer than 0s")
        return v

    @field_validator("think_time")
    @classmethod
    def _think(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] < 0 or v[1] < v[0]:
            raise ValueError("must be [min, max] seconds with 0 <= min <= max")
        return v

    @model_validator(mode="after")
    def _one_model(self) -> Profile:
        kinds = [
            k
            for k, present in (("stages", self.stages), ("rate", self.rate), ("shape", self.shape))
            if present
        ]
        if len(kinds) > 1:
            raise ValueError(f"give only one of stages, rate, shape (got {', '.join(kinds)})")
        if not kinds and self.vus is None:
            raise ValueError("needs vus (with duration or iterations), stages, rate or shape")
        if self.vus is not None and not kinds and not (self.duration or self.iterations):
            raise ValueError("vus needs a duration or iterations")
        if self.rate is not None and self.duration is None:
            raise ValueError("rate needs a duration")
        return self


# --------------------------------------------------------------------------- scenarios


def _parsed_threshold(value: Any) -> Threshold:
    # The model validators below parse every threshold with its metric (which a single
    # list item does not know); by the time a field is validated it is a Threshold.
    if not isinstance(value, Threshold):
        raise ValueError("expected a parsed threshold")
    return value


# One threshold, written "p(95)<500" or {threshold, abortOnFail, delayAbortEval} and parsed
# once by ``novaload.thresholds`` (k6's full syntax); dumped back in the form it was written.
ConfigThreshold = Annotated[Threshold, PlainValidator(_parsed_threshold), PlainSerializer(Threshold.to_k6)]


def _parse_thresholds(metric: str, items: Any) -> tuple[Threshold, ...]:
    try:
        parse_selector(metric)
    except ValueError as exc:
        raise ValueError(f"{metric}: bad metric name: {exc}") from None
    try:
        return parse_metric_thresholds(metric, items, source="config")
    except ValueError as exc:
        raise ValueError(f"{metric}: invalid threshold: {exc}") from None


def endpoint_metric(name: str) -> str:
    """The submetric an endpoint's thresholds apply to (its requests carry ``name``)."""
    return f"http_req_duration{{name:{name}}}"


class GeneratorCriteria(_Frozen):
    """When the load generator (k6 itself) counts as saturated and the run as untrustworthy.

    Any one criterion met is enough. Defaults follow Locust's 90 % CPU warning;
    a dropped iteration or a VU ceiling means the arrival rate asked for was not sent.
    """

    cpu_percent: Annotated[float, Field(gt=0, le=100)] = 90.0  # of k6's CPU share
    cpu_seconds: Annotated[float, Field(gt=0)] = 10.0  # ... sustained this long
    max_dropped_iterations: Annotated[int, Field(ge=0)] = 0  # more than this many is a reason
    vu_ceiling: bool = True  # "Insufficient VUs" from an arrival-rate executor is a reason
    strict: bool = False  # an untrustworthy run exits 5 (like --strict-generator)


DEFAULT_APDEX_T_MS = 500.0


class Endpoint(_Frozen):
    """One weighted REST request of the ``api`` scenario (and friends)."""

    name: Annotated[str, Field(min_length=1)]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    path: Annotated[str, Field(pattern=r"^/")]
    weight: Annotated[float, Field(gt=0)] = 1.0
    body: Any = None  # JSON-encoded into the request
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: tuple[int, ...] = (200,)
    thresholds: tuple[ConfigThreshold, ...] = ()  # on http_req_duration{name:<name>}
    apdex_t_ms: Annotated[float, Field(gt=0)] | None = None  # Apdex T; the scenario's when unset
    # Seconds the `flow` template sleeps before this request (a recorded think time);
    # the weighted templates pick endpoints at random and ignore it.
    sleep_before: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _parse_endpoint_thresholds(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("thresholds") and isinstance(data.get("name"), str):
            data = {
                **data,
                "thresholds": _parse_thresholds(endpoint_metric(data["name"]), data["thresholds"]),
            }
        return data


class Scenario(_Frozen):
    """A named test: a template in ``k6-scenarios/`` plus its data and SLOs."""

    name: str
    description: str = ""
    template: str  # file name in k6-scenarios/
    default_profile: str = "smoke"
    endpoints: tuple[Endpoint, ...] = ()
    thresholds: dict[str, tuple[ConfigThreshold, ...]] = Field(default_factory=dict)
    # Scenario-specific data for the template (JSON-encoded into the script).
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    summary_trend_stats: tuple[str, ...] = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)")
    # Named analyses the report runs for this scenario (stress, soak, spike, capacity).
    analyses: tuple[str, ...] = ()
    # The scenario's own load model (benchmark, capacity, stress, soak, spike), used
    # instead of default_profile; an explicit --profile / PROFILE still wins.
    load: Profile | None = None
    # Load-generator health: when a run counts as untrustworthy (and whether that fails it).
    generator: GeneratorCriteria = Field(default_factory=GeneratorCriteria)
    # Apdex T in ms for every endpoint without its own ``apdex_t_ms``.
    apdex_t_ms: Annotated[float, Field(gt=0)] = DEFAULT_APDEX_T_MS
    # Trace context on every request (wins over the environment's; --traces over both).
    tracing: Tracing | None = None

    @property
    def apdex_targets(self) -> dict[str, float]:
        """Apdex T (ms) of each endpoint that sets its own."""
        return {e.name: e.apdex_t_ms for e in self.endpoints if e.apdex_t_ms is not None}

    # A threshold whose (sub)metric received no samples: "pass" judges it as k6 does
    # (flagged "no data" in every report), "fail" fails the run (exit 99).
    no_data: Literal["pass", "fail"] = "pass"

    @model_validator(mode="before")
    @classmethod
    def _name_load(cls, data: Any) -> Any:
        # `load:` is written without a name in YAML; name it after the scenario.
        if isinstance(data, dict) and isinstance(data.get("load"), dict) and "name" not in data["load"]:
            data = {**data, "load": {"name": f"{data.get('name', 'scenario')}-load", **data["load"]}}
        return data

    @field_validator("thresholds", mode="before")
    @classmethod
    def _parse_scenario_thresholds(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v  # pydantic names the wrong type
        return {str(metric): _parse_thresholds(str(metric), items) for metric, items in v.items()}

    @model_validator(mode="after")
    def _k6_scenario_names(self) -> Scenario:
        # The scenario's name, or the names of its several k6 scenarios (``mixed``), are k6
        # scenario names in the rendered script.
        sub = self.params.get("k6_scenarios")
        names = list(sub) if isinstance(sub, dict) and sub else [self.name]
        bad = next((str(n) for n in names if not K6_SCENARIO_NAME.match(str(n))), None)
        if bad is not None:
            where = "name" if bad == self.name else "params.k6_scenarios"
            raise ValueError(f"{where}: scenario name {bad!r} {K6_SCENARIO_NAME_RULE}")
        return self

    @model_validator(mode="after")
    def _unique_endpoints(self) -> Scenario:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique: {', '.join(dupes)}")
        return self

    @property
    def secret_refs(self) -> frozenset[str]:
        """Environment variables referenced as ``${VAR}`` by endpoint headers and paths."""
        texts = [v for e in self.endpoints for v in e.headers.values()] + [e.path for e in self.endpoints]
        return frozenset(n for text in texts for n in ENV_REF.findall(text))

    @property
    def all_thresholds(self) -> dict[str, tuple[Threshold, ...]]:
        """Scenario thresholds plus per-endpoint ones on their ``name`` submetric."""
        out = dict(self.thresholds)
        for e in self.endpoints:
            if e.thresholds:
                key = endpoint_metric(e.name)
                out[key] = tuple(out.get(key, ())) + e.thresholds
        return out


class ProjectConfig(_Frozen):
    """Everything under ``configs/``, validated."""

    environments: dict[str, Environment]
    profiles: dict[str, Profile]
    scenarios: dict[str, Scenario]


__all__ = [
    "DEFAULT_APDEX_T_MS",
    "ENV_REF",
    "Endpoint",
    "Environment",
    "GeneratorCriteria",
    "Profile",
    "ProjectConfig",
    "Scenario",
    "Shape",
    "Stage",
    "endpoint_metric",
    "ConfigThreshold",
    "Tracing",
    "format_duration",
    "parse_duration",
]
