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


def test_to_js_is_readable_json_that_stays_a_value():
    """A .js file, not HTML: "p(95)<500" reads as written; "</" and U+2028/2029 are escaped
    (the same string to JSON and to JavaScript)."""
    value = {"a": "</script>&<!--", "t": "p(95)<500", "ls": "x\u2028y\u2029z", "é": "ü"}
    text = to_js(value)
    assert "</" not in text and "\u2028" not in text and "\u2029" not in text
    assert '"p(95)<500"' in text and '"é": "ü"' in text
    assert text.startswith('{\n  "a": ') and json.loads(text) == value


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


def _render_cli(*args: str) -> bytes:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "novaload", "--config-dir", str(REPO / "configs"),
         "--scenarios-dir", str(REPO / "k6-scenarios"), "render", *args],
        capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"},
    ).stdout  # fmt: skip


@pytest.mark.parametrize("scenario", ["api", "vm", "mixed"])
def test_render_is_byte_for_byte_reproducible(scenario: str):
    """No run id or time in the script: the same inputs give the same bytes."""
    first, second = _render_cli(scenario, "--vus", "3"), _render_cli(scenario, "--vus", "3")
    assert first == second
    assert b"\\u003c" not in first and b"export const options = {\n  " in first


@pytest.mark.k6
def test_a_runs_script_is_what_render_prints(tmp_path: Path):
    """The script kept in a run folder is `novaload render`'s for the same inputs; the run id
    reaches it at run time (k6's __ENV), as the summary line shows."""
    import os
    import sys

    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS")}
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "--config-dir", str(REPO / "configs"),
         "--scenarios-dir", str(REPO / "k6-scenarios"), "run", "api", "--profile", "dev",
         "--duration", "2s", "--vus", "1", "--out-dir", str(out)],
        capture_output=True, text=True, timeout=120, env={**env, "TEST_DURATION": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "api.js").read_bytes() == _render_cli(
        "api", "--profile", "dev", "--duration", "2s", "--vus", "1"
    )
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    assert f"novaload · api · local · run {run_id}" in (out / "k6.log").read_text()  # the script's RUN_ID
