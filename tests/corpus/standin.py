"""A loopback stand-in for the public services the corpus scripts were written against:
QuickPizza (``quickpizza.grafana.com``, also its ``/test.k6.io/`` pages), httpbin
(``httpbin.org``) and ``test.k6.io``.

Only what the corpus scripts call is served, with the shapes their checks read; any
other path answers 200 with a small HTML page. Run as ``python standin.py``: binds
127.0.0.1 on a free port, prints ``PORT <n>`` once listening, serves until killed (its
own process, so k6's load does not compete with the test's event loop).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import sys

from aiohttp import web

_HOME = (
    "<!DOCTYPE html><html><head><title>stand-in</title></head><body>"
    "<h1>Collection of simple web-pages suitable for load testing.</h1>"
    '<p class="description">This is a replacement of the service for the novaload corpus.</p>'
    "</body></html>"
)
_IDS = itertools.count(1)


async def _home(request: web.Request) -> web.Response:
    return web.Response(text=_HOME, content_type="text/html")


async def _pi(request: web.Request) -> web.Response:
    return web.Response(text="3.14", content_type="text/plain")


async def _static(request: web.Request) -> web.Response:
    return web.Response(body=b"/* static */", content_type="text/plain")


async def _pizza(request: web.Request) -> web.Response:
    pid = next(_IDS)
    return web.json_response(
        {
            "pizza": {
                "id": pid,
                "name": f"Stand-in pizza {pid}",
                "dough": {"id": 1, "name": "Thin", "caloriesPerSlice": 150},
                "ingredients": [{"id": i, "name": f"ingredient {i}"} for i in range(1, 5)],
                "tool": "Pizza cutter",
            },
            "calories": 900,
            "vegetarian": False,
        }
    )


async def _csrf(request: web.Request) -> web.Response:
    resp = web.json_response({"csrf": "standin-csrf"})
    resp.set_cookie("csrf_token", "standin-csrf")
    return resp


async def _login(request: web.Request) -> web.Response:
    return web.json_response({"token": "abcdef0123456789"})


async def _ratings(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({"id": next(_IDS), **body}, status=201)


async def _qp_json(request: web.Request) -> web.Response:
    return web.json_response(dict(request.query))


async def _headers(request: web.Request) -> web.Response:
    return web.json_response({"headers": dict(request.headers)})


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status")


async def _delay(request: web.Request) -> web.Response:
    # A stand-in answers quickly: the corpus runs in seconds, not the real delay.
    await asyncio.sleep(min(float(request.match_info["n"]), 0.2))
    return web.json_response({"delay": request.match_info["n"]})


async def _echo(request: web.Request) -> web.Response:
    """httpbin's /get, /post, /put, /patch, /delete, /anything: the request echoed."""
    data = await request.read()
    form: dict[str, object] = {}
    json_body = None
    if request.content_type == "application/x-www-form-urlencoded":
        post = await request.post()
        for key in post:
            values = post.getall(key)
            form[key] = values[0] if len(values) == 1 else values
    elif request.content_type == "application/json" and data:
        json_body = await request.json()
    return web.json_response(
        {
            "args": dict(request.query),
            "headers": dict(request.headers),
            "form": form,
            "json": json_body,
            "data": data.decode("utf-8", "replace") if not form else "",
            "url": str(request.url),
            "method": request.method,
        }
    )


async def _basic_auth(request: web.Request) -> web.Response:
    user, passwd = request.match_info["user"], request.match_info["passwd"]
    expected = "Basic " + base64.b64encode(f"{user}:{passwd}".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Fake Realm"'})
    return web.json_response({"authenticated": True, "user": user})


async def _digest_auth(request: web.Request) -> web.Response:
    # The challenge and answer exchange is what k6 exercises; the stand-in does not verify the hash.
    if not request.headers.get("Authorization", "").startswith("Digest "):
        challenge = 'Digest realm="me@kennethreitz.com", nonce="abc", qop="auth", opaque="xyz", algorithm=MD5'
        return web.Response(status=401, headers={"WWW-Authenticate": challenge})
    return web.json_response({"authenticated": True, "user": request.match_info["user"]})


async def _redirect(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    raise web.HTTPFound("/get" if n <= 1 else f"/redirect/{n - 1}")


def make_app() -> web.Application:
    app = web.Application()
    r = app.router
    for path in ("/", "/test.k6.io", "/test.k6.io/", "/admin", "/contacts.php"):
        r.add_route("*", path, _home)
    r.add_route("*", "/pi.php", _pi)
    r.add_route("*", "/test.k6.io/pi.php", _pi)
    r.add_route("GET", "/test.k6.io/static/{path:.*}", _static)
    r.add_route("GET", "/static/{path:.*}", _static)
    r.add_route("GET", "/favicon.ico", _static)
    r.add_route("POST", "/api/pizza", _pizza)
    r.add_route("POST", "/api/csrf-token", _csrf)
    r.add_route("POST", "/api/users/token/login", _login)
    r.add_route("POST", "/api/ratings", _ratings)
    r.add_route("*", "/api/json", _qp_json)
    r.add_route("*", "/api/headers", _headers)
    r.add_route("*", "/api/status/{code:\\d+}", _status)
    r.add_route("*", "/api/delay/{n}", _delay)
    r.add_route("*", "/api/post", _echo)
    for path in ("/get", "/post", "/put", "/patch", "/delete", "/anything"):
        r.add_route("*", path, _echo)
    r.add_route("*", "/status/{code:\\d+}", _status)
    r.add_route("GET", "/headers", _headers)
    r.add_route("GET", "/basic-auth/{user}/{passwd}", _basic_auth)
    r.add_route("GET", "/digest-auth/{qop}/{user}/{passwd}", _digest_auth)
    r.add_route("GET", "/redirect/{n:\\d+}", _redirect)
    r.add_route("*", "/{tail:.*}", _home)
    return app


async def _serve() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        sys.exit(0)
