"""Injected errors, latency, drift and capacity: relational assertions only (no timing thresholds)."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
import pytest
import requests

BUSINESS = "/api/v1/cluster/status"


async def _fire(url: str, n: int, concurrency: int) -> list[tuple[int, float]]:
    """Send n GETs with at most ``concurrency`` in flight; return (status, seconds) each."""
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one() -> tuple[int, float]:
            async with sem:
                start = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                    return resp.status, time.perf_counter() - start

        return await asyncio.gather(*(one() for _ in range(n)))


def fire(url: str, n: int = 50, concurrency: int = 10) -> list[tuple[int, float]]:
    return asyncio.run(_fire(url, n, concurrency))


def median_s(results: list[tuple[int, float]]) -> float:
    return statistics.median(seconds for _, seconds in results)


@pytest.mark.parametrize("path", ["/api/v1/vms", "/api/v1/db/records/1", "/api/v1/items", BUSINESS])
def test_error_rate_one_fails_every_business_request(make_target, path):
    target = make_target(error_rate=1.0)
    statuses = {status for status, _ in fire(target.url + path, n=40)}
    assert statuses <= {500, 503}
    assert statuses  # both kinds are drawn from one RNG; at least one appears


def test_injected_error_has_json_body(make_target):
    target = make_target(error_rate=1.0)
    resp = requests.get(target.url + BUSINESS, timeout=5)
    assert resp.json()["injected"] is True


def test_error_rate_zero_fails_nothing(make_target):
    target = make_target(error_rate=0.0)
    assert {status for status, _ in fire(target.url + BUSINESS, n=100)} == {200}


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/api/v1/admin/settings"])
def test_control_endpoints_are_never_faulted(make_target, path):
    target = make_target(error_rate=1.0, latency_median_ms=200.0, latency_p99_ms=400.0)
    assert {status for status, _ in fire(target.url + path, n=20)} == {200}
    business = fire(target.url + BUSINESS, n=5, concurrency=5)
    assert median_s(fire(target.url + path, n=20)) < median_s(business)


def test_partial_error_rate_fails_some_but_not_all(make_target):
    target = make_target(error_rate=0.5, seed=3)
    statuses = [status for status, _ in fire(target.url + BUSINESS, n=200)]
    assert 0 < statuses.count(200) < len(statuses)


def test_latency_setting_changes_observed_median(make_target):
    slow = make_target(latency_median_ms=40.0, latency_p99_ms=80.0)
    fast = make_target(latency_median_ms=0.0, latency_p99_ms=0.0)
    assert median_s(fire(slow.url + BUSINESS)) > median_s(fire(fast.url + BUSINESS))


def test_admin_settings_change_latency_and_errors_at_runtime(target):
    baseline = median_s(fire(target.url + BUSINESS))
    resp = requests.post(
        target.url + "/api/v1/admin/settings", json={"latency_median_ms": 40, "latency_p99_ms": 80}, timeout=5
    )
    assert resp.status_code == 200 and resp.json()["latency_median_ms"] == 40.0
    assert median_s(fire(target.url + BUSINESS)) > baseline
    requests.post(target.url + "/api/v1/admin/settings", json={"error_rate": 1.0}, timeout=5)
    assert {s for s, _ in fire(target.url + BUSINESS, n=10)} <= {500, 503}


def test_admin_reset_restores_initial_settings_and_data(target):
    requests.post(target.url + "/api/v1/admin/settings", json={"error_rate": 1.0}, timeout=5)
    requests.post(target.url + "/api/v1/admin/settings", json={"error_rate": 0.0}, timeout=5)
    requests.post(target.url + "/api/v1/vms", json={"name": "extra"}, timeout=5)
    requests.post(target.url + "/api/v1/admin/settings", json={"error_rate": 1.0}, timeout=5)
    reset = requests.post(target.url + "/api/v1/admin/reset", timeout=5)
    assert reset.json()["error_rate"] == 0.0
    names = [vm["name"] for vm in requests.get(target.url + "/api/v1/vms").json()["vms"]]
    assert "extra" not in names and len(names) == 12


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"error_rate": 2}, id="error-rate-above-1"),
        pytest.param({"latency_median_ms": 50, "latency_p99_ms": 10}, id="p99-below-median"),
        pytest.param({"port": 1234}, id="read-only-port"),
        pytest.param({"bogus": 1}, id="unknown-key"),
        pytest.param({"error_rate": "lots"}, id="wrong-type"),
        pytest.param({"capacity_rps": -1}, id="negative-capacity"),
    ],
)
def test_admin_settings_rejects_invalid_values(target, body):
    before = requests.get(target.url + "/api/v1/admin/settings").json()
    resp = requests.post(target.url + "/api/v1/admin/settings", json=body, timeout=5)
    assert resp.status_code == 400
    after = requests.get(target.url + "/api/v1/admin/settings").json()
    assert {k: v for k, v in after.items() if k != "uptime_s"} == {
        k: v for k, v in before.items() if k != "uptime_s"
    }


def test_drift_makes_later_requests_slower(make_target):
    # 60 s of added delay per minute = +1 ms per ms of uptime: later requests wait longer.
    target = make_target(latency_drift_ms_per_min=60_000.0)
    first = fire(target.url + BUSINESS, n=1)[0][1]
    requests.post(target.url + "/api/v1/admin/reset", timeout=5)  # drift clock back to 0 ...
    time.sleep(first * 2)
    second = fire(target.url + BUSINESS, n=1)[0][1]
    assert second > first


def test_db_batch_latency_grows_with_batch_size(make_target):
    target = make_target(latency_median_ms=5.0, latency_p99_ms=10.0)

    def batch_seconds(count: int) -> float:
        start = time.perf_counter()
        assert (
            requests.post(target.url + "/api/v1/db/batch", json={"count": count}, timeout=30).status_code
            == 201
        )
        return time.perf_counter() - start

    assert statistics.median(batch_seconds(2000) for _ in range(3)) > statistics.median(
        batch_seconds(1) for _ in range(3)
    )


def test_vm_create_is_slower_than_read(make_target):
    target = make_target(latency_median_ms=10.0, latency_p99_ms=20.0)

    async def run() -> tuple[list[float], list[float]]:
        async with aiohttp.ClientSession() as session:

            async def timed(method: str, path: str, body: object = None) -> float:
                start = time.perf_counter()
                async with session.request(method, target.url + path, json=body) as resp:
                    await resp.read()
                return time.perf_counter() - start

            creates = await asyncio.gather(
                *(timed("POST", "/api/v1/vms", {"name": f"v{i}"}) for i in range(20))
            )
            reads = await asyncio.gather(*(timed("GET", "/api/v1/vms/x") for _ in range(20)))
            return list(creates), list(reads)

    creates, reads = asyncio.run(run())
    assert statistics.median(creates) > statistics.median(reads)


def test_above_capacity_gives_503s_below_does_not(make_target):
    below = make_target(capacity_rps=100_000.0)
    above = make_target(capacity_rps=20.0)
    below_statuses = [s for s, _ in fire(below.url + BUSINESS, n=60, concurrency=20)]
    above_statuses = [s for s, _ in fire(above.url + BUSINESS, n=60, concurrency=20)]
    assert below_statuses.count(503) == 0
    assert above_statuses.count(503) > 0


def test_above_capacity_latency_climbs(make_target):
    # Mean, not median: requests admitted before the window fills are fast in both cases.
    below = make_target(capacity_rps=100_000.0)
    above = make_target(capacity_rps=40.0)
    ok_below = [s for status, s in fire(below.url + BUSINESS, n=80, concurrency=10) if status == 200]
    ok_above = [s for status, s in fire(above.url + BUSINESS, n=80, concurrency=10) if status == 200]
    assert statistics.mean(ok_above) > statistics.mean(ok_below)
