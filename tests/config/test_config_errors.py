"""Every kind of bad configuration gives one line naming file, key path and value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from novaload.config import Overrides, load_project, select
from novaload.errors import ConfigError, ExitCode, UsageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """A private copy of the shipped configs/ to break in different ways."""
    dst = tmp_path / "configs"
    shutil.copytree(REPO / "configs", dst)
    return dst


def _load(cfg: Path):
    return load_project(cfg, REPO / "k6-scenarios")


def test_shipped_config_is_valid():
    project = load_project(REPO / "configs", REPO / "k6-scenarios")
    assert {"local", "staging", "production"} <= set(project.environments)
    assert {"smoke", "light", "normal", "heavy", "stress", "soak", "spike", "dev"} <= set(project.profiles)
    assert "api" in project.scenarios


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        pytest.param(
            "profiles.yaml",
            "profiles:\n  smoke: {vus: 0, duration: 10s}\n",
            ["profiles.yaml", "profiles.smoke.vus", "greater than or equal to 1", "got 0"],
            id="value-out-of-range",
        ),
        pytest.param(
            "profiles.yaml",
            "profiles:\n  smoke: {vus: 2, duration: ten}\n",
            ["profiles.smoke.duration", "k6 duration", "'ten'"],
            id="bad-duration",
        ),
        pytest.param(
            "profiles.yaml",
            "profiles:\n  smoke: {vus: 2, duration: 1s, vsu: 3}\n",
            ["profiles.smoke.vsu", "Extra inputs are not permitted"],
            id="unknown-key",
        ),
        pytest.param(
            "profiles.yaml",
            "profiles:\n  smoke: {vus: 2, duration: 1s\n",
            ["profiles.yaml", "line", "invalid YAML"],
            id="yaml-syntax",
        ),
        pytest.param(
            "profiles.yaml",
            "- just\n- a list\n",
            ["profiles.yaml", "must be a mapping"],
            id="wrong-top-level",
        ),
        pytest.param(
            "environments/staging.yaml",
            "base_url: ftp://example\n",
            ["staging.yaml", "base_url", "http(s)://", "ftp://example"],
            id="bad-url",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nendpoints:\n  - {name: a, path: x}\n",
            ["api.yaml", "endpoints.0.path", "'x'"],
            id="bad-endpoint-path",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: nope.js.j2\n",
            ["api.yaml", "template", "nope.js.j2"],
            id="missing-template",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nendpoints:\n  - {name: a, path: /x}\n  - {name: a, path: /y}\n",
            ["api.yaml", "unique", "a"],
            id="duplicate-endpoint",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nthresholds:\n  http_req_duration: ['p95<500']\n",
            ["api.yaml", "thresholds", "http_req_duration", "unknown aggregation 'p95'"],
            id="bad-threshold-expression",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nthresholds:\n  http_req_duration: [{threshold: p(95)<5, abortonfail: true}]\n",
            ["api.yaml", "thresholds", "unknown key(s) abortonfail"],
            id="threshold-object-typo",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nthresholds:\n  'http_req_duration{name:a': ['p(95)<5']\n",
            ["api.yaml", "thresholds", "http_req_duration{name:a", "must end with '}'"],
            id="bad-threshold-selector",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nthresholds:\n  http_req_duration: ['p(95)<500 for 30']\n",
            ["api.yaml", "thresholds", "http_req_duration", "window '30' is not a duration"],
            id="window-without-unit",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\ngenerator: {cpu_percent: 120}\n",
            ["api.yaml", "generator.cpu_percent", "120"],
            id="generator-cpu-over-100",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\nendpoints:\n  - {name: a, path: /x, thresholds: ['p(95)<abc']}\n",
            ["api.yaml", "endpoints.0", "http_req_duration{name:a}", "'abc' is not a number"],
            id="bad-endpoint-threshold",
        ),
        pytest.param(
            "scenarios/api.yaml",
            "template: api.js.j2\ntracing: {propagator: zipkin}\n",
            ["api.yaml", "tracing.propagator", "'w3c', 'jaeger' or 'b3'", "zipkin"],
            id="tracing-unknown-propagator",
        ),
        pytest.param(
            "environments/staging.yaml",
            "base_url: https://staging.example\ntracing: {sampling: 1.5}\n",
            ["staging.yaml", "tracing.sampling", "1.5"],
            id="tracing-sampling-over-1",
        ),
        pytest.param(
            "environments/staging.yaml",
            "base_url: https://staging.example\ntracing: {links: grafana, url: grafana.example}\n",
            ["staging.yaml", "tracing.url", "http(s)://", "grafana.example"],
            id="tracing-url-without-scheme",
        ),
    ],
)
def test_bad_config_names_file_key_and_value(cfg: Path, file: str, text: str, expected: list[str]):
    (cfg / file).write_text(text)
    with pytest.raises(ConfigError) as info:
        _load(cfg)
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            Overrides(environment="stagin"),
            ["unknown environment", "stagin", "did you mean 'staging'"],
            id="env",
        ),
        pytest.param(Overrides(profile="smok"), ["unknown profile", "smok", "smoke"], id="profile"),
    ],
)
def test_unknown_names(overrides: Overrides, expected: list[str]):
    project = _load(REPO / "configs")
    with pytest.raises(ConfigError) as info:
        select(project, "api", overrides)
    for part in expected:
        assert part in str(info.value)


def test_unknown_scenario():
    with pytest.raises(ConfigError, match="unknown scenario.*'nope'"):
        select(_load(REPO / "configs"), "nope", Overrides())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CONCURRENT_USERS", "lots", "CONCURRENT_USERS"),
        ("CONCURRENT_USERS", "0", "CONCURRENT_USERS"),
        ("TEST_DURATION", "5 minutes", "TEST_DURATION"),
    ],
)
def test_bad_makefile_variables(name: str, value: str, message: str):
    with pytest.raises(ConfigError, match=message):
        Overrides().merged_with_env({name: value})


def test_target_must_be_http():
    with pytest.raises(UsageError, match="http"):
        select(_load(REPO / "configs"), "api", Overrides(target_url="127.0.0.1:8080"))


def test_unknown_analysis_is_caught_when_loading(cfg: Path):
    path = cfg / "scenarios" / "api.yaml"
    path.write_text(path.read_text() + "analyses: [soak, astrology]\n")
    with pytest.raises(ConfigError, match="api.yaml: analyses: unknown analysis.*astrology"):
        _load(cfg)
