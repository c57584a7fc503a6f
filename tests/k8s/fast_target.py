"""A fast HTTP target for full-rate Kubernetes runs: ``python fast_target.py HOST PORT_FILE``.

Every request gets ``200 ok`` on a kept-alive connection (asyncio, no framework), so the
runner pods, not the target, set the rate. ``GET /__count`` answers the number of other
requests served. It runs in a process of its own (a thread would share the test's GIL),
writes its port into PORT_FILE once it listens, and ends when its parent does.
"""

from __future__ import annotations

import asyncio
import ctypes
import signal
import sys
from pathlib import Path

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
served = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global served
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"GET /__count "):
                body = str(served).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                served += 1
                writer.write(OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(host: str, port_file: Path) -> None:
    server = await asyncio.start_server(handle, host, 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    part = port_file.with_name(port_file.name + ".part")
    part.write_text(str(port))
    part.replace(port_file)  # whole, or not there
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:  # PR_SET_PDEATHSIG: end with the test that started it, however it ends
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
