"""The runners: how k6 is launched (a local subprocess, Docker containers, ...).

Each runner implements :class:`~novaload.runners.base.Runner`. :func:`get_runner` finds one
by name with a plain lookup; a runner's module is imported only when it is asked for (the
docker SDK alone costs ~0.3 s of start-up), and nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable

from novaload.errors import UsageError
from novaload.runners.base import Runner, RunnerFactory


def _local() -> RunnerFactory:
    from novaload.runners.local import LocalRunner

    return LocalRunner


def _docker() -> RunnerFactory:
    from novaload.runners.docker import DockerRunner

    return DockerRunner


def _k8s() -> RunnerFactory:
    from novaload.runners.k8s import K8sRunner

    return K8sRunner


_RUNNERS: dict[str, Callable[[], RunnerFactory]] = {"local": _local, "docker": _docker, "k8s": _k8s}
RUNNER_NAMES = tuple(_RUNNERS)


def get_runner(name: str, on_log: Callable[[str], None] | None = None) -> Runner:
    """The runner called ``name``; ``on_log`` receives k6's human-readable log lines."""
    try:
        factory = _RUNNERS[name]()
    except KeyError:
        raise UsageError(f"unknown runner {name!r} (known: {', '.join(RUNNER_NAMES)})") from None
    return factory(on_log)


__all__ = ["RUNNER_NAMES", "get_runner"]
