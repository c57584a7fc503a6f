"""WebSocket endpoints: three server-push streams and an echo console.

Every pushed message carries ``"ts"``: the server's wall clock in ms since the
epoch (float), so a k6 script can compute message latency as ``Date.now() - ts``.
Query parameters: ``interval_ms`` overrides the push interval, ``count`` makes
the server close the stream cleanly after that many messages.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from novaload.target.responses import (
    CONDITIONS,
    STORE,
    WS_CLIENTS,
    WS_SOCKETS,
    BadRequest,
    query_int,
)
from novaload.target.state import NODES, Store

Payload = Callable[[Store, random.Random], dict[str, Any]]
_SEVERITIES = ("info", "info", "info", "warning", "warning", "critical")
_ALERTS = ("HighCPUUsage", "DiskPressure", "VMUnreachable", "SnapshotSlow", "ReplicationLag")
_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR")
_LOGGERS = ("scheduler", "api", "storage.ceph", "network.ovs", "federation")
_MESSAGES = (
    "placed VM on node",
    "volume attached",
    "heartbeat received",
    "sync finished",
    "retrying request",
    "snapshot committed",
)


def _metrics_payload(store: Store, rng: random.Random) -> dict[str, Any]:
    return {
        "node": rng.choice(NODES),
        "cpu_pct": round(rng.uniform(5, 95), 1),
        "mem_pct": round(rng.uniform(20, 90), 1),
        "net_rx_kbps": rng.randrange(100, 90_000),
        "net_tx_kbps": rng.randrange(100, 90_000),
        "vms_total": len(store.vms),
    }


def _alerts_payload(store: Store, rng: random.Random) -> dict[str, Any]:
    return {
        "alert": rng.choice(_ALERTS),
        "severity": rng.choice(_SEVERITIES),
        "node": rng.choice(NODES),
        "state": rng.choice(("firing", "resolved")),
    }


def _logs_payload(store: Store, rng: random.Random) -> dict[str, Any]:
    return {
        "level": rng.choice(_LEVELS),
        "logger": rng.choice(_LOGGERS),
        "message": rng.choice(_MESSAGES),
        "request_id": f"{rng.getrandbits(64):016x}",
    }


STREAMS: dict[str, Payload] = {"metrics": _metrics_payload, "alerts": _alerts_payload, "logs": _logs_payload}
STREAM_NAMES = (*STREAMS, "console")


async def _push(
    ws: web.WebSocketResponse, request: web.Request, stream: str, interval_ms: int | None, count: int
) -> None:
    store, conditions = request.app[STORE], request.app[CONDITIONS]
    make = STREAMS[stream]
    loop = asyncio.get_running_loop()
    deadline = loop.time()
    seq = 0
    while not ws.closed and (count == 0 or seq < count):
        seq += 1
        message = {"type": stream, "seq": seq, "ts": time.time() * 1000.0, **make(store, store.rng)}
        await ws.send_str(json.dumps(message))
        # Fixed-rate schedule (not sleep-after-send) so the rate does not drift.
        deadline += (interval_ms or conditions.settings.ws_interval_ms) / 1000.0
        await asyncio.sleep(max(0.0, deadline - loop.time()))
    if count and not ws.closed:
        await ws.close()


async def _stream_handler(request: web.Request, stream: str) -> web.WebSocketResponse:
    try:
        interval = query_int(request, "interval_ms", 0, 1, 60_000) or None
        count = query_int(request, "count", 0, 0, 10**9)
    except BadRequest as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    _track(request, ws, stream, +1)
    sender = asyncio.create_task(_push(ws, request, stream, interval, count))
    try:
        async for _ in ws:  # drain until the client (or the sender) closes
            pass
    finally:
        _track(request, ws, stream, -1)
        sender.cancel()
        with suppress(asyncio.CancelledError, ConnectionError):
            await sender
    return ws


async def ws_metrics(request: web.Request) -> web.WebSocketResponse:
    return await _stream_handler(request, "metrics")


async def ws_alerts(request: web.Request) -> web.WebSocketResponse:
    return await _stream_handler(request, "alerts")


async def ws_logs(request: web.Request) -> web.WebSocketResponse:
    return await _stream_handler(request, "logs")


async def ws_console(request: web.Request) -> web.WebSocketResponse:
    """Echo every text message back as JSON with a server ``ts``; binary comes back as is."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    _track(request, ws, "console", +1)
    seq = 0
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                seq += 1
                await ws.send_str(
                    json.dumps({"type": "echo", "seq": seq, "ts": time.time() * 1000.0, "data": msg.data})
                )
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
    finally:
        _track(request, ws, "console", -1)
    return ws


def _track(request: web.Request, ws: web.WebSocketResponse, stream: str, delta: int) -> None:
    clients = request.app[WS_CLIENTS]
    clients[stream] = clients.get(stream, 0) + delta
    sockets = request.app[WS_SOCKETS]
    if delta > 0:
        sockets.add(ws)
    else:
        sockets.discard(ws)


async def close_all(app: web.Application) -> None:
    """on_shutdown hook: close open sockets with 1001 (going away)."""
    sockets: set[web.WebSocketResponse] = app[WS_SOCKETS]
    for sock in list(sockets):
        with suppress(Exception):
            await sock.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def add_ws_routes(app: web.Application) -> None:
    app.router.add_get("/ws/metrics", ws_metrics)
    app.router.add_get("/ws/alerts", ws_alerts)
    app.router.add_get("/ws/logs", ws_logs)
    app.router.add_get("/ws/console", ws_console)
    app[WS_SOCKETS] = set()
    app.on_shutdown.append(close_all)
