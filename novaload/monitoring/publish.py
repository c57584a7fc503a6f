"""Publishing a finished run's summary to InfluxDB, for the run-history dashboard.

One ``novaload_run`` point per run and one ``novaload_endpoint`` point per endpoint
(k6 ``name`` tag), written with ``influxdb-client``'s v2 write API — which InfluxDB 2.x
and 1.8+ both serve (on 1.8 the bucket is ``database/retention-policy`` and the token
``user:password``). Publishing is best effort: a failure is one line (to ``on_failure``,
else a logged warning) and ``False``, never an exception, because a run's verdict must
not depend on it.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from novaload.monitoring.settings import MonitoringSettings
from novaload.results.model import RunResults

log = logging.getLogger(__name__)

RUN_MEASUREMENT = "novaload_run"
ENDPOINT_MEASUREMENT = "novaload_endpoint"


def history_points(
    results: RunResults,
    *,
    run_id: str,
    scenario: str,
    environment: str,
    verdict: str,
    exit_code: int,
    git_commit: str | None = None,
    time: datetime | None = None,
) -> list[Point]:
    """The points :func:`publish_run_history` writes (pure: no I/O)."""
    when = _when(time or results.ended_at or datetime.now(UTC))
    run = _tags(
        Point(RUN_MEASUREMENT).time(when, WritePrecision.MS),
        {
            "run_id": run_id,
            "scenario": scenario,
            "environment": environment,
            "verdict": verdict,
            "git_commit": git_commit,
        },
    )
    requests = _number(results.value("http_reqs", "count"))
    duration = float(results.duration_s)
    rps = _number(results.value("http_reqs", "rate"))
    if rps is None and requests is not None and duration > 0:
        rps = requests / duration
    _fields(
        run,
        {
            "requests": None if requests is None else int(requests),
            "rps": rps,
            "error_rate": _rate(results, "http_req_failed"),
            "p95_ms": _number(results.value("http_req_duration", "p(95)")),
            "p99_ms": _number(results.value("http_req_duration", "p(99)")),
            "duration_s": duration,
            "exit_code": int(exit_code),
        },
    )
    points = [run]
    for row in _rows(results):
        name = str(row.get("name") or "")
        if not name:
            continue
        endpoint = _tags(
            Point(ENDPOINT_MEASUREMENT).time(when, WritePrecision.MS),
            {"run_id": run_id, "scenario": scenario, "environment": environment, "endpoint": name},
        )
        reqs = _number(row.get("requests"))
        _fields(
            endpoint,
            {
                "requests": None if reqs is None else int(reqs),
                "rps": _number(row.get("rps")),
                "error_rate": _number(row.get("error_rate")),
                "p95_ms": _number(row.get("p95")),
                "p99_ms": _number(row.get("p99")),
            },
        )
        points.append(endpoint)
    return points


def publish_run_history(
    results: RunResults,
    settings: MonitoringSettings,
    *,
    run_id: str,
    scenario: str,
    environment: str,
    verdict: str,
    exit_code: int,
    git_commit: str | None = None,
    time: datetime | None = None,
    timeout_s: float = 10.0,
    on_failure: Callable[[str], None] | None = None,
) -> bool:
    """Write the run's history points; True when InfluxDB accepted them.

    On failure one line saying where and why goes to ``on_failure`` (default: this
    module's logger at WARNING)."""
    try:
        points = history_points(
            results,
            run_id=run_id,
            scenario=scenario,
            environment=environment,
            verdict=verdict,
            exit_code=exit_code,
            git_commit=git_commit,
            time=time,
        )
        # retries=False: a stack that is down should cost one timeout, not several.
        with InfluxDBClient(
            url=settings.influxdb_url,
            token=settings.influxdb_token or "",
            org=settings.influxdb_org or "-",
            timeout=int(timeout_s * 1000),
            retries=False,
        ) as client:
            client.write_api(write_options=SYNCHRONOUS).write(
                bucket=settings.influxdb_bucket, org=settings.influxdb_org or "-", record=points
            )
    except Exception as exc:  # noqa: BLE001 - best effort by contract; the reason is reported
        message = (
            f"run history not published to {settings.influxdb_url} "
            f"(bucket {settings.influxdb_bucket}): {_why(exc)}"
        )
        if on_failure is None:
            log.warning("%s", message)
        else:
            on_failure(message)
        return False
    return True


def _why(exc: Exception) -> str:
    """One line from what influxdb-client raises, whose text is a multi-line header dump."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        body = getattr(exc, "message", None) or getattr(exc, "body", None) or ""
        detail = " ".join(str(body).split())[:160]
        hint = " (InfluxDB before 1.8 has no /api/v2/write)" if status == 404 else ""
        return f"HTTP {status}{': ' + detail if detail else ''}{hint}"
    text = " ".join(str(exc).split())
    # urllib3: "HTTPConnection(host=..., port=...): Failed to establish a new connection: [Errno 111] Connection refused"
    tail = text.rsplit(": ", 1)[-1]
    return re.sub(r"^\[Errno -?\d+\] ", "", tail)[:200] or type(exc).__name__


def _rows(results: RunResults) -> list[dict[str, Any]]:
    frame = results.endpoints
    if frame is None or frame.empty or "name" not in frame.columns:
        return []
    return frame.to_dict("records")


def _rate(results: RunResults, metric: str) -> float | None:
    summary = results.metric(metric)
    if summary is None:
        return None
    values = summary.values
    passes, fails = values.get("passes"), values.get("fails")
    if passes is not None and fails is not None and passes + fails > 0:
        return float(passes) / float(passes + fails)
    # --summary-export names a Rate's rate "value"; handleSummary names it "rate".
    return _number(values.get("rate", values.get("value")))


def _tags(point: Point, tags: dict[str, str | None]) -> Point:
    for key, value in tags.items():
        if value:  # InfluxDB has no empty tag values
            point.tag(key, value)
    return point


def _fields(point: Point, fields: dict[str, float | int | None]) -> None:
    for key, value in fields.items():
        if value is None:
            continue
        # Field types are fixed per shard in InfluxDB: ints stay ints, the rest floats.
        point.field(key, value if isinstance(value, int) else float(value))


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _when(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["ENDPOINT_MEASUREMENT", "RUN_MEASUREMENT", "history_points", "publish_run_history"]
