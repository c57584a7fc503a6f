"""Rendering: every value reaches JavaScript JSON-encoded; scripts pass `k6 inspect`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from novaload.config import Overrides, load_project, select
from novaload.scenario.render import render, to_js

REPO = Path(__file__).resolve().parents[2]

PAYLOADS = [
    "'; globalThis.PWNED = 1; '",
    '"; globalThis.PWNED = 1; "',
    "`; globalThis.PWNED = 1; `",
    "${globalThis.PWNED = 1}",
    "</script><script>globalThis.PWNED = 1</script>",
    "\u2028globalThis.PWNED = 1\u2029",
    "*/ globalThis.PWNED = 1; /*",
]


def test_to_js_escapes_html_significant_characters():
    text = to_js({"a": "</script>&<!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script>&<!--"}


@pytest.fixture
def hostile_configs(tmp_path: Path) -> Path:
    """configs/ whose scenario, endpoint and header values try to break out of JS strings."""
    dst = tmp_path / "configs"
    shutil.copytree(REPO / "configs", dst)
    import yaml

    api = yaml.safe_load((dst / "scenarios" / "api.yaml").read_text())
    api["description"] = PAYLOADS[0]
    api["tags"] = {"team": PAYLOADS[1]}
    api["endpoints"] = [
        {"name": p, "path": "/api/v1/items?q=" + p, "weight": 1, "headers": {"X-Evil": p}, "body": {"v": p}}
        for p in PAYLOADS
    ]
    api["thresholds"] = {"http_req_duration": ["p(95)<500"]}
    (dst / "scenarios" / "api.yaml").write_text(yaml.safe_dump(api))
    staging = yaml.safe_load((dst / "environments" / "staging.yaml").read_text())
    staging["headers"]["X-Inject"] = PAYLOADS[2]
    (dst / "environments" / "staging.yaml").write_text(yaml.safe_dump(staging))
    return dst


@pytest.mark.k6
def test_injection_attempts_stay_data(hostile_configs: Path, tmp_path: Path, k6_bin: str):
    project = load_project(hostile_configs, REPO / "k6-scenarios")
    sel = select(project, "api", Overrides(environment="staging"))
    rendered = render(sel.scenario, sel.environment, sel.profile, scenarios_dir=REPO / "k6-scenarios")
    script = rendered.write(tmp_path / "api.js")
    # The payloads survive as data, unchanged: extract CONFIG with k6 itself and compare.
    probe = tmp_path / "probe.js"
    probe.write_text(
        script.read_text().replace("export default function", "function _unused")
        + "\nexport default function () {}\n"
        "export function setup() { if (globalThis.PWNED) throw new Error('PWNED'); "
        "console.log('CONFIG=' + JSON.stringify(CONFIG)); }\n"
    )
    out = subprocess.run(
        [k6_bin, "run", "--quiet", "--iterations", "1", "--vus", "1", "--log-format", "raw", str(probe)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "K6_NO_USAGE_REPORT": "true"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in (out.stdout + out.stderr).split("\n") if x.startswith("CONFIG="))
    config = json.loads(line[len("CONFIG=") :])
    assert [e["name"] for e in config["endpoints"]] == PAYLOADS
    assert config["headers"]["X-Inject"] == PAYLOADS[2]
    # nothing from a payload appears outside a JSON string in the script text
    assert "</script>" not in script.read_text()


@pytest.mark.k6
@pytest.mark.parametrize("environment", ["local", "staging", "production"])
def test_every_scenario_renders_and_passes_k6_inspect(environment: str, tmp_path: Path, k6_bin: str):
    project = load_project(REPO / "configs", REPO / "k6-scenarios")
    for name in project.scenarios:
        sel = select(project, name, Overrides(environment=environment))
        rendered = render(sel.scenario, sel.environment, sel.profile, scenarios_dir=REPO / "k6-scenarios")
        script = rendered.write(tmp_path / f"{name}.js")
        out = subprocess.run([k6_bin, "inspect", str(script)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{name}/{environment}: {out.stderr[-1500:]}"
        inspected = json.loads(out.stdout)
        assert inspected["scenarios"], name
        assert inspected.get("thresholds"), name


def test_secrets_never_in_the_script(monkeypatch):
    monkeypatch.setenv("STAGING_API_TOKEN", "s3cr3t-token-value")
    project = load_project(REPO / "configs", REPO / "k6-scenarios")
    sel = select(project, "api", Overrides(environment="staging"))
    text = render(sel.scenario, sel.environment, sel.profile, scenarios_dir=REPO / "k6-scenarios").text
    assert "s3cr3t-token-value" not in text
    assert "${STAGING_API_TOKEN}" in text
