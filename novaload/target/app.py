"""The demo target's aiohttp application: routes, the fault-injection middleware, control endpoints.

Control endpoints (``/health``, ``/ready``, ``/metrics``, ``/api/v1/admin/*``,
``/ws/*``) never get injected latency or errors; business endpoints (see
:mod:`novaload.target.api`) do, through :func:`_middleware`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from novaload import __version__
from novaload.errors import ConfigError
from novaload.target import api, tracing, ws
from novaload.target.behaviour import Conditions
from novaload.target.metrics import Metrics
from novaload.target.openapi import openapi_document
from novaload.target.responses import (
    CONDITIONS,
    METRICS,
    STORE,
    WEIGHT_ATTR,
    WS_CLIENTS,
    BadRequest,
    Handler,
    json_error,
    json_object,
)
from novaload.target.settings import TargetSettings
from novaload.target.state import Store
from novaload.target.webapp import add_webapp_routes

SERVICE_NAME = "novaload-demo"
# Listening address is fixed once bound; seed is consumed at start.
_READ_ONLY_SETTINGS = frozenset({"host", "port", "seed", "otlp_endpoint"})


def create_app(settings: TargetSettings | None = None) -> web.Application:
    """Build the demo target application for ``settings`` (defaults if None)."""
    settings = settings or TargetSettings()
    app = web.Application(middlewares=[_middleware], client_max_size=16 * 1024 * 1024)
    app[CONDITIONS] = Conditions(settings)
    app[STORE] = Store(settings.seed)
    app[METRICS] = Metrics()
    app[WS_CLIENTS] = dict.fromkeys(ws.STREAM_NAMES, 0)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/admin/settings", get_settings)
    app.router.add_post("/api/v1/admin/settings", post_settings)
    app.router.add_post("/api/v1/admin/reset", reset)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_routes(api.routes)
    ws.add_ws_routes(app)
    add_webapp_routes(app)
    tracing.install(app, settings)  # only with an OTLP endpoint (OpenTelemetry imported then)
    return app


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        weight = getattr(request.match_info.handler, WEIGHT_ATTR, None)
        if weight is None:
            response = await handler(request)
        else:
            response = await _business(request, handler, weight)
        status = response.status
        return response
    except BadRequest as exc:
        status = 400
        return json_error(400, "bad_request", str(exc))
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[METRICS].observe(request.method, route, status, time.perf_counter() - started)


async def _business(request: web.Request, handler: Handler, weight: float) -> web.StreamResponse:
    delay_ms, status, reason = request.app[CONDITIONS].decide(weight)
    if delay_ms > 0:
        async with tracing.traced_delay(request, "injected latency"):
            await asyncio.sleep(delay_ms / 1000.0)
    if status:
        request.app[METRICS].faults[reason] += 1
        if reason == "overloaded":
            return json_error(503, "overloaded", "capacity exceeded, retry later", injected=True)
        return json_error(status, "injected_error", "error injected by the demo target", injected=True)
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "status": "ok",
            "service": SERVICE_NAME,
            "version": __version__,
            "uptime_s": round(request.app[CONDITIONS].uptime_s(), 3),
        }
    )


async def openapi_json(request: web.Request) -> web.Response:
    """The target's own OpenAPI description (``novaload import openapi URL`` reads it)."""
    return web.json_response(openapi_document())


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"ready": True, "service": SERVICE_NAME})


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    counts = app[STORE].vm_counts()
    gauges: list[tuple[str, str, str, dict[str, str], float]] = [
        ("vms", "gauge", "VMs in the demo cluster, by state.", {"state": s}, n)
        for s, n in sorted(counts.items())
    ]
    gauges += [
        ("ws_connections", "gauge", "Open WebSocket connections, by stream.", {"stream": s}, n)
        for s, n in sorted(app[WS_CLIENTS].items())
    ]
    gauges.append(
        (
            "db_transactions_total",
            "counter",
            "Database transactions served.",
            {},
            app[STORE].db["transactions"],
        )
    )
    gauges.append(
        (
            "uptime_seconds",
            "gauge",
            "Seconds since start or the last admin reset.",
            {},
            round(app[CONDITIONS].uptime_s(), 3),
        )
    )
    text = app[METRICS].render(gauges)
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"X-Prometheus-Format": "0.0.4"}
    )


def _settings_view(conditions: Conditions) -> dict[str, Any]:
    return {**conditions.settings.to_dict(), "uptime_s": round(conditions.uptime_s(), 3)}


async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(_settings_view(request.app[CONDITIONS]))


async def post_settings(request: web.Request) -> web.Response:
    """Change latency/error/drift/capacity/ws settings at runtime (partial update)."""
    body = await json_object(request)
    frozen = sorted(_READ_ONLY_SETTINGS & body.keys())
    if frozen:
        raise BadRequest(f"cannot change {', '.join(frozen)} at runtime")
    conditions = request.app[CONDITIONS]
    try:
        conditions.apply(conditions.settings.updated(body))
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None
    return web.json_response(_settings_view(conditions))


async def reset(request: web.Request) -> web.Response:
    """Back to the start: seeded data, initial settings, drift clock and rate window."""
    conditions = request.app[CONDITIONS]
    conditions.apply(conditions.initial)
    conditions.reset_clock()
    request.app[STORE].reset()
    return web.json_response({"reset": True, **_settings_view(conditions)})
