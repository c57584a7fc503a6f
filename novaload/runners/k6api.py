"""Poll k6's REST API (``--address``) for live progress.

Only the status and the counters are asked for, metric by metric: ``/v1/metrics``
(all metrics) makes k6 sort every trend's samples on each call (its TrendSink
computes percentiles from all values), a cost that grows with the run and is taken
from the load k6 generates. The live p95 comes from novaload's own read of the
samples instead (``results.live``), exact over all instances of a split run.

Several instances (a split run) are summed: VUs, iterations and requests add up.
"""

from __future__ import annotations

import json
import threading
import urllib.error
from datetime import UTC, datetime
from typing import Any

from novaload.runners.base import LiveStats, ProgressCallback


def _get(url: str, timeout: float = 1.0) -> Any:
    # Imported by the poller's thread, once k6 runs: urllib.request brings http.client
    # and ssl, which the way to k6's start does not need.
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


# Counters, rates and gauges only: O(1) for k6 to answer.
LIVE_METRICS = ("http_reqs", "http_req_failed", "iterations")


def read_instance(base: str) -> dict[str, Any] | None:
    """One instance's status and counters, or None while its API is not up."""
    try:
        status = _get(f"{base}/v1/status")["data"]["attributes"]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None
    metrics: dict[str, Any] = {}
    for name in LIVE_METRICS:
        try:
            metrics[name] = _get(f"{base}/v1/metrics/{name}")["data"]["attributes"].get("sample", {})
        except urllib.error.HTTPError:  # 404: no such sample yet
            continue
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
            return None
    return {"status": status, "metrics": metrics}


def combine(instances: list[dict[str, Any]], elapsed_s: float) -> LiveStats:
    vus = vus_max = iterations = requests = 0
    rps = 0.0
    p95: float | None = None
    failed_weighted = 0.0
    running = False
    for inst in instances:
        st, m = inst["status"], inst["metrics"]
        vus += int(st.get("vus", 0))
        vus_max += int(st.get("vus-max", 0))
        running = running or bool(st.get("running", False))
        iterations += int(m.get("iterations", {}).get("count", 0))
        reqs = m.get("http_reqs", {})
        requests += int(reqs.get("count", 0))
        rps += float(reqs.get("rate", 0.0))
        d = m.get("http_req_duration", {}).get("p(95)")
        if d is not None:
            p95 = d if p95 is None else max(p95, d)
        failed = m.get("http_req_failed", {}).get("rate")
        if failed is not None:
            failed_weighted += float(failed) * int(reqs.get("count", 0))
    error_rate = (failed_weighted / requests) if requests else None
    return LiveStats(
        elapsed_s=elapsed_s,
        vus=vus,
        vus_max=vus_max,
        iterations=iterations,
        requests=requests,
        rps=rps,
        p95_ms=p95,
        error_rate=error_rate,
        running=running,
    )


class K6ApiPoller:
    """A background thread calling ``progress`` with combined LiveStats every interval."""

    def __init__(
        self, bases: list[str], progress: ProgressCallback | None, started: datetime, interval_s: float = 1.0
    ) -> None:
        self.bases = bases
        self.progress = progress
        self.started = started
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="k6-api-poller")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            found = [r for r in (read_instance(b) for b in self.bases) if r is not None]
            if found and self.progress is not None:
                elapsed = (datetime.now(UTC) - self.started).total_seconds()
                try:
                    self.progress(combine(found, elapsed))
                except Exception:  # noqa: BLE001 - a display bug must not stop the run
                    pass

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)


__all__ = ["K6ApiPoller", "combine", "read_instance"]
