"""Shared HTTP plumbing of the demo target: JSON errors, body parsing, app keys, the business marker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from novaload.target.behaviour import Conditions
from novaload.target.metrics import Metrics
from novaload.target.state import Store

CONDITIONS = web.AppKey("conditions", Conditions)
STORE = web.AppKey("store", Store)
METRICS = web.AppKey("metrics", Metrics)
WS_CLIENTS = web.AppKey("ws_clients", dict)
# Open sockets, closed on shutdown so a stop never waits for a stream to end.
WS_SOCKETS: web.AppKey[set[Any]] = web.AppKey("ws_sockets", set)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)
WEIGHT_ATTR = "_novaload_weight"


def business(weight: float) -> Callable[[H], H]:
    """Mark a handler as business traffic: it gets injected latency and errors.

    ``weight`` scales the base latency sample (writes and lifecycle actions are
    slower than reads). Unmarked handlers (health, metrics, admin) get neither.
    """

    def mark(handler: H) -> H:
        setattr(handler, WEIGHT_ATTR, weight)
        return handler

    return mark


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, "status": status, **extra}, status=status)


class BadRequest(Exception):
    """Raised by validators; the middleware answers it with a JSON 400."""


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def int_field(body: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{key} must be an integer within {low}..{high} (got {value!r})")
    return value


def str_field(body: dict[str, Any], key: str, default: str | None = None, max_len: int = 128) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not 0 < len(value) <= max_len:
        raise BadRequest(f"{key} must be a non-empty string of at most {max_len} characters (got {value!r})")
    return value


def query_int(request: web.Request, key: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {key} must be an integer (got {raw!r})") from None
    if not low <= value <= high:
        raise BadRequest(f"query parameter {key} must be within {low}..{high} (got {value})")
    return value


async def extra_delay(request: web.Request, factor: float) -> None:
    """Sleep ``factor`` more base-latency samples (work that grows with the request's size)."""
    conditions = request.app[CONDITIONS]
    if conditions.latency.enabled and factor > 0:
        await asyncio.sleep(conditions.latency.sample_ms() * factor / 1000.0)
