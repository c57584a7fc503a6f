"""A run's exemplars: which traced requests the reports show as examples, and in what order.

The scan keeps, per tag set, the slowest and the first traced samples of
``http_req_duration`` (``ScanResult.exemplars``: bounded, whatever the run's length).
Here they are grouped by endpoint, the name the endpoint table uses: per endpoint the
``EXEMPLAR_SLOWEST`` slowest requests, then its ``EXEMPLAR_FIRST`` first failed ones
that are not among them. A request failed as k6's ``http_req_failed`` says, from its
``expected_response`` tag; without that tag (``systemTags`` may drop it), a status of 0
(no response) or from 400 up.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pandas as pd

from novaload.results.endpoint_cap import OTHER
from novaload.results.model import Exemplar
from novaload.results.scan import EXEMPLAR_FIRST, EXEMPLAR_SLOWEST, reduce_exemplars

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def failed(tags: dict) -> bool:
    """Whether a request with these tags failed, as ``http_req_failed`` counts it."""
    expected = tags.get("expected_response")
    if expected is not None:
        return str(expected) == "false"
    status = str(tags.get("status", ""))
    return status == "0" or (status.isdigit() and int(status) >= 400)


def endpoint_of(tags: dict) -> str:
    """The endpoint a request belongs to in the reports (its ``name`` tag)."""
    name = tags.get("name")
    return "" if name is None else str(name)


def exemplars(frame: pd.DataFrame, endpoints_kept: Collection[str] | None = None) -> list[Exemplar]:
    """The exemplars of a scan's kept traced samples (``ScanResult.exemplars``): every
    endpoint's slowest, slowest first, then the first failed ones, earliest first.
    ``endpoints_kept``: the endpoints of a capped run (``endpoint_cap``); the others' are
    ``(other)``'s, as in the endpoint table."""
    if frame.empty:
        return []
    parsed: dict[object, dict] = {}
    endpoints, statuses, fails = [], [], []
    for tg in frame["tg"]:
        tags = parsed.get(tg)
        if tags is None:
            try:
                loaded = json.loads(tg) if isinstance(tg, str) else {}
            except ValueError:
                loaded = {}
            tags = parsed[tg] = loaded if isinstance(loaded, dict) else {}
        endpoint = endpoint_of(tags)
        if endpoints_kept is not None and endpoint not in endpoints_kept:
            endpoint = OTHER
        endpoints.append(endpoint)
        statuses.append(str(tags.get("status", "")))
        fails.append(failed(tags))
    rows = frame.assign(endpoint=endpoints, status=statuses, failed=fails)
    rows = rows[(rows["kind"] == 0) | rows["failed"]]
    kept = reduce_exemplars(rows, ("endpoint",))
    slow = kept[kept["kind"] == 0].sort_values(
        ["value", "us", "trace_id"], ascending=[False, True, False], kind="mergesort"
    )
    seen = {(r.endpoint, r.trace_id, r.us) for r in slow.itertuples(index=False)}
    first = kept[kept["kind"] == 1].sort_values(
        ["us", "value", "trace_id"], ascending=[True, False, True], kind="mergesort"
    )
    out = [_exemplar(r, "slowest") for r in slow.itertuples(index=False)]
    out += [
        _exemplar(r, "failed")
        for r in first.itertuples(index=False)
        if (r.endpoint, r.trace_id, r.us) not in seen
    ]
    return out


def _exemplar(row: object, kind: str) -> Exemplar:
    return Exemplar(
        endpoint=str(row.endpoint),  # type: ignore[attr-defined]
        trace_id=str(row.trace_id),  # type: ignore[attr-defined]
        duration_ms=float(row.value),  # type: ignore[attr-defined]
        status=str(row.status),  # type: ignore[attr-defined]
        time=_EPOCH + timedelta(microseconds=int(row.us)),  # type: ignore[attr-defined]
        kind="slowest" if kind == "slowest" else "failed",
    )


def to_json(exemplar: Exemplar) -> dict:
    """An exemplar as ``summary.json``'s ``novaload.exemplars`` lists it."""
    return {
        "endpoint": exemplar.endpoint,
        "trace_id": exemplar.trace_id,
        "duration_ms": exemplar.duration_ms,
        "status": exemplar.status,
        "time": exemplar.time.isoformat().replace("+00:00", "Z"),
        "kind": exemplar.kind,
    }


__all__ = ["EXEMPLAR_FIRST", "EXEMPLAR_SLOWEST", "endpoint_of", "exemplars", "failed", "to_json"]
