"""``endpoints.csv`` and ``timeseries.csv``: the results' DataFrames as written
by the results engine, for spreadsheets and scripts. Values are exact (floats
in round-trip form); times are ISO 8601 UTC.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from novaload.reports.base import ReportContext, write_atomic
from novaload.results.model import RunResults


def _iso_utc(col: pd.Series) -> pd.Series:
    """ISO 8601 with a Z suffix; naive times are taken as UTC (the model's convention)."""
    times = pd.to_datetime(col, utc=True)
    return times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").where(times.notna(), "")


def endpoints_csv(results: RunResults) -> str:
    return results.endpoints.to_csv(index=False, lineterminator="\n")


def timeseries_csv(results: RunResults) -> str:
    ts = results.timeseries
    if "time" in ts.columns and len(ts):
        ts = ts.assign(time=_iso_utc(ts["time"]))
    return ts.to_csv(index=False, lineterminator="\n")


class EndpointsCsvReporter:
    name = "endpoints"
    filename = "endpoints.csv"

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, endpoints_csv(results))


class TimeseriesCsvReporter:
    name = "timeseries"
    filename = "timeseries.csv"

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, timeseries_csv(results))


__all__ = ["EndpointsCsvReporter", "TimeseriesCsvReporter", "endpoints_csv", "timeseries_csv"]
