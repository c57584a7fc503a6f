"""Render a scenario template (``k6-scenarios/*.js.j2``) into a complete k6 script.

Safety by construction: the Jinja environment's ``finalize`` JSON-encodes the
result of *every* ``{{ expression }}``, so config values can only ever appear
in the script as JSON literals, and templates write ``const CONFIG = {{ config }};``
(a JSON literal as a whole statement's value), never JavaScript built from text.
A JSON string cannot end early there: quotes, backslashes and control characters are
escaped by JSON, a backtick or ``${`` means nothing inside a double-quoted string, and
U+2028/U+2029 (line terminators to JavaScript before ES2019) are escaped as ``\\uXXXX``.
The script is a ``.js`` file k6 reads, never HTML, so ``<``, ``>`` and ``&`` stay as
written (``"p(95)<500"``); only ``</`` becomes ``<\\/`` (the same string to JSON and
JavaScript), so no ``</script>`` appears even if the text is ever shown inside HTML.

Rendering is reproducible: the same configuration gives the same bytes. The run id is
not in the script: k6 reads it at run time from ``__ENV.NOVALOAD_RUN_ID`` (a script run
by hand with ``k6 run`` is ``<scenario>-manual``). Options are pretty-printed JSON.

Secrets never reach the script: header values keep their ``${VAR}``
references and the script resolves them from ``__ENV`` at run time; a target URL's
credentials are dropped (k6 reads the full URL from ``NOVALOAD_BASE_URL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from novaload.config.loader import default_scenarios_dir
from novaload.config.models import Environment, Profile, Scenario
from novaload.errors import ConfigError
from novaload.fileio import write_atomic
from novaload.redact import safe_url
from novaload.scenario.jsliteral import to_js  # re-exported: templates' finalize and tests use it
from novaload.scenario.options import build_options
from novaload.urls import ws_url_for

# Used when a script rendered for the `local` environment is run by hand.
DEMO_DEFAULT_URL = "http://127.0.0.1:8080"


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.runtime.Undefined):  # pragma: no cover - StrictUndefined raises
        return ""
    return to_js(value)


def make_environment(scenarios_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(scenarios_dir)),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,  # HTML escaping is wrong for JS; finalize JSON-encodes instead
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True, slots=True)
class RenderedScript:
    scenario: str
    text: str
    options: dict[str, Any]
    config: dict[str, Any]

    def write(self, path: Path) -> Path:
        return write_atomic(path, self.text)


def script_config(scenario: Scenario, environment: Environment, profile: Profile) -> dict[str, Any]:
    """The data a template sees as ``config`` (embedded as ``CONFIG`` in the script)."""
    # Credentials in a URL are secrets: k6 gets the full URL from NOVALOAD_BASE_URL in its
    # environment; the script (kept in the run folder) has the URL without them.
    base = DEMO_DEFAULT_URL if environment.uses_demo_target else (safe_url(environment.base_url) or "")
    ws = safe_url(environment.ws_url) or ws_url_for(base)
    if ws == "demo":
        ws = ws_url_for(DEMO_DEFAULT_URL)
    return {
        "scenario": scenario.name,
        "environment": environment.name,
        "profile": profile.name,
        "base_url": base,
        "ws_url": ws,
        "headers": dict(environment.headers),  # "${VAR}" kept: resolved from __ENV in k6
        "endpoints": [e.model_dump(mode="json") for e in scenario.endpoints],
        "params": scenario.params,
        "think_time": list(profile.think_time),
    }


def render(
    scenario: Scenario,
    environment: Environment,
    profile: Profile,
    *,
    scenarios_dir: Path | None = None,
) -> RenderedScript:
    """Render ``scenario`` for ``environment`` and ``profile`` into k6 JavaScript."""
    scenarios_dir = scenarios_dir or default_scenarios_dir()
    env = make_environment(scenarios_dir)
    config = script_config(scenario, environment, profile)
    options = build_options(
        scenario,
        profile,
        insecure_skip_tls_verify=environment.insecure_skip_tls_verify,
        extra_tags={"environment": environment.name, **environment.tags},
    )
    try:
        template = env.get_template(scenario.template)
        text = template.render(config=config, options=options, scenario=scenario.name)
    except jinja2.TemplateNotFound:
        raise ConfigError(
            "template not found", file=scenarios_dir, key="template", value=scenario.template
        ) from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"template uses an undefined value: {exc.message}", file=scenarios_dir / scenario.template
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template syntax error: {exc.message}",
            file=scenarios_dir / scenario.template,
            key=f"line {exc.lineno}",
        ) from None
    return RenderedScript(scenario=scenario.name, text=text, options=options, config=config)


__all__ = ["DEMO_DEFAULT_URL", "RenderedScript", "make_environment", "render", "script_config", "to_js"]
