"""A tiny loopback HTTP server for the results tests (fixed routes: /index, /api/items,
/api/items/{id}, /status/{code}).

Run as ``python loopback_server.py``: binds 127.0.0.1 on a free port, prints
``PORT <n>`` on stdout once listening, and serves until killed. It runs in its
own process so k6's load does not compete with the caller's event loop.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from aiohttp import web

_BODY = b"x" * 512


async def _ok(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="text/plain")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status")


async def _json(request: web.Request) -> web.Response:
    return web.json_response({"items": list(range(10))})


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/", _ok)
    app.router.add_route("*", "/index", _ok)
    app.router.add_route("*", "/api/items", _json)
    app.router.add_route("*", "/api/items/{id}", _json)
    app.router.add_route("*", "/status/{code}", _status)
    return app


async def _serve() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        sys.exit(0)
