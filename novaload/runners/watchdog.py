"""The watchdog of a Docker run: removes the run's containers if novaload dies.

Containers are not children of novaload, so neither ``PR_SET_PDEATHSIG`` nor a
``finally`` stops them when novaload is killed (SIGKILL, OOM killer): they would keep
sending load. The Docker runner therefore starts ``python -m novaload.runners.watchdog
RUN_ID`` before creating any container. The watchdog runs in its own session (a
terminal's Ctrl-C does not reach it) with its stdin a pipe whose only writer is
novaload, and blocks reading it:

* novaload finishing normally writes ``done`` and closes the pipe: the watchdog exits;
* novaload dying closes the pipe without ``done`` (the kernel closes a dead process's
  descriptors): the watchdog removes every container labelled with the run id, twice a
  second apart (a create request in flight may land after the first pass), and exits.

It never outlives that; if it is itself killed, the next novaload command reaps the
containers by their owner labels (``docker.reap_orphans``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

_DONE = b"done\n"
_PASSES = 2


@dataclass(slots=True)
class Watchdog:
    """novaload's end of the pipe: :meth:`release` when the containers are removed."""

    proc: subprocess.Popen[bytes] | None

    def release(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write(_DONE)
                self.proc.stdin.close()
        except OSError:
            pass  # the watchdog died: the reaper covers
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_watchdog(run_id: str) -> Watchdog:
    """Start the watchdog for ``run_id``'s containers (never fails the run: the reaper is the
    fallback when it cannot start)."""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "novaload.runners.watchdog", run_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return Watchdog(None)
    return Watchdog(proc)


def remove_run_containers(run_id: str) -> int:
    from novaload.runners.docker import remove_leftovers

    removed = 0
    for attempt in range(_PASSES):
        if attempt:
            time.sleep(1.0)
        with contextlib.suppress(Exception):
            removed += remove_leftovers(run_id)
    return removed


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe decides
    run_id = argv[0]
    received = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(0, 64):
            received += chunk
    if _DONE in received:
        return 0
    remove_run_containers(run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
