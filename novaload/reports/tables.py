"""``endpoints.csv``, ``timeseries.csv`` and ``protocols.csv``: the results' tables as
written by the results engine, for spreadsheets and scripts. Values are exact (floats
in round-trip form); times are ISO 8601 UTC.

Text cells come from the system under test and the script (endpoint names, URLs, tag
values), so a cell that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``, as
OWASP's CSV-injection rule says. Numbers are never touched (a negative figure stays a
number).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from novaload.reports.base import ReportContext, write_atomic
from novaload.results.model import RunResults
from novaload.results.protocols import Protocols
from novaload.runfolder import ENDPOINTS_CSV, PROTOCOLS_CSV, TIMESERIES_CSV


def _iso_utc(col: pd.Series) -> pd.Series:
    """ISO 8601 with a Z suffix; naive times are taken as UTC (the model's convention)."""
    times = pd.to_datetime(col, utc=True)
    return times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").where(times.notna(), "")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """``'=1+1`` for ``=1+1``: a text cell a spreadsheet would evaluate is kept as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]
    if not text or not len(frame):
        return frame
    return frame.assign(**{c: frame[c].map(neutralise_cell) for c in text})


def endpoints_csv(results: RunResults) -> str:
    return _neutralised(results.endpoints).to_csv(index=False, lineterminator="\n")


def timeseries_csv(results: RunResults) -> str:
    ts = results.timeseries
    if "time" in ts.columns and len(ts):
        ts = ts.assign(time=_iso_utc(ts["time"]))
    return _neutralised(ts).to_csv(index=False, lineterminator="\n")


def protocols_frame(protocols: Protocols) -> pd.DataFrame:
    """One row per breakdown row (``results.protocols``): metric, type, by (the tags it is
    broken down by, comma-separated), a ``tag:<key>`` column per tag key, then the values
    (k6's keys: count, rate, value, passes, fails, avg, min, med, max, p(N))."""
    rows = [
        {"metric": b.metric, "type": b.type, "by": ",".join(b.by),
         **{f"tag:{k}": v for k, v in r.tags}, **r.values}
        for b in protocols.breakdowns.values()
        for r in b.rows
    ]
    head = ["metric", "type", "by"]
    tags = sorted({c for row in rows for c in row if c.startswith("tag:")})
    order = ("count", "rate", "value", "passes", "fails", "avg", "min", "med", "max")
    seen = {c for row in rows for c in row} - set(head) - set(tags)
    pcts = sorted((c for c in seen if c.startswith("p(") and c != "p(50)"), key=lambda c: float(c[2:-1]))
    cols = head + tags + [c for c in order if c in seen] + pcts
    return pd.DataFrame(rows, columns=cols)


def protocols_csv(results: RunResults) -> str:
    return _neutralised(protocols_frame(results.protocols)).to_csv(index=False, lineterminator="\n")


class EndpointsCsvReporter:
    name = "endpoints"
    filename = ENDPOINTS_CSV

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, endpoints_csv(results))


class TimeseriesCsvReporter:
    name = "timeseries"
    filename = TIMESERIES_CSV

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, timeseries_csv(results))


class ProtocolsCsvReporter:
    name = "protocols"
    filename = PROTOCOLS_CSV

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, protocols_csv(results))


__all__ = [
    "EndpointsCsvReporter",
    "ProtocolsCsvReporter",
    "TimeseriesCsvReporter",
    "endpoints_csv",
    "neutralise_cell",
    "protocols_csv",
    "protocols_frame",
    "timeseries_csv",
]
