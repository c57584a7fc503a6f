"""Configuration: YAML under ``configs/`` validated once into typed, frozen objects."""

from novaload.config.loader import default_config_dir, default_scenarios_dir, load_project
from novaload.config.models import (
    Endpoint,
    Environment,
    Profile,
    ProjectConfig,
    Scenario,
    Shape,
    Stage,
    format_duration,
    parse_duration,
)
from novaload.config.resolve import Overrides, Selection, select

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
