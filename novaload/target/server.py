"""Run the demo target until SIGINT/SIGTERM: :func:`serve`."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from novaload.errors import ConfigError
from novaload.fileio import write_atomic
from novaload.target.app import create_app
from novaload.target.settings import TargetSettings

# In-flight requests get this long to finish on stop; injected delays can be long.
_SHUTDOWN_TIMEOUT_S = 2.0


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def serve(
    settings: TargetSettings, *, ready_file: Path | None = None, log: Callable[[str], None] = _stderr
) -> None:
    """Serve until SIGINT/SIGTERM (blocking).

    Binds ``settings.host:settings.port`` (port 0 = a free port), then writes
    the actual ``http://host:port`` to ``ready_file`` (atomically) and logs one
    line with it. Raises ConfigError if the address cannot be bound.
    """
    asyncio.run(_serve(settings, ready_file, log))


async def _serve(settings: TargetSettings, ready_file: Path | None, log: Callable[[str], None]) -> None:
    runner = web.AppRunner(
        create_app(settings), access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    try:
        url = await _listen(runner, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if ready_file is not None:
                write_atomic(Path(ready_file), url + "\n")  # pollers never see half a URL
            log(f"novaload demo target listening on {url}")
            await stop.wait()
        finally:
            # Shutting down already: a later stop request (the owner's SIGTERM arriving after
            # the end of file on stdin already stopped us) must not kill the clean exit. The
            # owner still escalates to SIGKILL if the shutdown hangs.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
                signal.signal(sig, signal.SIG_IGN)
    finally:
        await runner.cleanup()


async def _listen(runner: web.AppRunner, settings: TargetSettings) -> str:
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            key="port",
            value=settings.port,
        ) from None
    port = runner.addresses[0][1]
    return base_url(settings.host, port)
