"""In-memory state of the demo target: cluster, VMs, storage, database, federation, items.

Everything lives in plain dicts mutated only from the event loop (no await
inside a mutation), which is what makes it safe without locks. Collections that
load tests grow are capped so a long soak cannot exhaust memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

NODES = tuple(f"node-{i:02d}" for i in range(1, 6))
ZONES = ("zone-a", "zone-b", "zone-c")
FED_CLUSTERS = (
    ("eu-west", "europe-west1"),
    ("us-east", "us-east1"),
    ("ap-south", "asia-south1"),
)
POOLS = (("ssd-pool", "ceph", 20_000), ("hdd-pool", "ceph", 120_000), ("nfs-shared", "nfs", 8_000))
VM_ACTIONS = ("start", "stop", "snapshot", "migrate")
SEEDED_RECORDS = 10_000
MAX_VMS = 50_000
MAX_STORED = 100_000  # items, volumes, inserted db records, migrations each
_STATUSES = ("pending", "paid", "shipped", "refunded")
_WORDS = (
    "alpha",
    "nova",
    "quartz",
    "ember",
    "delta",
    "orbit",
    "cobalt",
    "maple",
    "zephyr",
    "lumen",
    "granite",
    "helix",
    "tundra",
    "vertex",
    "saffron",
    "pixel",
)
_CATEGORIES = ("compute", "storage", "network", "security", "analytics")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TransitionError(Exception):
    """A VM action is not allowed in the VM's current state (answered 409)."""


class Store:
    """All business data; ``reset()`` brings it back to the seeded state."""

    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(self._seed)
        self.vms: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.records: dict[int, dict[str, Any]] = {}
        self.migrations: dict[str, dict[str, Any]] = {}
        self.db = {"transactions": 0, "reads": 0, "writes": 0, "batches": 0, "inserted": 0}
        self.syncs = 0
        self._next_record = SEEDED_RECORDS + 1
        self.catalog = [self._catalog_item(i) for i in range(1, 201)]
        self._catalog_names = [item["name"].lower() for item in self.catalog]
        self._page_json: dict[tuple[int, int], str] = {}
        self._next_item = len(self.catalog) + 1
        for i in range(12):
            vm = self.create_vm(f"seed-vm-{i:02d}", 2 + i % 3 * 2, 2048 * (1 + i % 4), {"env": "demo"})
            if i % 3:
                self.vm_action(vm["id"], "start")
        for i in range(8):
            self.create_volume(f"seed-vol-{i:02d}", 20 * (i + 1), POOLS[i % len(POOLS)][0])

    def _id(self, prefix: str, taken: dict[str, Any]) -> str:
        while True:
            candidate = f"{prefix}-{self.rng.getrandbits(40):010x}"
            if candidate not in taken:
                return candidate

    # --- VMs -----------------------------------------------------------------

    def create_vm(self, name: str, cpu: int, memory_mb: int, tags: dict[str, str]) -> dict[str, Any]:
        stamp = now_iso()
        vm_id = self._id("vm", self.vms)
        vm = {
            "id": vm_id,
            "name": name,
            "cpu": cpu,
            "memory_mb": memory_mb,
            "state": "stopped",
            "node": self.rng.choice(NODES),
            "tags": dict(tags),
            "disk_gb": 20 + cpu * 10,
            "ip": f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}",
            "snapshots": [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.vms[vm_id] = vm
        return vm

    def vm_action(self, vm_id: str, action: str) -> dict[str, Any]:
        """Apply a lifecycle action; KeyError if unknown VM, TransitionError if not allowed."""
        vm = self.vms[vm_id]
        state = vm["state"]
        if action == "start":
            _require(state == "stopped", vm, action)
            vm["state"] = "running"
        elif action == "stop":
            _require(state == "running", vm, action)
            vm["state"] = "stopped"
        elif action == "migrate":
            _require(state == "running", vm, action)
            vm["node"] = self.rng.choice([n for n in NODES if n != vm["node"]])
        elif action == "snapshot":
            snap = {"id": f"snap-{self.rng.getrandbits(32):08x}", "created_at": now_iso()}
            vm["snapshots"].append(snap)
            del vm["snapshots"][:-20]
        vm["updated_at"] = now_iso()
        return vm

    def vms_with_tags(self, tags: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        for vm in self.vms.values():
            vm_tags = vm["tags"]
            if all(vm_tags.get(k) == v for k, v in tags):
                yield vm

    def delete_vms_with_tags(self, tags: list[tuple[str, str]]) -> int:
        doomed = [vm["id"] for vm in self.vms_with_tags(tags)]
        for vm_id in doomed:
            del self.vms[vm_id]
        return len(doomed)

    def vm_counts(self) -> dict[str, int]:
        counts = {"running": 0, "stopped": 0}
        for vm in self.vms.values():
            counts[vm["state"]] += 1
        return counts

    # --- cluster --------------------------------------------------------------

    def nodes(self) -> list[dict[str, Any]]:
        per_node = dict.fromkeys(NODES, 0)
        for vm in self.vms.values():
            per_node[vm["node"]] += 1
        return [
            {
                "name": name,
                "status": "ready",
                "zone": ZONES[i % len(ZONES)],
                "cpu_total": 64,
                "memory_total_mb": 262_144,
                "vms": per_node[name],
                "kernel": "6.1.0-27-amd64",
                "hypervisor": "kvm",
            }
            for i, name in enumerate(NODES)
        ]

    # --- storage --------------------------------------------------------------

    def pools(self) -> list[dict[str, Any]]:
        used = dict.fromkeys((p[0] for p in POOLS), 0)
        count = dict.fromkeys(used, 0)
        for vol in self.volumes.values():
            used[vol["pool"]] += vol["size_gb"]
            count[vol["pool"]] += 1
        return [
            {
                "name": n,
                "type": t,
                "capacity_gb": c,
                "used_gb": used[n],
                "volumes": count[n],
                "health": "HEALTH_OK",
            }
            for n, t, c in POOLS
        ]

    def create_volume(self, name: str, size_gb: int, pool: str) -> dict[str, Any]:
        _evict(self.volumes)
        vol: dict[str, Any] = {
            "id": self._id("vol", self.volumes),
            "name": name,
            "size_gb": size_gb,
            "pool": pool,
            "status": "available",
            "created_at": now_iso(),
        }
        self.volumes[vol["id"]] = vol
        return vol

    # --- database -------------------------------------------------------------

    def record(self, record_id: int) -> dict[str, Any] | None:
        if 1 <= record_id <= SEEDED_RECORDS:
            return _seeded_record(record_id)
        return self.records.get(record_id)

    def insert_records(self, rows: list[dict[str, Any]]) -> list[int]:
        ids = []
        stamp = now_iso()
        for row in rows:
            _evict(self.records)
            rid = self._next_record
            self._next_record += 1
            self.records[rid] = {**row, "id": rid, "created_at": stamp}
            ids.append(rid)
        self.db["writes"] += len(rows)
        self.db["inserted"] += len(rows)
        self.db["batches"] += 1
        self.db["transactions"] += 1
        return ids

    def read_tx(self, rows: int = 1) -> None:
        self.db["reads"] += rows
        self.db["transactions"] += 1

    def record_count(self) -> int:
        return SEEDED_RECORDS + len(self.records)

    # --- items ----------------------------------------------------------------

    def _catalog_item(self, i: int) -> dict[str, Any]:
        words = self.rng.sample(_WORDS, 2)
        return {
            "id": i,
            "name": f"{words[0].title()} {words[1].title()} {i}",
            "category": _CATEGORIES[i % len(_CATEGORIES)],
            "price": round(self.rng.uniform(5, 500), 2),
            "stock": self.rng.randrange(0, 1000),
            "tags": sorted(set(self.rng.sample(_WORDS, 3))),
        }

    def catalog_page_json(self, offset: int, limit: int) -> str:
        """The JSON of a catalog page; the catalog never changes, so pages are encoded once."""
        key = (offset, limit)
        page = self._page_json.get(key)
        if page is None:
            page = json.dumps(self.catalog[offset : offset + limit])
            if len(self._page_json) < 1024:
                self._page_json[key] = page
        return page

    def item(self, item_id: int) -> dict[str, Any] | None:
        if 1 <= item_id <= len(self.catalog):
            return self.catalog[item_id - 1]
        return self.items.get(item_id)

    def add_item(self, body: dict[str, Any]) -> dict[str, Any]:
        _evict(self.items)
        item = {**body, "id": self._next_item, "created_at": now_iso()}
        self.items[self._next_item] = item
        self._next_item += 1
        return item

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        q = query.lower()
        hits = []
        for name, item in zip(self._catalog_names, self.catalog):
            if q in name or q == item["category"]:
                hits.append(item)
                if len(hits) >= limit:
                    break
        return hits

    # --- federation -----------------------------------------------------------

    def add_migration(self, vm: str, source: str, target: str) -> dict[str, Any]:
        _evict(self.migrations)
        mig = {
            "id": self._id("mig", self.migrations),
            "vm": vm,
            "from": source,
            "to": target,
            "status": "queued",
            "created_at": now_iso(),
        }
        self.migrations[mig["id"]] = mig
        return mig


def _require(ok: bool, vm: dict[str, Any], action: str) -> None:
    if not ok:
        raise TransitionError(f"cannot {action} VM {vm['id']} in state {vm['state']!r}")


def _evict(store: dict[Any, Any]) -> None:
    # dicts keep insertion order, so the first key is the oldest entry.
    while len(store) >= MAX_STORED:
        del store[next(iter(store))]


def _seeded_record(rid: int) -> dict[str, Any]:
    # Derived from the id instead of stored: 10k records cost no memory or startup time.
    return {
        "id": rid,
        "customer": f"customer-{rid * 7919 % 997:03d}",
        "amount": round(rid * 7919 % 100_000 / 100, 2),
        "currency": "EUR",
        "status": _STATUSES[rid % len(_STATUSES)],
        "created_at": f"2026-01-{1 + rid % 28:02d}T{rid % 24:02d}:{rid % 60:02d}:00Z",
    }
