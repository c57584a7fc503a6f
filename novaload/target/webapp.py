"""A small browser client of the demo API, served at ``/app/``.

It exists so that a real browser session against the demo target has what a recording
of a real web app has: a page, static assets, API calls made by script with an
``Authorization`` header, a session cookie set by the server and one set by script,
user pauses, and a request to another host (``localhost`` instead of ``127.0.0.1``).
``novaload import har`` is tested on recordings of it. The credential in the script is
a stand-in: the demo API does not check it, and a recording must never keep it.
"""

from __future__ import annotations

import secrets

from aiohttp import web

# A stand-in credential (the demo API ignores it): recordings carry it, imports must not.
DEMO_TOKEN = "demo-token-5b1e0c7a9d"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>novaload demo shop</title>
<link rel="stylesheet" href="/app/app.css">
</head>
<body>
<h1>novaload demo shop</h1>
<ul id="items"></ul>
<p id="status">loading</p>
<script src="/app/app.js"></script>
</body>
</html>
"""

_CSS = """body { font-family: sans-serif; margin: 2rem; }
#status { color: #555; }
"""

_SCRIPT = """// The demo shop: list, open, search, then add an item, pausing like a user would.
const TOKEN = '__TOKEN__';
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, init) {
  init = init || {};
  const headers = Object.assign({ Authorization: 'Bearer ' + TOKEN, Accept: 'application/json' }, init.headers || {});
  const res = await fetch(path, Object.assign({}, init, { headers: headers }));
  return res.json();
}

(async () => {
  document.cookie = 'prefs=compact-view; path=/';
  const beacon = document.createElement('script');  // a "third-party" host: same server, other name
  beacon.src = location.protocol + '//localhost:' + location.port + '/app/beacon.js';
  document.head.appendChild(beacon);
  const page = await api('/api/v1/items?limit=5');
  const list = document.getElementById('items');
  for (const item of page.items) {
    const li = document.createElement('li');
    li.textContent = item.name;
    list.appendChild(li);
  }
  await pause(400);
  await api('/api/v1/items/' + page.items[0].id);
  await pause(300);
  await api('/api/v1/search?q=nova');
  await pause(500);
  await api('/api/v1/items', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'from-the-browser', kind: 'demo' }),
  });
  document.getElementById('status').textContent = 'done';
})();
""".replace("__TOKEN__", DEMO_TOKEN)

_BEACON = "window.novaloadBeacon = true;\n"


async def page(request: web.Request) -> web.Response:
    response = web.Response(text=_PAGE, content_type="text/html", charset="utf-8")
    response.set_cookie("novaload_session", secrets.token_hex(12), path="/", httponly=True, samesite="Lax")
    return response


async def script(request: web.Request) -> web.Response:
    return web.Response(text=_SCRIPT, content_type="application/javascript", charset="utf-8")


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(text=_CSS, content_type="text/css", charset="utf-8")


async def beacon(request: web.Request) -> web.Response:
    return web.Response(text=_BEACON, content_type="application/javascript", charset="utf-8")


def add_webapp_routes(app: web.Application) -> None:
    app.router.add_get("/app/", page)
    app.router.add_get("/app/app.js", script)
    app.router.add_get("/app/app.css", stylesheet)
    app.router.add_get("/app/beacon.js", beacon)


__all__ = ["DEMO_TOKEN", "add_webapp_routes"]
