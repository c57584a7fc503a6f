"""Loopback ports for k6's REST API (one per instance on the host network)."""

from __future__ import annotations

import socket
from collections.abc import Collection


def free_port() -> int:
    """A loopback port for a k6 about to start, kept from everyone else until k6 binds it.

    k6 is handed a number and binds it itself, a moment later (a container's start, a
    second for a paused instance). A port that is merely free when asked can be given by
    the kernel to anyone else's ``bind(port 0)`` in that moment, and k6 then exits 106
    (REST API could not start): seen in CI, a split Docker run beside other tests. So the
    port is left in TIME_WAIT, the way ``ephemeral-port-reserve`` does it: an accepted
    connection closed from the listening side. For about a minute the kernel hands it to
    no ``bind(port 0)`` and to no plain ``bind``, but a listener that sets ``SO_REUSEADDR``
    binds it at once, and Go's listeners (k6's) always do. Each call gives another port.
    """
    return reserve_port(0)


def free_ports(count: int, *, taken: Collection[int] = ()) -> list[int]:
    """``count`` ports as ``free_port`` gives them, none in ``taken``: all different, since
    a kept port is handed out again to nobody, and done after ``len(taken)`` extra asks."""
    found: list[int] = []
    while len(found) < count:
        port = free_port()
        if port not in taken:
            found.append(port)
    return found


def reserve_port(port: int) -> int:
    """``port`` on loopback (0: any) kept as ``free_port`` keeps it; OSError if it is in use
    or kept already (a plain bind() fails on a port in TIME_WAIT, SO_REUSEADDR would not)."""
    if port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        address = listener.getsockname()
        with socket.create_connection(address, timeout=5):
            accepted, _ = listener.accept()
            accepted.close()  # the accepting side closes first: its port goes to TIME_WAIT
        return int(address[1])


__all__ = ["free_port", "free_ports", "reserve_port"]
