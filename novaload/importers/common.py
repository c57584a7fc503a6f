"""What every importer produces: a scenario YAML in the shape of ``configs/scenarios/*.yaml``.

An importer builds an :class:`ImportedScenario` (the scenario data plus the comment
lines that explain it), which validates itself with the same loader function the
project's hand-written scenarios go through, and renders as commented YAML.
:func:`write_scenario` puts it under ``configs/scenarios/`` without overwriting
anything unless asked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from novaload.config.loader import default_config_dir, validate
from novaload.config.models import Scenario
from novaload.errors import InputError, UsageError
from novaload.fileio import write_atomic

# The default SLO of an imported scenario (the same as the hand-written api scenario):
# loose enough for a shared CI machine, to be tightened per service.
DEFAULT_THRESHOLDS: dict[str, list[str]] = {
    "http_req_duration": ["p(95)<1000", "p(99)<2000"],
    "http_req_failed": ["rate<0.01"],
    "checks": ["rate>0.99"],
}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def read_source(path: Path, origin: str) -> bytes:
    """A local description or recording's bytes; ``origin`` (the path as given) starts the
    one-line InputError when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{origin}: no such file") from None
    except OSError as exc:
        raise InputError(f"{origin}: cannot read ({exc.strerror})") from None


def decode_source(raw: bytes, origin: str) -> str:
    """The source as text (UTF-8, a byte-order mark allowed), else a one-line InputError."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin}: not UTF-8 text (byte {exc.start})") from None


def json_error(origin: str, exc: json.JSONDecodeError) -> InputError:
    """Where a JSON source is broken, in one line."""
    return InputError(f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")


def slug(text: str, *, fallback: str = "imported", max_len: int = 60) -> str:
    """A file- and tag-friendly name: lower case, [a-z0-9_-], no leading/trailing separators."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return out or fallback


def env_name(text: str, *, fallback: str = "API") -> str:
    """An environment variable name for a ``${VAR}`` reference: upper case, ``[A-Z0-9_]``,
    never starting with a digit (the scripts only resolve ``${[A-Za-z_]...}``, and a shell
    could not export it): ``fallback`` stands in for nothing and goes before a digit."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or fallback
    return f"{fallback}_{base}" if base[0].isdigit() else base


def endpoint_name(method: str, path: str) -> str:
    """An endpoint's name from its method and URL path: ``get_api_orders``, ``get_root``."""
    return f"{method.lower()}_{slug(path, fallback='root').replace('-', '_')}"


def check_name(name: str) -> str:
    """A scenario name given with ``--name`` must be a plain file name."""
    if not _NAME_OK.match(name) or name.endswith((".yaml", ".yml")):
        raise UsageError(
            f"--name {name!r}: use letters, digits, '_', '-' or '.' (it becomes configs/scenarios/NAME.yaml)"
        )
    return name


def comment(text: str, *, max_len: int = 160) -> str:
    """One line safe to put after ``#`` in YAML: no line breaks or control characters."""
    flat = _CONTROL.sub(" ", str(text)).strip()
    return flat if len(flat) <= max_len else flat[: max_len - 1] + "…"


def unique_names(names: list[str]) -> list[str]:
    """Keep names unique (the loader requires it): later duplicates get _2, _3, …"""
    seen: dict[str, int] = {}
    out = []
    taken = set(names)
    for name in names:
        if name not in seen:
            seen[name] = 1
            out.append(name)
            continue
        n = seen[name]
        while True:
            n += 1
            candidate = f"{name}_{n}"
            if candidate not in taken:
                break
        seen[name] = n
        taken.add(candidate)
        out.append(candidate)
    return out


@dataclass(frozen=True, slots=True)
class ImportedEndpoint:
    """One endpoint as written to YAML, with the comment line above it."""

    data: dict[str, Any]
    note: str = ""


@dataclass(frozen=True, slots=True)
class ImportedScenario:
    """A generated scenario: its YAML data, validated, and what explains it."""

    name: str
    description: str
    template: str
    endpoints: tuple[ImportedEndpoint, ...]
    header: tuple[str, ...]  # comment lines at the top: source and rules
    skipped: tuple[str, ...] = ()  # what was not generated, and why
    params: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    default_profile: str = "smoke"

    def data(self) -> dict[str, Any]:
        """The scenario file's mapping (without ``name``: the loader takes it from the file name)."""
        out: dict[str, Any] = {
            "description": self.description,
            "template": self.template,
            "default_profile": self.default_profile,
            "endpoints": [e.data for e in self.endpoints],
        }
        if self.params:
            out["params"] = self.params
        out["thresholds"] = self.thresholds
        return out

    def validated(self, file: Path | str) -> Scenario:
        """The scenario through the loader's own validation (a ConfigError names ``file``)."""
        result: Scenario = validate(Scenario, {"name": self.name, **self.data()}, file=Path(file), key="")
        return result

    def to_yaml(self) -> str:
        """The scenario file: header comments, then the data, each endpoint under its note."""
        lines = [f"# {comment(h, max_len=400)}" if h else "#" for h in self.header]
        if self.skipped:
            lines.append(f"# Not generated ({len(self.skipped)}):")
            lines += [f"#   - {comment(s, max_len=400)}" for s in self.skipped]
        data = self.data()
        head = {k: data[k] for k in ("description", "template", "default_profile")}
        lines.append(_dump(head, flow=False).rstrip("\n"))
        if self.endpoints:
            lines.append("endpoints:")
            for endpoint in self.endpoints:
                if endpoint.note:
                    lines.append(f"  # {comment(endpoint.note)}")
                item = _dump([endpoint.data]).rstrip("\n")
                lines += ["  " + line for line in item.splitlines()]
        else:
            lines.append("endpoints: []")
        tail = {k: data[k] for k in ("params", "thresholds") if k in data}
        lines.append(_dump(tail).rstrip("\n"))
        return "\n".join(lines) + "\n"


def _dump(value: Any, *, flow: bool | None = None) -> str:
    # flow=None: lists and mappings of plain values on one line, as the hand-written files do.
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=10_000)


def default_output(name: str, config_dir: Path | None = None) -> Path:
    """``configs/scenarios/<name>.yaml`` of the project in use."""
    return (config_dir or default_config_dir()) / "scenarios" / f"{name}.yaml"


def write_scenario(imported: ImportedScenario, path: Path, *, force: bool = False) -> Path:
    """Validate and write ``imported`` to ``path``; an existing file is kept unless ``force``."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="add --force to replace it, or give --name")
    imported.validated(path)
    text = imported.to_yaml()
    # The text must read back as the data that was validated (comments cannot leak into it).
    if yaml.safe_load(text) != imported.data():  # pragma: no cover - a bug in to_yaml
        raise AssertionError("generated YAML does not round-trip")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, text)


__all__ = [
    "DEFAULT_THRESHOLDS",
    "ImportedEndpoint",
    "ImportedScenario",
    "check_name",
    "comment",
    "decode_source",
    "default_output",
    "endpoint_name",
    "env_name",
    "json_error",
    "read_source",
    "slug",
    "unique_names",
    "write_scenario",
]
