"""Read ``configs/`` once and validate it into :class:`ProjectConfig`.

Layout::

    configs/environments/<name>.yaml   one environment per file
    configs/profiles.yaml              profiles: {<name>: {...}}
    configs/scenarios/<name>.yaml      one scenario per file

Every problem becomes a :class:`ConfigError` naming the file, the key path and
the value, e.g. ``configs/profiles.yaml: profiles.smoke.vus: Input should be
greater than or equal to 1 (got 0)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from novaload.config.models import ANALYSIS_NAMES, Environment, Profile, ProjectConfig, Scenario
from novaload.errors import ConfigError
from novaload.inputs import CONFIG, Bounds, load_yaml, read_text

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


def _default_dir(env_var: str, name: str) -> Path:
    """``$env_var``, else ``./name`` (the project you are in), else the checkout's ``name``."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    local = Path.cwd() / name
    return local if local.is_dir() else PACKAGE_ROOT / name


def default_config_dir() -> Path:
    return _default_dir("NOVALOAD_CONFIG_DIR", "configs")


def default_scenarios_dir() -> Path:
    return _default_dir("NOVALOAD_SCENARIOS_DIR", "k6-scenarios")


def read_yaml(path: Path, bounds: Bounds = CONFIG) -> Any:
    """Parse one YAML file within ``bounds`` (size, depth, alias expansion: inputs.py);
    every error names the file and line."""
    if path.is_dir():
        raise ConfigError("cannot read: Is a directory", file=path)
    text = read_text(path, bounds, error=ConfigError)
    return load_yaml(text, str(path), bounds, error=ConfigError)


def validate(model: type[BaseModel], data: Any, *, file: Path, key: str) -> Any:
    """Validate ``data`` into ``model``; the first error becomes a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join([key, *(str(p) for p in err["loc"])]) if key else ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = value if not isinstance(value, dict) and err["type"] != "missing" else None
        raise ConfigError(msg, file=file, key=path, value=shown) from None


def _mapping(data: Any, *, file: Path, key: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping", file=file, key=key or "(top level)", value=type(data).__name__)
    return data


def _named_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError("folder not found", file=folder)
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def load_environments(folder: Path) -> dict[str, Environment]:
    out: dict[str, Environment] = {}
    for path in _named_files(folder):
        data = _mapping(read_yaml(path), file=path, key="")
        data = {"name": path.stem, **data}
        out[path.stem] = validate(Environment, data, file=path, key="")
    return out


def load_profiles(path: Path) -> dict[str, Profile]:
    top = _mapping(read_yaml(path), file=path, key="")
    profiles = _mapping(top.get("profiles"), file=path, key="profiles")
    out: dict[str, Profile] = {}
    for name, body in profiles.items():
        body = _mapping(body, file=path, key=f"profiles.{name}")
        out[name] = validate(Profile, {"name": name, **body}, file=path, key=f"profiles.{name}")
    return out


def load_scenarios(folder: Path) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for path in _named_files(folder):
        data = _mapping(read_yaml(path), file=path, key="")
        out[path.stem] = validate(Scenario, {"name": path.stem, **data}, file=path, key="")
    return out


def _config_dir(config_dir: Path | None) -> Path:
    config_dir = config_dir or default_config_dir()
    if not config_dir.is_dir():
        raise ConfigError(
            "config folder not found",
            file=config_dir,
            hint="run from the project root or set NOVALOAD_CONFIG_DIR",
        )
    return config_dir


def load_environment_config(config_dir: Path | None = None) -> dict[str, Environment]:
    """The environments under ``config_dir``, alone: all a user's script run with ``--env``
    or ``--target`` reads (profiles and scenarios are for rendered scenarios, and reading
    them is most of the configuration's cost on the way to k6)."""
    return load_environments(_config_dir(config_dir) / "environments")


def load_project(config_dir: Path | None = None, scenarios_dir: Path | None = None) -> ProjectConfig:
    """Load and cross-check everything under ``config_dir``."""
    config_dir = _config_dir(config_dir)
    scenarios_dir = scenarios_dir or default_scenarios_dir()
    project = ProjectConfig(
        environments=load_environments(config_dir / "environments"),
        profiles=load_profiles(config_dir / "profiles.yaml"),
        scenarios=load_scenarios(config_dir / "scenarios"),
    )
    for scenario in project.scenarios.values():
        file = config_dir / "scenarios" / f"{scenario.name}.yaml"
        if not (scenarios_dir / scenario.template).is_file():
            raise ConfigError(
                "template not found in " + str(scenarios_dir),
                file=file,
                key="template",
                value=scenario.template,
            )
        unknown = [a for a in scenario.analyses if a not in ANALYSIS_NAMES]
        if unknown:  # caught now, not after a long run
            raise ConfigError(
                "unknown analysis",
                file=file,
                key="analyses",
                value=unknown[0],
                hint=f"known: {', '.join(sorted(ANALYSIS_NAMES))}",
            )
        if scenario.default_profile not in project.profiles:
            raise ConfigError(
                "unknown profile", file=file, key="default_profile", value=scenario.default_profile
            )
    return project


__all__ = [
    "default_config_dir",
    "default_scenarios_dir",
    "load_environment_config",
    "load_environments",
    "load_profiles",
    "load_project",
    "load_scenarios",
    "read_yaml",
    "validate",
]
