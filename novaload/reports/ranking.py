"""Which endpoints a report shows first: the problem, not the busiest.

An endpoint (k6's ``name`` tag) ranks by, in this order: a failed threshold on one of
its submetrics (``http_req_duration{name:search}``, ``http_req_failed{name:search}``, ...),
its error rate, its p95, then its name (so equal figures still give one order). The
HTML and Markdown reports both read the ranking from here, so they list the endpoints
the same way.
"""

from __future__ import annotations

import pandas as pd

from novaload.results.model import RunResults, ThresholdResult


def breached_by_endpoint(results: RunResults) -> dict[str, list[ThresholdResult]]:
    """The failed thresholds of each endpoint whose own submetric failed one."""
    out: dict[str, list[ThresholdResult]] = {}
    for t in results.thresholds:
        if t.status != "failed":
            continue
        for key, value in t.selector.tags:
            if key == "name":
                out.setdefault(value, []).append(t)
    return out


def rank_endpoints(results: RunResults) -> pd.DataFrame:
    """``results.endpoints`` worst first (see the module docstring)."""
    ep = results.endpoints
    if ep.empty or "name" not in ep.columns:
        return ep
    breached = breached_by_endpoint(results)
    keys = pd.DataFrame(
        {
            "breached": [str(n) in breached for n in ep["name"]],
            "error_rate": _numeric(ep, "error_rate"),
            "p95": _numeric(ep, "p95"),
            "name": ep["name"].astype(str),
        },
        index=ep.index,
    )
    order = keys.sort_values(
        ["breached", "error_rate", "p95", "name"],
        ascending=[False, False, False, True],
        kind="stable",
        na_position="last",
    ).index
    return ep.loc[order]


def _numeric(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(float("nan"), index=df.index)
    return pd.to_numeric(df[col], errors="coerce").astype(float)


__all__ = ["breached_by_endpoint", "rank_endpoints"]
