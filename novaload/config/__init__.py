"""Configuration: YAML under ``configs/`` validated once into typed, frozen objects.

The names are loaded on first use (PEP 562): a user's script run without ``--env`` or
``--target`` reads no configuration, and ``import novaload.config.durations`` (which it
does need) must not cost it YAML and the pydantic models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS = {
    "default_config_dir": "novaload.config.loader",
    "default_scenarios_dir": "novaload.config.loader",
    "load_project": "novaload.config.loader",
    "Endpoint": "novaload.config.models",
    "Environment": "novaload.config.models",
    "Profile": "novaload.config.models",
    "ProjectConfig": "novaload.config.models",
    "Scenario": "novaload.config.models",
    "Shape": "novaload.config.models",
    "Stage": "novaload.config.models",
    "format_duration": "novaload.config.durations",
    "parse_duration": "novaload.config.durations",
    "Overrides": "novaload.config.resolve",
    "Selection": "novaload.config.resolve",
    "select": "novaload.config.resolve",
}

if TYPE_CHECKING:
    from novaload.config.durations import format_duration, parse_duration
    from novaload.config.loader import default_config_dir, default_scenarios_dir, load_project
    from novaload.config.models import Endpoint, Environment, Profile, ProjectConfig, Scenario, Shape, Stage
    from novaload.config.resolve import Overrides, Selection, select


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'novaload.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Endpoint",
    "Environment",
    "Overrides",
    "Profile",
    "ProjectConfig",
    "Scenario",
    "Selection",
    "Shape",
    "Stage",
    "default_config_dir",
    "default_scenarios_dir",
    "format_duration",
    "load_project",
    "parse_duration",
    "select",
]
