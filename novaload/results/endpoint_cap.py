"""The cap on endpoint rows: a run whose requests carry thousands of distinct ``name``
tags (k6 sets ``name`` to the URL when a script gives none, so ids in URLs make one
endpoint per id) keeps the ``max_endpoints`` endpoints with most requests; the others
become one :data:`OTHER` endpoint whose figures are computed over all of their samples.

Only the endpoint tables change. k6's own figures (every metric, every submetric a
threshold names) are computed from the same samples as before: the ``name`` of a
request that a threshold's selector names is never rewritten, and totals are sums over
tag sets, whatever their names. Without the cap a run with 100,000 distinct URLs spent
minutes in per-endpoint tables nobody can read (``benchmarks/bench_endpoints.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from novaload.errors import ConfigError

if TYPE_CHECKING:  # the run checks --max-endpoints before k6 starts: no pandas then
    import pandas as pd

OTHER = "(other)"
DEFAULT_MAX_ENDPOINTS = 1000
NAME = "tag:name"
# The metrics whose samples are a request's: the endpoint tables read these.
_REQUEST_METRIC_PREFIX = "http_req"


def check_max_endpoints(value: int) -> int:
    if value < 1:
        raise ConfigError("must be at least 1", key="max_endpoints", value=value)
    return value


def cap_endpoints(
    pts: pd.DataFrame, max_endpoints: int, protected: Iterable[str] = ()
) -> tuple[pd.DataFrame, frozenset[str] | None, int]:
    """``pts`` (Point groups with ``tag:*`` columns) with the ``name`` of the requests of
    every endpoint beyond the ``max_endpoints`` with most requests rewritten to OTHER.

    Returns (pts, the names kept or None when nothing was capped, how many distinct
    names there were). ``protected`` names (a threshold's selector, an Apdex target) are
    kept, beyond the cap if need be; ties in request count keep the name first in order.
    """
    check_max_endpoints(max_endpoints)
    if NAME not in pts or pts.empty:
        return pts, None, 0
    is_request = pts["metric"].astype(str).str.startswith(_REQUEST_METRIC_PREFIX).to_numpy()
    names = pts.loc[is_request, NAME]
    durations = pts.loc[is_request & (pts["metric"] == "http_req_duration").to_numpy()]
    counts = durations.groupby(durations[NAME].fillna(""), sort=True)["n"].sum()
    distinct = set(names.dropna().astype(str))
    if len(distinct) <= max_endpoints:
        return pts, None, 0
    ranked = counts.sort_values(ascending=False, kind="stable")  # ties: the name order
    keep = set(map(str, ranked.index[:max_endpoints])) | (set(protected) & distinct)
    out = pts.copy()
    rewrite = is_request & out[NAME].notna().to_numpy() & ~out[NAME].isin(keep).to_numpy()
    out.loc[rewrite, NAME] = OTHER
    return out, frozenset(keep), len(distinct)


def warning(total: int, capped: int, max_endpoints: int) -> str:
    return (
        f"{total:,} endpoints (distinct name tags) are more than --max-endpoints {max_endpoints:,}: "
        f"the {capped:,} with fewest requests are one '{OTHER}' row. k6 names a request by its URL "
        "when the script gives no name tag: give such requests one, or build their URLs with http.url``"
    )


__all__ = ["DEFAULT_MAX_ENDPOINTS", "OTHER", "cap_endpoints", "check_max_endpoints", "warning"]
