"""Every endpoint family answers with the right status and shape."""

from __future__ import annotations

import pytest
import requests

READS = [
    pytest.param("/health", {"status", "service", "version"}, id="health"),
    pytest.param("/ready", {"ready"}, id="ready"),
    pytest.param(
        "/api/v1/cluster/status", {"name", "healthy", "nodes_total", "vms_total", "ts"}, id="cluster-status"
    ),
    pytest.param("/api/v1/cluster/nodes", {"nodes", "total"}, id="cluster-nodes"),
    pytest.param("/api/v1/vms", {"vms", "total", "limit", "offset"}, id="vms"),
    pytest.param("/api/v1/storage/pools", {"pools", "total"}, id="pools"),
    pytest.param("/api/v1/storage/volumes", {"volumes", "total"}, id="volumes"),
    pytest.param("/api/v1/db/query?complexity=simple", {"complexity", "rows", "row_count"}, id="db-simple"),
    pytest.param("/api/v1/db/query?complexity=complex", {"aggregates", "rows", "row_count"}, id="db-complex"),
    pytest.param("/api/v1/db/records/42", {"id", "customer", "amount", "status"}, id="db-record"),
    pytest.param("/api/v1/db/stats", {"transactions", "reads", "writes", "records"}, id="db-stats"),
    pytest.param("/api/v1/federation/clusters", {"clusters", "total"}, id="fed-clusters"),
    pytest.param(
        "/api/v1/federation/clusters/eu-west/health", {"cluster", "status", "checks"}, id="fed-health"
    ),
    pytest.param("/api/v1/items", {"items", "total"}, id="items"),
    pytest.param("/api/v1/items/3", {"id", "name", "price"}, id="item"),
    pytest.param("/api/v1/search?q=nova", {"query", "results", "count"}, id="search"),
    pytest.param(
        "/api/v1/admin/settings", {"error_rate", "latency_median_ms", "capacity_rps"}, id="admin-settings"
    ),
]


@pytest.mark.parametrize(("path", "keys"), READS)
def test_read_endpoints_answer_json_with_expected_keys(target, path, keys):
    resp = requests.get(target.url + path, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert keys <= resp.json().keys()


def test_health_identifies_the_demo_service(target):
    assert requests.get(target.url + "/health", timeout=5).json()["service"] == "novaload-demo"


NOT_FOUND = [
    pytest.param("/api/v1/vms/vm-doesnotexist", id="vm"),
    pytest.param("/api/v1/db/records/99999999", id="record"),
    pytest.param("/api/v1/items/99999999", id="item"),
    pytest.param("/api/v1/federation/clusters/mars/health", id="cluster"),
    pytest.param("/no/such/route", id="route"),
]


@pytest.mark.parametrize("path", NOT_FOUND)
def test_unknown_things_are_404(target, path):
    assert requests.get(target.url + path, timeout=5).status_code == 404


BAD_REQUESTS = [
    pytest.param("post", "/api/v1/vms", {"cpu": 2}, id="vm-without-name"),
    pytest.param("post", "/api/v1/vms", {"name": "x", "cpu": 0}, id="vm-cpu-zero"),
    pytest.param("post", "/api/v1/vms", {"name": "x", "tags": ["a"]}, id="vm-tags-list"),
    pytest.param("post", "/api/v1/storage/volumes", {"name": "v", "pool": "nope"}, id="volume-bad-pool"),
    pytest.param("post", "/api/v1/db/batch", {"count": 0}, id="batch-empty"),
    pytest.param(
        "post",
        "/api/v1/federation/migrations",
        {"name": "a", "from": "eu-west", "to": "eu-west"},
        id="migration-same",
    ),
    pytest.param("delete", "/api/v1/vms", None, id="bulk-delete-without-tag"),
    pytest.param("get", "/api/v1/db/query?complexity=huge", None, id="db-bad-complexity"),
    pytest.param("get", "/api/v1/search", None, id="search-without-q"),
    pytest.param("get", "/api/v1/vms?limit=abc", None, id="vms-bad-limit"),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_invalid_input_is_400_with_json_error(target, method, path, body):
    resp = requests.request(method, target.url + path, json=body, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"] == "bad_request"


def test_non_json_body_is_400(target):
    resp = requests.post(target.url + "/api/v1/items", data=b"{not json", timeout=5)
    assert resp.status_code == 400


def test_volume_create_shows_in_pool_usage(target):
    before = {
        p["name"]: p["used_gb"] for p in requests.get(target.url + "/api/v1/storage/pools").json()["pools"]
    }
    resp = requests.post(
        target.url + "/api/v1/storage/volumes",
        json={"name": "data", "size_gb": 33, "pool": "hdd-pool"},
        timeout=5,
    )
    assert resp.status_code == 201
    assert resp.json()["id"].startswith("vol-")
    after = {
        p["name"]: p["used_gb"] for p in requests.get(target.url + "/api/v1/storage/pools").json()["pools"]
    }
    assert after["hdd-pool"] == before["hdd-pool"] + 33
    assert after["ssd-pool"] == before["ssd-pool"]


def test_db_batch_inserts_records_and_counts_transactions(target):
    before = requests.get(target.url + "/api/v1/db/stats").json()
    resp = requests.post(
        target.url + "/api/v1/db/batch",
        json={"records": [{"customer": f"c{i}", "amount": i} for i in range(25)]},
        timeout=5,
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["count"] == 25
    assert requests.get(f"{target.url}/api/v1/db/records/{body['last_id']}").json()["customer"] == "c24"
    after = requests.get(target.url + "/api/v1/db/stats").json()
    assert after["records"] == before["records"] + 25
    assert after["writes"] == before["writes"] + 25
    assert after["transactions"] == before["transactions"] + 2  # the batch and the record read


def test_federation_sync_and_migration_are_accepted(target):
    vm = requests.post(target.url + "/api/v1/vms", json={"name": "mover"}).json()
    sync = requests.post(target.url + "/api/v1/federation/sync", timeout=5)
    assert sync.status_code == 202
    assert sync.json()["status"] == "completed"
    mig = requests.post(
        target.url + "/api/v1/federation/migrations",
        json={"vm_id": vm["id"], "from": "eu-west", "to": "us-east"},
        timeout=5,
    )
    assert mig.status_code == 202
    assert mig.json()["vm"] == vm["id"]
    missing = requests.post(
        target.url + "/api/v1/federation/migrations",
        json={"vm_id": "vm-gone", "from": "eu-west", "to": "us-east"},
        timeout=5,
    )
    assert missing.status_code == 404


def test_items_post_echoes_body_with_new_id(target):
    resp = requests.post(target.url + "/api/v1/items", json={"name": "widget", "qty": 3}, timeout=5)
    assert resp.status_code == 201
    item = resp.json()
    assert item["name"] == "widget" and item["qty"] == 3
    assert requests.get(f"{target.url}/api/v1/items/{item['id']}").json()["name"] == "widget"


def test_search_returns_only_matching_items(target):
    results = requests.get(target.url + "/api/v1/search?q=nova", timeout=5).json()["results"]
    assert results
    assert all("nova" in item["name"].lower() or item["category"] == "nova" for item in results)
    assert requests.get(target.url + "/api/v1/search?q=zzzzzz", timeout=5).json()["count"] == 0
