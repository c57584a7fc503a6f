"""Every scenario renders for every environment and passes `k6 inspect`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from novaload.config.models import ProjectConfig
from novaload.config.resolve import Overrides, select
from novaload.scenario.render import render

SCENARIOS = [
    "api",
    "vm",
    "websocket",
    "database",
    "federation",
    "mixed",
    "stress",
    "soak",
    "spike",
    "benchmark",
    "capacity",
]
ENVIRONMENTS = ["local", "staging", "production"]


def test_every_scenario_is_configured(project: ProjectConfig) -> None:
    assert sorted(project.scenarios) == sorted(SCENARIOS)


@pytest.mark.k6
@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_renders_and_passes_k6_inspect(
    project: ProjectConfig, k6_bin: str, tmp_path: Path, name: str, environment: str
) -> None:
    sel = select(project, name, Overrides(environment=environment))
    rendered = render(sel.scenario, sel.environment, sel.profile)
    script = rendered.write(tmp_path / f"{name}.js")
    # No secrets in the environment: the script must still load (refs resolve to "").
    proc = subprocess.run(
        [k6_bin, "inspect", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    options = json.loads(proc.stdout)
    assert set(options["scenarios"]) == set(rendered.options["scenarios"])
    assert set(options["thresholds"]) == set(sel.scenario.all_thresholds)
    assert "${" not in json.dumps(rendered.config["headers"]) or environment != "local"


def test_mixed_runs_each_workload_as_its_own_k6_scenario(project: ProjectConfig) -> None:
    sel = select(project, "mixed", Overrides(profile="smoke"))
    options = render(sel.scenario, sel.environment, sel.profile).options
    assert {n: s["exec"] for n, s in options["scenarios"].items()} == {
        "api": "api",
        "vm": "vm",
        "database": "database",
        "federation": "federation",
        "websocket": "websocket",
    }
    assert all(s["tags"]["component"] == n for n, s in options["scenarios"].items())
    assert any("{scenario:" in k for k in options["thresholds"])


@pytest.mark.parametrize("name", ["benchmark", "capacity"])
def test_scenario_load_is_default_and_profile_wins(project: ProjectConfig, name: str) -> None:
    own = select(project, name, Overrides())
    assert own.profile == project.scenarios[name].load
    chosen = select(project, name, Overrides(profile="dev"))
    assert chosen.profile.name == "dev"


def test_benchmark_is_a_fixed_arrival_rate(project: ProjectConfig) -> None:
    sel = select(project, "benchmark", Overrides())
    executor = render(sel.scenario, sel.environment, sel.profile).options["scenarios"]["benchmark"]
    assert executor["executor"] == "constant-arrival-rate"


def test_capacity_steps_up_the_arrival_rate(project: ProjectConfig) -> None:
    sel = select(project, "capacity", Overrides())
    executor = render(sel.scenario, sel.environment, sel.profile).options["scenarios"]["capacity"]
    assert executor["executor"] == "ramping-arrival-rate"
    targets = [s["target"] for s in executor["stages"]]
    assert targets == sorted(targets) and len(set(targets)) > 5


def test_capacity_load_scales_with_concurrent_users(project: ProjectConfig) -> None:
    sel = select(project, "capacity", Overrides(vus=30, duration="24s"))
    assert sel.profile.shape is not None
    assert (sel.profile.shape.peak, sel.profile.shape.duration) == (30, "24s")
