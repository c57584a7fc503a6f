"""Fixtures for the demo-target tests: real servers on loopback.

``make_target(**settings)`` runs :func:`create_app` in a background thread
with its own event loop (milliseconds to start, so each test gets a server
with exactly the settings it needs); TargetProcess tests start real children.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pytest
from aiohttp import web
from support import require_tool as require

from novaload.target import TargetSettings, create_app


class ThreadedTarget:
    """The demo app served from a daemon thread on 127.0.0.1:<free port>."""

    def __init__(self, settings: TargetSettings) -> None:
        self.app = create_app(settings)
        self._loop = asyncio.new_event_loop()
        self._started: Future[str] = Future()
        self._thread = threading.Thread(target=self._run, name="demo-target", daemon=True)
        self._thread.start()
        self.url = self._started.result(timeout=10)
        self.ws_url = "ws" + self.url[len("http") :]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        try:
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self._started.set_result(f"http://127.0.0.1:{self._runner.addresses[0][1]}")
        except BaseException as exc:  # noqa: BLE001 surface startup failures in the test thread
            self._started.set_exception(exc)
            return
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture
def make_target() -> Iterator[Callable[..., ThreadedTarget]]:
    """Factory: ``make_target(error_rate=1.0, ...)``; every server is stopped after the test."""
    started: list[ThreadedTarget] = []

    def make(**overrides: object) -> ThreadedTarget:
        fields: dict[str, object] = {"latency_median_ms": 0.0, "latency_p99_ms": 0.0, "seed": 7}
        fields.update(overrides)
        target = ThreadedTarget(TargetSettings(**fields))  # type: ignore[arg-type]
        started.append(target)
        return target

    yield make
    for target in started:
        target.stop()


@pytest.fixture
def target(make_target: Callable[..., ThreadedTarget]) -> ThreadedTarget:
    """A fast, deterministic target: no injected latency, no errors, seed 7."""
    return make_target()


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool") or ("/usr/bin/promtool" if os.path.exists("/usr/bin/promtool") else None)
    require(path is not None, "promtool not found (apt-get install prometheus)")
    assert path is not None
    return path
