"""The REST API port handed to a k6 about to start: nobody else gets it in the meantime.

CI saw a split Docker run's instance exit 106 (REST API could not start) beside other
tests: the port was free when asked and taken before k6 bound it.
"""

from __future__ import annotations

import socket
import subprocess

import pytest
from support import k6_path, require_tool

from novaload.errors import ExitCode
from novaload.runners.ports import free_port, reserve_port

SCRIPT = "export default function () {}"


def _k6_with_address(address: str) -> int:
    k6 = k6_path()
    require_tool(k6 is not None, "k6 is not installed")
    proc = subprocess.run(
        [str(k6), "run", "--quiet", "--no-summary", "--address", address, "-"],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode


def test_the_kernel_hands_a_given_port_to_nobody_else() -> None:
    given = [free_port() for _ in range(50)]
    assert len(set(given)) == 50
    # Other processes asking for any port (loopback or wildcard), held so that each is new:
    # a port that was merely free when asked comes back about once per 200 (13 of 3,000).
    held = []
    try:
        for i in range(3000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind(("127.0.0.1" if i % 2 else "0.0.0.0", 0))
            assert s.getsockname()[1] not in given
    finally:
        for s in held:
            s.close()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", given[0]))  # a plain bind() is refused too


@pytest.mark.k6
def test_k6_binds_the_port_it_is_given() -> None:
    assert _k6_with_address(f"127.0.0.1:{free_port()}") == ExitCode.OK
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        # What the run in CI met: the port in use when k6 starts.
        assert _k6_with_address(f"127.0.0.1:{taken.getsockname()[1]}") == ExitCode.K6_API_NOT_STARTED


def test_a_port_asked_for_by_number_is_kept_too_unless_taken_or_kept_already() -> None:
    port = free_port()
    with pytest.raises(OSError):
        reserve_port(port)  # kept already: not handed out twice
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(OSError):
            reserve_port(taken.getsockname()[1])
