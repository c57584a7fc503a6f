"""The demo target's own OpenAPI 3.1 description, served at ``/openapi.json``.

It describes every HTTP route the application registers (a test compares the two),
with examples that are valid against a freshly started target, so that
``novaload import openapi http://…/openapi.json`` yields a scenario that runs green.
Operations a weighted random mix cannot drive correctly (they need an id created
earlier in the same iteration, or they change the target's own behaviour) carry
``x-novaload-skip`` with the reason; the importer lists them instead of generating them.
WebSocket streams (``/ws/*``) are not HTTP operations and are described in ``info``.
"""

from __future__ import annotations

from typing import Any

from novaload import __version__
from novaload.target.state import FED_CLUSTERS, POOLS, VM_ACTIONS
from novaload.target.ws import STREAM_NAMES

_NEEDS_VM = "needs the id of a VM created earlier in the same iteration (VM ids are random per start)"
_ADMIN = "changes the demo target's own behaviour; not load-test traffic"


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERRORS = {
    "400": _json(_ref("Error"), "Invalid request"),
    "500": _json(_ref("Error"), "Injected error (error_rate)"),
    "503": _json(_ref("Error"), "Overloaded (capacity_rps)"),
}
_NOT_FOUND = {"404": _json(_ref("Error"), "Not found")}


def _param(
    name: str, where: str, schema: dict[str, Any], *, required: bool = False, example: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
    }
    if example is not None:
        out["example"] = example
    return out


def _op(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    skip: str | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
    }
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": body}}
    if skip:
        op["x-novaload-skip"] = skip
    return op


_LIMIT = {"$ref": "#/components/parameters/limit"}
_OFFSET = {"$ref": "#/components/parameters/offset"}
_VM_ID = _param("id", "path", {"type": "string", "pattern": "^vm-[0-9a-f]{10}$"}, example="vm-0000000000")
_FED = [name for name, _ in FED_CLUSTERS]
_POOL_NAMES = [name for name, _, _ in POOLS]


def _paths() -> dict[str, Any]:
    return {
        "/health": {"get": _op("health", "Liveness and version", "control", {"200": _json(_ref("Health"))})},
        "/ready": {"get": _op("ready", "Readiness", "control", {"200": _json({"type": "object"})})},
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus text exposition of the target's own metrics",
                "control",
                {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            )
        },
        "/openapi.json": {
            "get": _op("openapi", "This document", "control", {"200": _json({"type": "object"})})
        },
        "/api/v1/admin/settings": {
            "get": _op(
                "get_settings",
                "Current latency/error/drift/capacity settings",
                "admin",
                {"200": _json({"type": "object"})},
            ),
            "post": _op(
                "set_settings",
                "Change settings at runtime (partial update)",
                "admin",
                {"200": _json({"type": "object"}), **_ERRORS},
                body={"schema": {"type": "object"}, "example": {"error_rate": 0.0}},
                skip=_ADMIN,
            ),
        },
        "/api/v1/admin/reset": {
            "post": _op(
                "reset",
                "Back to the seeded state and the initial settings",
                "admin",
                {"200": _json({"type": "object"})},
                skip=_ADMIN,
            ),
        },
        "/api/v1/cluster/status": {
            "get": _op(
                "cluster_status",
                "Cluster health summary",
                "cluster",
                {"200": _json({"type": "object"}), **_ERRORS},
            )
        },
        "/api/v1/cluster/nodes": {
            "get": _op(
                "cluster_nodes",
                "Nodes of the cluster",
                "cluster",
                {"200": _json({"type": "object"}), **_ERRORS},
            )
        },
        "/api/v1/vms": {
            "get": _op(
                "list_vms",
                "List VMs",
                "vms",
                {
                    "200": _json(
                        {"type": "object", "properties": {"vms": {"type": "array", "items": _ref("VM")}}}
                    ),
                    **_ERRORS,
                },
                parameters=[
                    _LIMIT,
                    _OFFSET,
                    _param("state", "query", {"type": "string", "enum": ["running", "stopped"]}),
                ],
            ),
            "post": _op(
                "create_vm",
                "Create a VM (stopped)",
                "vms",
                {
                    "201": _json(_ref("VM"), "Created"),
                    "422": _json(_ref("Error"), "Quota exceeded"),
                    **_ERRORS,
                },
                body={"schema": _ref("NewVM")},
            ),
            "delete": _op(
                "delete_vms_by_tag",
                "Delete every VM carrying all given tags",
                "vms",
                {"200": _json({"type": "object"}), **_ERRORS},
                parameters=[
                    _param(
                        "tag",
                        "query",
                        {"type": "array", "items": {"type": "string"}},
                        required=True,
                        example=["suite:novaload-import"],
                    )
                ],
            ),
        },
        "/api/v1/vms/{id}": {
            "get": _op(
                "get_vm",
                "One VM",
                "vms",
                {"200": _json(_ref("VM")), **_NOT_FOUND, **_ERRORS},
                parameters=[_VM_ID],
                skip=_NEEDS_VM,
            ),
            "delete": _op(
                "delete_vm",
                "Delete one VM",
                "vms",
                {"200": _json({"type": "object"}), **_NOT_FOUND, **_ERRORS},
                parameters=[_VM_ID],
                skip=_NEEDS_VM,
            ),
        },
        "/api/v1/vms/{id}/actions/{action}": {
            "post": _op(
                "vm_action",
                "Lifecycle action on a VM",
                "vms",
                {
                    "200": _json(_ref("VM")),
                    **_NOT_FOUND,
                    "409": _json(_ref("Error"), "Not allowed in this state"),
                    **_ERRORS,
                },
                parameters=[_VM_ID, _param("action", "path", {"type": "string", "enum": list(VM_ACTIONS)})],
                skip=_NEEDS_VM,
            ),
        },
        "/api/v1/storage/pools": {
            "get": _op(
                "storage_pools", "Storage pools", "storage", {"200": _json({"type": "object"}), **_ERRORS}
            )
        },
        "/api/v1/storage/volumes": {
            "get": _op(
                "storage_volumes",
                "Volumes, optionally of one pool",
                "storage",
                {"200": _json({"type": "object"}), **_ERRORS},
                parameters=[_LIMIT, _param("pool", "query", {"type": "string", "enum": _POOL_NAMES})],
            ),
            "post": _op(
                "create_volume",
                "Create a volume",
                "storage",
                {"201": _json({"type": "object"}, "Created"), **_ERRORS},
                body={
                    "schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "maxLength": 128, "example": "novaload-volume"},
                            "size_gb": {"type": "integer", "minimum": 1, "maximum": 65536, "default": 10},
                            "pool": {"type": "string", "enum": _POOL_NAMES},
                        },
                    }
                },
            ),
        },
        "/api/v1/db/query": {
            "get": _op(
                "db_query",
                "A simple read or a join with aggregates",
                "database",
                {"200": _json({"type": "object"}), **_ERRORS},
                parameters=[
                    _param(
                        "complexity",
                        "query",
                        {"type": "string", "enum": ["simple", "complex"], "default": "simple"},
                    )
                ],
            ),
        },
        "/api/v1/db/records/{id}": {
            "get": _op(
                "db_record",
                "One record (1..10000 are seeded)",
                "database",
                {"200": _json({"type": "object"}), **_NOT_FOUND, **_ERRORS},
                parameters=[_param("id", "path", {"type": "integer", "minimum": 1}, example=42)],
            ),
        },
        "/api/v1/db/batch": {
            "post": _op(
                "db_batch",
                "Insert records in one transaction",
                "database",
                {"201": _json({"type": "object"}, "Created"), **_ERRORS},
                body={
                    "schema": {
                        "type": "object",
                        "properties": {
                            "count": {"type": "integer", "minimum": 1, "maximum": 10000},
                            "records": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "example": {"count": 5},
                },
            ),
        },
        "/api/v1/db/stats": {
            "get": _op(
                "db_stats", "Transaction counters", "database", {"200": _json({"type": "object"}), **_ERRORS}
            )
        },
        "/api/v1/federation/clusters": {
            "get": _op(
                "federation_clusters",
                "Federated clusters",
                "federation",
                {"200": _json({"type": "object"}), **_ERRORS},
            )
        },
        "/api/v1/federation/clusters/{name}/health": {
            "get": _op(
                "federation_health",
                "Health of one federated cluster",
                "federation",
                {"200": _json({"type": "object"}), **_NOT_FOUND, **_ERRORS},
                parameters=[_param("name", "path", {"type": "string", "enum": _FED})],
            ),
        },
        "/api/v1/federation/sync": {
            "post": _op(
                "federation_sync",
                "Synchronise the federation",
                "federation",
                {"202": _json({"type": "object"}, "Accepted"), **_ERRORS},
            ),
        },
        "/api/v1/federation/migrations": {
            "post": _op(
                "federation_migration",
                "Queue a migration between two clusters",
                "federation",
                {"202": _json({"type": "object"}, "Accepted"), **_NOT_FOUND, **_ERRORS},
                body={
                    "schema": {
                        "type": "object",
                        "required": ["name", "from", "to"],
                        "properties": {
                            "vm_id": {"type": "string", "description": "an existing VM (404 if unknown)"},
                            "name": {"type": "string", "example": "novaload-vm"},
                            "from": {"type": "string", "enum": _FED, "example": _FED[0]},
                            "to": {"type": "string", "enum": _FED, "example": _FED[1]},
                        },
                    },
                    "example": {"name": "novaload-vm", "from": _FED[0], "to": _FED[1]},
                },
            ),
        },
        "/api/v1/items": {
            "get": _op(
                "list_items",
                "A page of the catalog",
                "items",
                {"200": _json({"type": "object"}), **_ERRORS},
                parameters=[_LIMIT, _OFFSET],
            ),
            "post": _op(
                "create_item",
                "Store an item (any JSON object)",
                "items",
                {"201": _json(_ref("Item"), "Created"), **_ERRORS},
                body={"schema": _ref("Item")},
            ),
        },
        "/api/v1/items/{id}": {
            "get": _op(
                "get_item",
                "One item (1..200 are the catalog)",
                "items",
                {"200": _json(_ref("Item")), **_NOT_FOUND, **_ERRORS},
                parameters=[
                    _param("id", "path", {"type": "integer", "minimum": 1, "maximum": 200}, example=42)
                ],
            ),
        },
        "/api/v1/reports/usage": {
            "get": _op(
                "usage_report",
                "The month's usage report (slow on purpose: 120 ms and more)",
                "reports",
                {"200": _json({"type": "object"}), **_ERRORS},
            ),
        },
        "/api/v1/search": {
            "get": _op(
                "search",
                "Search the catalog by name or category",
                "items",
                {"200": _json({"type": "object"}), **_ERRORS},
                parameters=[
                    _param("q", "query", {"type": "string", "minLength": 1}, required=True, example="nova"),
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100}),
                ],
            ),
        },
    }


def _components() -> dict[str, Any]:
    return {
        "parameters": {
            "limit": _param(
                "limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}
            ),
            "offset": _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}),
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "injected": {"type": "boolean"},
                },
            },
            "Health": {
                "type": "object",
                "properties": {
                    "status": {"const": "ok"},
                    "service": {"type": "string"},
                    "version": {"type": "string"},
                    "uptime_s": {"type": "number"},
                },
            },
            "NewVM": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 63, "example": "novaload-vm"},
                    "cpu": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1},
                    "memory_mb": {"type": "integer", "minimum": 128, "maximum": 262144, "default": 1024},
                    # The bulk delete of the same tag cleans up what a test created.
                    "tags": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "example": {"suite": "novaload-import"},
                    },
                },
            },
            "VM": {
                "allOf": [
                    _ref("NewVM"),
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "readOnly": True},
                            "state": {"type": "string", "enum": ["running", "stopped"], "readOnly": True},
                            "node": {"type": "string", "readOnly": True},
                        },
                    },
                ]
            },
            "Item": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "name": {"type": "string", "example": "novaload-item"},
                    "kind": {"type": "string", "example": "demo"},
                    "created_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the demo target (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "novaload demo target",
            "version": __version__,
            "description": (
                "The REST API of novaload's demo service. WebSocket streams are served at "
                + ", ".join(f"/ws/{name}" for name in STREAM_NAMES)
                + " (not described here: they are not HTTP operations)."
            ),
            "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": _components(),
    }


__all__ = ["openapi_document"]
