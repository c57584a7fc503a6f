"""Every scenario runs on the demo target with a very short profile and passes its
thresholds; `vm` leaves no VM behind, also when interrupted."""

from __future__ import annotations

import pytest

from novaload.config.models import ProjectConfig
from novaload.config.resolve import apply_load_overrides
from novaload.scenario.cleanup import cleanup_vms

pytestmark = pytest.mark.k6

ALL = [
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


@pytest.mark.parametrize("name", ALL)
def test_scenario_passes_its_thresholds_with_dev_profile(run_scenario, make_target, name: str) -> None:
    target = make_target()
    run = run_scenario(name, target, profile="dev")
    assert run.exit_code == 0, f"failed thresholds: {run.failed_thresholds()}\n{run.output[-2000:]}"
    assert run.summary["metrics"]["iterations"]["count"] > 0


@pytest.mark.parametrize("name", ["benchmark", "capacity", "stress", "spike"])
def test_scenario_own_load_shortened_passes(
    run_scenario, make_target, project: ProjectConfig, name: str
) -> None:
    """The scenario's own load model (open model / shape), squeezed to a few seconds."""
    scenario = project.scenarios[name]
    base = scenario.load or project.profiles[scenario.default_profile]
    profile = apply_load_overrides(base, 4, "6s")
    run = run_scenario(name, make_target(), profile=profile)
    assert run.exit_code == 0, f"failed thresholds: {run.failed_thresholds()}\n{run.output[-2000:]}"


def _vms_of(target, run_id: str) -> int:
    return target.get(f"/api/v1/vms?tag=run_id:{run_id}")["total"]


def test_vm_reports_its_custom_metrics_and_leaves_no_vm(run_scenario, make_target) -> None:
    target = make_target()
    run = run_scenario("vm", target, profile="dev")
    assert run.exit_code == 0, run.failed_thresholds()
    assert run.metric("vm_creation_duration")["max"] > 0
    assert run.metric("vm_operation_duration")["max"] > 0
    assert run.metric("vm_operation_success")["value"] == 1
    assert _vms_of(target, run.run_id) == 0
    assert target.get("/api/v1/vms?tag=created_by:novaload")["total"] == 0


def test_vm_interrupted_run_leaves_no_vm(run_scenario, make_target, project: ProjectConfig) -> None:
    """Ctrl-C mid-run: k6 still runs teardown, which bulk-deletes the run's VMs."""
    target = make_target()
    scenario = project.scenarios["vm"]
    slow = scenario.model_copy(update={"params": {"vm": {**scenario.params["vm"], "pause_between_ops": 0.5}}})
    profile = project.profiles["smoke"].model_copy(update={"vus": 4, "duration": "30s"})
    run = run_scenario(
        "vm",
        target,
        profile=profile,
        scenario=slow,
        interrupt_after=3.0,
        probe=lambda run_id: _vms_of(target, run_id),
        timeout=60,
    )
    assert run.probe > 0, "no VM existed mid-run: the interrupt proved nothing"
    assert _vms_of(target, run.run_id) == 0, run.output[-2000:]


def test_cleanup_vms_deletes_by_run_id_then_all_novaload_vms(make_target) -> None:
    import json
    import urllib.request

    target = make_target()

    def create(name: str, tags: dict[str, str]) -> None:
        req = urllib.request.Request(
            target.url + "/api/v1/vms",
            method="POST",
            data=json.dumps({"name": name, "tags": tags}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).close()

    seeded = target.get("/api/v1/vms?limit=1")["total"]
    for i in range(3):
        create(f"a{i}", {"run_id": "run-a", "created_by": "novaload"})
    for i in range(2):
        create(f"b{i}", {"run_id": "run-b", "created_by": "novaload"})
    assert cleanup_vms(target.url, run_id="run-a") == 3
    assert _vms_of(target, "run-b") == 2
    assert cleanup_vms(target.url) == 2
    assert target.get("/api/v1/vms?limit=1")["total"] == seeded


def test_cleanup_vms_unreachable_target_is_a_runner_error() -> None:
    from novaload.errors import RunnerError

    with pytest.raises(RunnerError, match="VM cleanup"):
        cleanup_vms("http://127.0.0.1:9", run_id="x", timeout=2)
