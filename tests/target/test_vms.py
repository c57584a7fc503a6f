"""The VM API: create/get/delete, the lifecycle state machine, tags."""

from __future__ import annotations

import pytest
import requests


def _create(url: str, name: str, **tags: str) -> dict:
    resp = requests.post(
        url + "/api/v1/vms", json={"name": name, "cpu": 2, "memory_mb": 2048, "tags": tags}, timeout=5
    )
    assert resp.status_code == 201
    return resp.json()


def _act(url: str, vm_id: str, action: str) -> requests.Response:
    return requests.post(f"{url}/api/v1/vms/{vm_id}/actions/{action}", timeout=5)


def test_create_returns_id_and_vm_is_readable(target):
    vm = _create(target.url, "web-1", run_id="r1")
    assert vm["id"].startswith("vm-")
    assert vm["state"] == "stopped"
    got = requests.get(f"{target.url}/api/v1/vms/{vm['id']}", timeout=5).json()
    assert got["name"] == "web-1" and got["tags"] == {"run_id": "r1"}


def test_delete_removes_vm(target):
    vm = _create(target.url, "tmp")
    assert requests.delete(f"{target.url}/api/v1/vms/{vm['id']}", timeout=5).status_code == 200
    assert requests.get(f"{target.url}/api/v1/vms/{vm['id']}", timeout=5).status_code == 404
    assert requests.delete(f"{target.url}/api/v1/vms/{vm['id']}", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("setup", "action", "status", "state"),
    [
        pytest.param([], "start", 200, "running", id="stopped-start"),
        pytest.param([], "stop", 409, "stopped", id="stopped-stop"),
        pytest.param([], "migrate", 409, "stopped", id="stopped-migrate"),
        pytest.param([], "snapshot", 200, "stopped", id="stopped-snapshot"),
        pytest.param(["start"], "start", 409, "running", id="running-start"),
        pytest.param(["start"], "stop", 200, "stopped", id="running-stop"),
        pytest.param(["start"], "migrate", 200, "running", id="running-migrate"),
        pytest.param(["start"], "snapshot", 200, "running", id="running-snapshot"),
        pytest.param(["start", "stop"], "start", 200, "running", id="restart"),
    ],
)
def test_lifecycle_transitions(target, setup, action, status, state):
    vm = _create(target.url, "life")
    for step in setup:
        assert _act(target.url, vm["id"], step).status_code == 200
    resp = _act(target.url, vm["id"], action)
    assert resp.status_code == status
    if status == 409:
        assert resp.json()["error"] == "invalid_transition"
    assert requests.get(f"{target.url}/api/v1/vms/{vm['id']}").json()["state"] == state


def test_migrate_moves_to_another_node_and_snapshot_is_recorded(target):
    vm = _create(target.url, "mig")
    _act(target.url, vm["id"], "start")
    moved = _act(target.url, vm["id"], "migrate").json()
    assert moved["node"] != vm["node"]
    snap = _act(target.url, vm["id"], "snapshot").json()
    assert len(snap["snapshots"]) == 1


def test_unknown_action_and_unknown_vm(target):
    vm = _create(target.url, "x")
    assert _act(target.url, vm["id"], "explode").status_code == 404
    assert _act(target.url, "vm-nothere", "start").status_code == 404


def test_tag_filter_lists_only_tagged_vms(target):
    mine = {_create(target.url, f"a{i}", run_id="XYZ")["id"] for i in range(3)}
    _create(target.url, "other", run_id="OTHER")
    listed = requests.get(target.url + "/api/v1/vms", params={"tag": "run_id:XYZ"}, timeout=5).json()
    assert {vm["id"] for vm in listed["vms"]} == mine
    assert listed["total"] == 3


def test_tag_cleanup_deletes_exactly_the_tagged_vms(target):
    all_before = {vm["id"] for vm in requests.get(target.url + "/api/v1/vms").json()["vms"]}
    mine = {_create(target.url, f"b{i}", run_id="XYZ", team="qa")["id"] for i in range(4)}
    other = _create(target.url, "keep", run_id="XYZ2")["id"]
    resp = requests.delete(target.url + "/api/v1/vms", params={"tag": "run_id:XYZ"}, timeout=5)
    assert resp.status_code == 200
    assert resp.json()["deleted"] == len(mine)
    remaining = {vm["id"] for vm in requests.get(target.url + "/api/v1/vms").json()["vms"]}
    assert remaining == all_before | {other}
    again = requests.delete(target.url + "/api/v1/vms", params={"tag": "run_id:XYZ"}, timeout=5)
    assert again.json()["deleted"] == 0


def test_state_filter(target):
    listed = requests.get(target.url + "/api/v1/vms", params={"state": "running"}).json()["vms"]
    assert listed and all(vm["state"] == "running" for vm in listed)
