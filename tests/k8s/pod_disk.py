"""How much disk runner pods use while they run, sampled from inside them.

``busybox du`` runs in each runner container through the API server's exec (as ``kubectl
exec`` does): the container's own file system (its writable layer, ``-x``) and the
results ``emptyDir``, the folders a runner could fill. Used by the cluster tests and by
``benchmarks/bench_k8s.py``; it works on any cluster (nothing is read from the node).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

DU = ["/bin/busybox", "du", "-skx", "/", "/results"]


@dataclass
class PodDisk:
    """Samples every pod of ``namespace`` matching ``selector`` every ``every_s`` seconds."""

    api: Any  # a kubernetes ApiClient
    namespace: str
    selector: str
    every_s: float = 2.0
    samples: dict[str, list[int]] = field(default_factory=dict)  # pod -> KiB, in order
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PodDisk:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def growth_kib(self) -> dict[str, int]:
        """Per pod: its largest sample minus its first."""
        return {pod: max(kib) - kib[0] for pod, kib in self.samples.items() if kib}

    def peak_kib(self) -> dict[str, int]:
        return {pod: max(kib) for pod, kib in self.samples.items() if kib}

    def _run(self) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self.api)
        while not self._stop.is_set():
            try:
                pods = core.list_namespaced_pod(self.namespace, label_selector=self.selector).items
            except Exception:  # noqa: BLE001 - the API server is busy: try the next turn
                pods = []
            for pod in pods:
                if pod.status.phase != "Running":
                    continue
                kib = self._du(core, pod.metadata.name)
                if kib is not None:
                    self.samples.setdefault(pod.metadata.name, []).append(kib)
            self._stop.wait(self.every_s)

    def _du(self, core: Any, pod: str) -> int | None:
        from kubernetes.stream import stream

        try:
            out = stream(
                core.connect_get_namespaced_pod_exec,
                pod,
                self.namespace,
                container="k6",
                command=DU,
                stderr=False,
                stdin=False,
                stdout=True,
                tty=False,
                _request_timeout=20,
            )
        except Exception:  # noqa: BLE001 - the pod ended between listing and exec
            return None
        sizes = [int(line.split()[0]) for line in str(out).splitlines() if line.strip()[:1].isdigit()]
        return sum(sizes) if len(sizes) == 2 else None


def wait_for(predicate: Any, timeout_s: float, every_s: float = 0.5) -> Any:
    """``predicate()``'s first truthy value within ``timeout_s`` (AssertionError after)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s")
        time.sleep(every_s)
