"""Suite files: several scenarios or scripts run as one test with one verdict.

A suite file (``configs/suites/<name>.yaml`` or any path) is validated once into a
frozen :class:`Suite`::

    description: Nightly core suite
    mode: parallel            # or sequential (default)
    max_parallel: 2           # parallel: at most this many runs at once [all]
    fail_fast: false          # sequential: stop starting runs after the first failure
    defaults: {env: local, profile: smoke}
    runs:
      - scenario: api
      - {scenario: database, profile: dev, vus: 2, duration: 10s}
      - {script: tests/k6/login.js, name: login, env: staging}
      - {scenario: soak, only_if_env: INCLUDE_SOAK_TESTS}   # only when that is true/1/yes

Per run, the first value found wins: the run's own entry, the ``suite`` command's
options, the file's ``defaults``, then what a single ``novaload run`` would use
(``ENVIRONMENT``/``PROFILE``/… from the environment, then the scenario's defaults).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from novaload.config.loader import read_yaml, validate
from novaload.config.models import _Frozen, parse_duration
from novaload.errors import ConfigError

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


class RunSettings(_Frozen):
    """What a run (or the suite's defaults) may set; None = not set here."""

    env: str | None = None
    profile: str | None = None
    vus: Annotated[int, Field(ge=1)] | None = None
    duration: str | None = None
    target: str | None = None
    runner: Literal["local", "docker"] | None = None
    parallelism: Annotated[int, Field(ge=1)] | None = None
    baseline: str | None = None  # a run id/folder, "last" or "last-passing": gate on regression

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("target")
    @classmethod
    def _target(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http(s):// URL")
        return v

    def over(self, other: RunSettings) -> RunSettings:
        """These settings, with what they leave open taken from ``other``."""
        mine = self.model_dump(exclude_none=True)
        return RunSettings.model_validate({**other.model_dump(exclude_none=True), **mine})


class SuiteRun(RunSettings):
    """One entry of ``runs``: a scenario or a script, and its settings."""

    scenario: str | None = None
    script: str | None = None
    name: str | None = None  # the label in the index and the run's folder name
    # Run only when this environment variable is true/1/yes (e.g. INCLUDE_SOAK_TESTS);
    # otherwise the index lists the run as "not run".
    only_if_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SuiteRun:
        if (self.scenario is None) == (self.script is None):
            raise ValueError("give exactly one of scenario or script")
        if self.name is not None and not _LABEL.match(self.name):
            raise ValueError("name: use letters, digits, '_', '-' or '.' (at most 60)")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.scenario:
            return self.scenario
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(str(self.script)).stem).strip("-") or "script"

    @property
    def settings(self) -> RunSettings:
        return RunSettings.model_validate(self.model_dump(include=set(RunSettings.model_fields)))


class Suite(_Frozen):
    name: str
    description: str = ""
    mode: Literal["sequential", "parallel"] = "sequential"
    max_parallel: Annotated[int, Field(ge=1)] | None = None
    fail_fast: bool = False
    defaults: RunSettings = Field(default_factory=RunSettings)
    runs: Annotated[tuple[SuiteRun, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_labels(self) -> Suite:
        labels = [r.label for r in self.runs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(
                f"run labels must be unique (give `name:` to tell them apart): {', '.join(dupes)}"
            )
        return self


def load_suite(path: Path) -> Suite:
    """Read and validate one suite file; every error names the file and the key."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping with `runs:`", file=path, key="(top level)")
    body: dict[str, Any] = {"name": path.stem, **data}
    suite: Suite = validate(Suite, body, file=path, key="")
    return suite


__all__ = ["RunSettings", "Suite", "SuiteRun", "load_suite"]
