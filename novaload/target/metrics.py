"""In-process Prometheus metrics of the demo target and their text exposition.

Plain dicts and lists instead of a client library: the event loop is single
threaded, so updates need no locks, and recording stays a few dict operations.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping

BUCKETS_S: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
PREFIX = "novaload_demo"


class Metrics:
    """Request counters by (method, route, status) and a duration histogram by route."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self._hist: dict[str, list[int]] = {}  # per-bucket (not cumulative) + overflow
        self._sum: dict[str, float] = {}
        self.faults: dict[str, int] = {"injected": 0, "overloaded": 0}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self._hist.get(route)
        if counts is None:
            counts = self._hist[route] = [0] * (len(BUCKETS_S) + 1)
            self._sum[route] = 0.0
        counts[bisect_left(BUCKETS_S, seconds)] += 1
        self._sum[route] += seconds

    def render(self, gauges: Iterable[tuple[str, str, str, Mapping[str, str], float]]) -> str:
        """Prometheus text format 0.0.4. ``gauges``: (name, type, help, labels, value)."""
        out: list[str] = []
        name = f"{PREFIX}_http_requests_total"
        _header(out, name, "counter", "HTTP requests answered, by method, route and status.")
        for (method, route, status), n in sorted(self.requests.items()):
            out.append(f"{name}{_labels({'method': method, 'route': route, 'status': str(status)})} {n}")
        self._render_histogram(out)
        name = f"{PREFIX}_faults_total"
        _header(out, name, "counter", "Requests failed on purpose: injected errors and overload shedding.")
        for kind, n in sorted(self.faults.items()):
            out.append(f"{name}{_labels({'kind': kind})} {n}")
        seen: set[str] = set()
        for gname, gtype, ghelp, labels, value in gauges:
            full = f"{PREFIX}_{gname}"
            if full not in seen:
                seen.add(full)
                _header(out, full, gtype, ghelp)
            out.append(f"{full}{_labels(labels)} {_num(value)}")
        return "\n".join(out) + "\n"

    def _render_histogram(self, out: list[str]) -> None:
        name = f"{PREFIX}_http_request_duration_seconds"
        _header(out, name, "histogram", "Time to answer an HTTP request, injected delay included.")
        for route in sorted(self._hist):
            counts = self._hist[route]
            cumulative = 0
            for bound, n in zip(BUCKETS_S, counts):
                cumulative += n
                out.append(f"{name}_bucket{_labels({'route': route, 'le': _num(bound)})} {cumulative}")
            cumulative += counts[-1]
            out.append(f"{name}_bucket{_labels({'route': route, 'le': '+Inf'})} {cumulative}")
            out.append(f"{name}_sum{_labels({'route': route})} {_num(self._sum[route])}")
            out.append(f"{name}_count{_labels({'route': route})} {cumulative}")


def _header(out: list[str], name: str, mtype: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {mtype}")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return (
        repr(float(value))
        if not float(value).is_integer()
        else str(int(value))
        if abs(value) < 1e15
        else repr(float(value))
    )
