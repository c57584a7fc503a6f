"""Pick the environment, profile and scenario for one run and apply overrides.

Precedence, highest first: command line > environment variables the Makefile
passes (``ENVIRONMENT``, ``PROFILE``, ``CONCURRENT_USERS``, ``TEST_DURATION``,
``API_TARGET``) > the scenario's defaults > built-in defaults.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from novaload.config.models import (
    Environment,
    Profile,
    ProjectConfig,
    Scenario,
    Shape,
    Stage,
    format_duration,
    parse_duration,
)
from novaload.errors import ConfigError, UsageError
from novaload.redact import safe_url
from novaload.urls import ws_url_for


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the user asked for on the command line (None = not given)."""

    environment: str | None = None
    profile: str | None = None
    vus: int | None = None
    duration: str | None = None
    target_url: str | None = None

    def merged_with_env(self, environ: Mapping[str, str]) -> Overrides:
        """Fill what the command line left open from the Makefile's variables."""

        def env(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        vus_text = env("CONCURRENT_USERS")
        vus = self.vus
        if vus is None and vus_text is not None:
            if not vus_text.isdigit() or int(vus_text) < 1:
                raise ConfigError(
                    "must be a whole number >= 1", key="CONCURRENT_USERS", file="environment", value=vus_text
                )
            vus = int(vus_text)
        duration = self.duration or env("TEST_DURATION")
        if duration is not None:
            source = "--duration" if self.duration else "TEST_DURATION"
            where = "command line" if self.duration else "environment"
            try:
                seconds = parse_duration(duration)
            except ValueError as exc:
                raise ConfigError(str(exc), file=where, key=source) from None
            if seconds <= 0:  # k6 rejects a zero duration at start (exit 104)
                raise ConfigError("must be longer than 0s", file=where, key=source, value=duration)
        return Overrides(
            environment=self.environment or env("ENVIRONMENT"),
            profile=self.profile or env("PROFILE"),
            vus=vus,
            duration=duration,
            target_url=self.target_url or env("API_TARGET"),
        )


def _pick(kind: str, name: str, known: Mapping[str, object]) -> None:
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
        raise ConfigError(f"unknown {kind}", key=kind, file="command line", value=name, hint=hint)


def apply_load_overrides(profile: Profile, vus: int | None, duration: str | None) -> Profile:
    """Scale a profile to ``vus`` peak load and ``duration`` total time.

    A flat profile has its values replaced; staged and shaped profiles keep
    their shape: stage targets scale by vus/peak and stage lengths by
    duration/total, so `CONCURRENT_USERS=5 make stress` is a small stress test.
    """
    if vus is None and duration is None:
        return profile
    changes: dict[str, object] = {}
    if profile.stages:
        peak = max((s.target for s in profile.stages), default=0) or 1
        total = sum(parse_duration(s.duration) for s in profile.stages) or 1.0
        k_load = (vus / peak) if vus else 1.0
        k_time = (parse_duration(duration) / total) if duration else 1.0
        changes["stages"] = tuple(
            Stage(
                duration=format_duration(max(1.0, round(parse_duration(s.duration) * k_time))),
                target=max(0, round(s.target * k_load)) if s.target else 0,
            )
            for s in profile.stages
        )
    elif profile.shape:
        shape = profile.shape
        k_load = (vus / shape.peak) if vus else 1.0
        scaled: dict[str, object] = {
            "peak": max(1, round(shape.peak * k_load)),
            "start": round(shape.start * k_load),
        }
        if shape.baseline is not None:
            scaled["baseline"] = round(shape.baseline * k_load)
        if duration:
            k_time = parse_duration(duration) / parse_duration(shape.duration)
            scaled["duration"] = duration
            for key in ("step_duration", "ramp_up", "ramp_down", "hold", "period"):
                value = getattr(shape, key)
                if value is not None:
                    scaled[key] = format_duration(max(1.0, round(parse_duration(value) * k_time)))
        changes["shape"] = Shape.model_validate({**shape.model_dump(), **scaled})
    else:
        if vus is not None:
            if profile.rate is not None:
                changes["pre_allocated_vus"] = vus
                changes["max_vus"] = max(vus, profile.max_vus or vus)
            else:
                changes["vus"] = vus
        if duration is not None:
            changes["duration"] = duration
            changes["iterations"] = None
    return Profile.model_validate({**profile.model_dump(), **changes})


@dataclass(frozen=True, slots=True)
class Selection:
    """The configuration one run uses, after overrides."""

    environment: Environment
    profile: Profile
    scenario: Scenario | None  # None for a user's own script


def select(
    project: ProjectConfig,
    scenario_name: str | None,
    overrides: Overrides,
    *,
    default_environment: str = "local",
) -> Selection:
    """Resolve names to objects; raise a ConfigError naming any unknown one."""
    scenario = None
    if scenario_name is not None:
        _pick("scenario", scenario_name, project.scenarios)
        scenario = project.scenarios[scenario_name]
    environment = select_environment(project.environments, overrides, default_environment=default_environment)
    if overrides.profile is None and scenario is not None and scenario.load is not None:
        base_profile = scenario.load  # the scenario's own load model; --profile wins
    else:
        profile_name = overrides.profile or (scenario.default_profile if scenario else "smoke")
        _pick("profile", profile_name, project.profiles)
        base_profile = project.profiles[profile_name]
    profile = apply_load_overrides(base_profile, overrides.vus, overrides.duration)
    return Selection(environment=environment, profile=profile, scenario=scenario)


def select_environment(
    environments: Mapping[str, Environment], overrides: Overrides, *, default_environment: str = "local"
) -> Environment:
    """The environment a run uses (``--env``, else ``default_environment``), pointed at
    ``--target`` when given; a ConfigError names an unknown one."""
    name = overrides.environment or default_environment
    _pick("environment", name, environments)
    environment = environments[name]
    return with_target(environment, overrides.target_url) if overrides.target_url else environment


def with_target(environment: Environment, url: str) -> Environment:
    """Point an environment at another base URL (``--target`` / ``API_TARGET``)."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--target/API_TARGET must be an http(s):// URL (got {safe_url(url)!r})")
    try:
        _ = urlsplit(url).port  # a port that is not a number raises
    except ValueError:
        raise UsageError(
            f"--target/API_TARGET: the port of {safe_url(url)!r} is not a number from 0 to 65535"
        ) from None
    url = url.rstrip("/")
    data = {**environment.model_dump(), "base_url": url, "ws_url": ws_url_for(url)}
    return Environment.model_validate(data)


__all__ = ["Overrides", "Selection", "apply_load_overrides", "select", "select_environment", "with_target"]
