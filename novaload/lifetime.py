"""Nothing novaload starts outlives it: the mechanisms shared by its children.

* :func:`die_with_parent` (a ``preexec_fn``) and :func:`set_parent_death_signal` (called
  by the child itself) ask the kernel to signal a child when novaload dies, even by
  SIGKILL (Linux ``PR_SET_PDEATHSIG``). The kernel sends it when the *thread* that
  forked the child ends, so a child started from a worker thread must be stopped before
  that thread ends (the pipeline stops the demo target before a run returns).
* :class:`Owner` identifies a novaload process beyond its PID (PIDs are reused; the
  start time and the boot id are not), so resources that cannot die with it, such as
  Docker containers, carry it as labels and anyone can later tell whether their owner
  is still alive (:meth:`Owner.alive`).
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
    except OSError:  # not Linux/glibc: the owner's own cleanup still applies
        pass


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive ``sig`` when its parent dies.

    For programs novaload does not control (k6). Its own children (the demo target)
    call :func:`set_parent_death_signal` themselves, which needs no ``preexec_fn``
    (unsafe when the parent has threads).
    """

    def preexec() -> None:  # runs in the child between fork and exec
        set_parent_death_signal(sig)

    return preexec


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """Field 22 of /proc/PID/stat: when the process started (clock ticks since boot)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True, slots=True)
class Owner:
    """A process on a machine: PID, start time and boot id."""

    pid: int
    started: str
    boot_id: str

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), _start_ticks(os.getpid()), _boot_id())

    def on_this_machine(self) -> bool:
        """True when this machine (this boot) can tell whether the owner lives."""
        return bool(self.boot_id) and self.boot_id == _boot_id()

    def alive(self) -> bool:
        """Still running (a reused PID has another start time). Meaningful only
        :meth:`on_this_machine`: a Docker engine can be shared by several machines."""
        return bool(self.started) and _start_ticks(self.pid) == self.started


__all__ = ["Owner", "die_with_parent", "set_parent_death_signal"]
