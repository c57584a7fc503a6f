"""Business endpoints of the demo target (everything under ``/api/v1`` except admin).

Each handler is marked with :func:`business` and a latency weight; the
middleware in :mod:`novaload.target.app` applies delay and injected errors.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from novaload.target.responses import (
    STORE,
    BadRequest,
    business,
    extra_delay,
    int_field,
    json_error,
    json_object,
    query_int,
    str_field,
)
from novaload.target.state import FED_CLUSTERS, MAX_VMS, POOLS, VM_ACTIONS, TransitionError
from novaload.target.tracing import traced_delay

routes = web.RouteTableDef()
_FED_NAMES = {name for name, _ in FED_CLUSTERS}
_POOL_NAMES = {name for name, _, _ in POOLS}
# Lifecycle actions are slower than reads, and differ from each other.
_ACTION_WEIGHT = {"start": 3.0, "stop": 2.0, "snapshot": 5.0, "migrate": 8.0}


def _tags(request: web.Request) -> list[tuple[str, str]]:
    tags = []
    for raw in request.query.getall("tag", []):
        key, sep, value = raw.partition(":")
        if not sep or not key:
            raise BadRequest(f"tag must look like key:value (got {raw!r})")
        tags.append((key, value))
    return tags


def _not_found(kind: str, ident: object) -> web.Response:
    return json_error(404, "not_found", f"{kind} {ident!r} does not exist")


# --- cluster ---------------------------------------------------------------------


@routes.get("/api/v1/cluster/status")
@business(1.0)
async def cluster_status(request: web.Request) -> web.Response:
    store = request.app[STORE]
    counts = store.vm_counts()
    return web.json_response(
        {
            "name": "nova-demo",
            "version": "4.2.1",
            "healthy": True,
            "quorum": True,
            "nodes_total": 5,
            "nodes_ready": 5,
            "vms_total": len(store.vms),
            "vms_running": counts["running"],
            "vms_stopped": counts["stopped"],
            "ts": time.time() * 1000.0,
        }
    )


@routes.get("/api/v1/cluster/nodes")
@business(1.0)
async def cluster_nodes(request: web.Request) -> web.Response:
    nodes = request.app[STORE].nodes()
    return web.json_response({"nodes": nodes, "total": len(nodes)})


# --- VMs -------------------------------------------------------------------------


@routes.get("/api/v1/vms")
@business(1.0)
async def list_vms(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, 10**9)
    state = request.query.get("state")
    vms = [vm for vm in store.vms_with_tags(_tags(request)) if state is None or vm["state"] == state]
    return web.json_response(
        {"vms": vms[offset : offset + limit], "total": len(vms), "limit": limit, "offset": offset}
    )


@routes.post("/api/v1/vms")
@business(4.0)
async def create_vm(request: web.Request) -> web.Response:
    body = await json_object(request)
    name = str_field(body, "name", max_len=63)
    cpu = int_field(body, "cpu", 1, 64, default=1)
    memory_mb = int_field(body, "memory_mb", 128, 262_144, default=1024)
    tags = body.get("tags", {})
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise BadRequest("tags must be an object of string values")
    store = request.app[STORE]
    if len(store.vms) >= MAX_VMS:
        return json_error(422, "quota_exceeded", f"at most {MAX_VMS} VMs; delete some first")
    vm = store.create_vm(name, cpu, memory_mb, tags)
    return web.json_response(vm, status=201, headers={"Location": f"/api/v1/vms/{vm['id']}"})


@routes.delete("/api/v1/vms")
@business(3.0)
async def delete_vms_by_tag(request: web.Request) -> web.Response:
    tags = _tags(request)
    if not tags:
        raise BadRequest("bulk delete needs at least one tag=key:value filter")
    deleted = request.app[STORE].delete_vms_with_tags(tags)
    return web.json_response({"deleted": deleted, "tags": dict(tags)})


@routes.get("/api/v1/vms/{id}")
@business(0.8)
async def get_vm(request: web.Request) -> web.Response:
    vm = request.app[STORE].vms.get(request.match_info["id"])
    return web.json_response(vm) if vm else _not_found("VM", request.match_info["id"])


@routes.delete("/api/v1/vms/{id}")
@business(2.0)
async def delete_vm(request: web.Request) -> web.Response:
    vm = request.app[STORE].vms.pop(request.match_info["id"], None)
    if vm is None:
        return _not_found("VM", request.match_info["id"])
    return web.json_response({"id": vm["id"], "deleted": True})


@routes.post("/api/v1/vms/{id}/actions/{action}")
@business(1.0)
async def vm_action(request: web.Request) -> web.Response:
    vm_id, action = request.match_info["id"], request.match_info["action"]
    if action not in VM_ACTIONS:
        return json_error(404, "unknown_action", f"action must be one of {', '.join(VM_ACTIONS)}")
    store = request.app[STORE]
    if vm_id not in store.vms:
        return _not_found("VM", vm_id)
    await extra_delay(request, _ACTION_WEIGHT[action] - 1.0)
    try:
        # Re-read after the await: the VM may have been deleted meanwhile.
        vm = store.vm_action(vm_id, action)
    except KeyError:
        return _not_found("VM", vm_id)
    except TransitionError as exc:
        return json_error(409, "invalid_transition", str(exc), state=store.vms[vm_id]["state"])
    return web.json_response(vm)


# --- storage ---------------------------------------------------------------------


@routes.get("/api/v1/storage/pools")
@business(1.0)
async def storage_pools(request: web.Request) -> web.Response:
    pools = request.app[STORE].pools()
    return web.json_response({"pools": pools, "total": len(pools)})


@routes.get("/api/v1/storage/volumes")
@business(1.0)
async def storage_volumes(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit = query_int(request, "limit", 100, 1, 1000)
    pool = request.query.get("pool")
    vols = [v for v in store.volumes.values() if pool is None or v["pool"] == pool]
    return web.json_response({"volumes": vols[:limit], "total": len(vols)})


@routes.post("/api/v1/storage/volumes")
@business(3.0)
async def create_volume(request: web.Request) -> web.Response:
    body = await json_object(request)
    name = str_field(body, "name")
    size_gb = int_field(body, "size_gb", 1, 65_536, default=10)
    pool = str_field(body, "pool", default="ssd-pool")
    if pool not in _POOL_NAMES:
        raise BadRequest(f"pool must be one of {sorted(_POOL_NAMES)} (got {pool!r})")
    return web.json_response(request.app[STORE].create_volume(name, size_gb, pool), status=201)


# --- database --------------------------------------------------------------------


@routes.get("/api/v1/db/query")
@business(1.0)
async def db_query(request: web.Request) -> web.Response:
    complexity = request.query.get("complexity", "simple")
    if complexity not in ("simple", "complex"):
        raise BadRequest(f"complexity must be simple or complex (got {complexity!r})")
    store = request.app[STORE]
    start = store.rng.randrange(1, 9_900)
    if complexity == "simple":
        rows = [store.record(i) for i in range(start, start + 10)]
        store.read_tx(len(rows))
        return web.json_response({"complexity": complexity, "rows": rows, "row_count": len(rows)})
    await extra_delay(request, 4.0)  # a join + aggregate costs several simple reads
    rows = [store.record(i) for i in range(start, start + 50)]
    by_status: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row is not None  # seeded records (1..SEEDED_RECORDS) always exist
        agg = by_status.setdefault(str(row["status"]), {"count": 0, "amount": 0.0})
        agg["count"] += 1
        agg["amount"] = round(agg["amount"] + row["amount"], 2)
    store.read_tx(len(rows))
    return web.json_response(
        {"complexity": complexity, "aggregates": by_status, "rows": rows[:10], "row_count": len(rows)}
    )


@routes.get("/api/v1/db/records/{id}")
@business(0.5)
async def db_record(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    record = request.app[STORE].record(int(raw)) if raw.isdigit() else None
    if record is None:
        return _not_found("record", raw)
    request.app[STORE].read_tx()
    return web.json_response(record)


@routes.post("/api/v1/db/batch")
@business(2.0)
async def db_batch(request: web.Request) -> web.Response:
    body = await json_object(request)
    records = body.get("records")
    if records is None:
        count = int_field(body, "count", 1, 10_000)
        records = [{"customer": f"batch-{i}", "amount": 1.0} for i in range(count)]
    if (
        not isinstance(records, list)
        or not 1 <= len(records) <= 10_000
        or not all(isinstance(r, dict) for r in records)
    ):
        raise BadRequest("records must be a list of 1..10000 objects (or give count)")
    await extra_delay(request, len(records) / 100.0)  # writing N rows takes time in N
    ids = request.app[STORE].insert_records(records)
    return web.json_response({"count": len(ids), "first_id": ids[0], "last_id": ids[-1]}, status=201)


@routes.get("/api/v1/db/stats")
@business(0.5)
async def db_stats(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return web.json_response({**store.db, "records": store.record_count()})


# --- federation ------------------------------------------------------------------


@routes.get("/api/v1/federation/clusters")
@business(1.0)
async def fed_clusters(request: web.Request) -> web.Response:
    clusters = [
        {"name": n, "region": r, "status": "connected", "nodes": 5 + i * 2, "api_version": "v1"}
        for i, (n, r) in enumerate(FED_CLUSTERS)
    ]
    return web.json_response({"clusters": clusters, "total": len(clusters)})


@routes.get("/api/v1/federation/clusters/{name}/health")
@business(1.5)
async def fed_health(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _FED_NAMES:
        return _not_found("cluster", name)
    checks = [{"name": c, "status": "pass"} for c in ("api", "etcd", "scheduler", "storage")]
    return web.json_response(
        {"cluster": name, "status": "healthy", "checks": checks, "ts": time.time() * 1000.0}
    )


@routes.post("/api/v1/federation/sync")
@business(6.0)
async def fed_sync(request: web.Request) -> web.Response:
    store = request.app[STORE]
    store.syncs += 1
    return web.json_response(
        {
            "sync_id": store.syncs,
            "status": "completed",
            "clusters": sorted(_FED_NAMES),
            "objects_synced": len(store.vms),
        },
        status=202,
    )


@routes.post("/api/v1/federation/migrations")
@business(5.0)
async def fed_migration(request: web.Request) -> web.Response:
    body = await json_object(request)
    vm = body.get("vm_id") or body.get("name")
    if not isinstance(vm, str) or not vm:
        raise BadRequest("give vm_id or name")
    source, target = body.get("from"), body.get("to")
    if source not in _FED_NAMES or target not in _FED_NAMES or source == target:
        raise BadRequest(f"from and to must be two different clusters of {sorted(_FED_NAMES)}")
    store = request.app[STORE]
    if "vm_id" in body and vm not in store.vms:
        return _not_found("VM", vm)
    return web.json_response(store.add_migration(vm, source, target), status=202)


# --- items -----------------------------------------------------------------------


@routes.get("/api/v1/items")
@business(1.0)
async def list_items(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit = query_int(request, "limit", 20, 1, 200)
    offset = query_int(request, "offset", 0, 0, 10**9)
    total = len(store.catalog) + len(store.items)
    # Hand-assembled around the cached page: list_items is the hottest read of the api scenario.
    body = (
        f'{{"items": {store.catalog_page_json(offset, limit)}, "total": {total}, '
        f'"limit": {limit}, "offset": {offset}}}'
    )
    return web.Response(text=body, content_type="application/json")


@routes.get("/api/v1/items/{id}")
@business(0.7)
async def get_item(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    item = request.app[STORE].item(int(raw)) if raw.isdigit() else None
    return web.json_response(item) if item else _not_found("item", raw)


@routes.post("/api/v1/items")
@business(2.0)
async def create_item(request: web.Request) -> web.Response:
    body = await json_object(request)
    return web.json_response(request.app[STORE].add_item(body), status=201)


# --- reports ---------------------------------------------------------------------

# The usage report is slow on purpose: an aggregate over every VM's month of samples. It is
# the path a traced run's slowest requests (its exemplars) point at, with its own span.
USAGE_REPORT_MS = 120.0  # at least this long, plus ten base-latency samples


@routes.get("/api/v1/reports/usage")
@business(1.0)
async def usage_report(request: web.Request) -> web.Response:
    started = time.perf_counter()
    async with traced_delay(request, "aggregate usage"):
        await asyncio.sleep(USAGE_REPORT_MS / 1000.0)
        await extra_delay(request, 10.0)
    counts = request.app[STORE].vm_counts()
    return web.json_response(
        {
            "period_days": 30,
            "vms": sum(counts.values()),
            "running": counts["running"],
            "generated_ms": round((time.perf_counter() - started) * 1000, 3),
        }
    )


@routes.get("/api/v1/search")
@business(1.5)
async def search(request: web.Request) -> web.Response:
    query = request.query.get("q", "")
    if not query:
        raise BadRequest("query parameter q is required")
    limit = query_int(request, "limit", 20, 1, 100)
    hits = request.app[STORE].search(query, limit)
    return web.json_response({"query": query, "results": hits, "count": len(hits)})
