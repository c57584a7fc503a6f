"""The single pass over the input: every source is read once and aggregated.

Every line becomes part of one group keyed by (source, line type, metric, the raw
tag set as JSON text, time window for the few metrics the time series needs, and
the Metric-line fields). Each group keeps count, sum, min, max, non-zero count,
first/last time, the last value (gauges) and — for metrics that may be trends —
all of its values, because k6's percentiles are exact. Real k6 output has a few
thousand such groups, so everything after this pass (totals, submetrics,
breakdowns, percentiles) works on small tables and numpy arrays.

Two engines produce the same :class:`ScanResult`: ``fastscan`` (a C scanner for
k6's own JSON line layout, parallel over byte ranges; ~5x faster and it keeps each
group's values in file order) for k6 JSON, and DuckDB (``read_ndjson``/``read_csv``)
for CSV output, or for everything when the C extension is not built. Tests check
that both give equal figures and tables.

Why the raw tag set as the key: it is one string, and it carries *every* tag, so
any submetric selector can be answered later without a second pass over the input.

Exemplars ride along: per (source, metric, tag set) the pass keeps the
``EXEMPLAR_SLOWEST`` slowest and the ``EXEMPLAR_FIRST`` earliest samples of
``EXEMPLAR_METRICS`` whose metadata carries a trace id (``ScanResult.exemplars``),
ranked in one total order both engines share (:func:`reduce_exemplars`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from novaload.errors import InputError
from novaload.results.sources import Source
from novaload.results.store import SealedStore

if TYPE_CHECKING:
    import duckdb

# Metrics that are never trends / never gauges (their values need no list).
NON_TREND_BUILTINS = (
    "http_reqs",
    "http_req_failed",
    "checks",
    "data_sent",
    "data_received",
    "iterations",
    "vus",
    "vus_max",
    "dropped_iterations",
    "ws_sessions",
    "ws_msgs_sent",
    "ws_msgs_received",
)
NON_GAUGE_BUILTINS = (
    "http_reqs",
    "http_req_failed",
    "checks",
    "data_sent",
    "data_received",
    "iterations",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "iteration_duration",
    "group_duration",
)
TIMESERIES_METRICS = (
    "http_reqs",
    "http_req_failed",
    "http_req_duration",
    "vus",
    "iterations",
    "data_sent",
    "data_received",
    "dropped_iterations",  # when the load generator fell behind (results.generator)
    # the charts of a run that made no HTTP request (results.protocols): no samples, no cost
    "grpc_req_duration",
    "grpc_streams",
    "ws_sessions",
    "ws_msgs_sent",
    "ws_msgs_received",
    "browser_http_req_duration",
)
# Traced samples kept per tag set: the slowest and the first (by time) of these metrics
# whose metadata has a trace id (k6's http-instrumentation-tempo, `run --traces`).
EXEMPLAR_METRICS = ("http_req_duration",)
EXEMPLAR_SLOWEST = 5
EXEMPLAR_FIRST = 3
# What counts as a trace id (both engines check it): hex for W3C, Jaeger and B3.
TRACE_ID_PATTERN = "[0-9A-Za-z._:-]{1,64}"
EXEMPLAR_COLUMNS = ("src", "metric", "tg", "kind", "value", "us", "trace_id")
_JSON_COLUMNS = (
    "{type: 'VARCHAR', metric: 'VARCHAR', data: 'STRUCT(time TIMESTAMPTZ, value DOUBLE, "
    "tags JSON, type VARCHAR, contains VARCHAR, thresholds JSON, submetrics JSON, metadata JSON)'}"
)
CSV_TAG_COLUMNS = (
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
)


def no_exemplars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "src": pd.Series(dtype=np.int64),
            "metric": pd.Series(dtype=object),
            "tg": pd.Series(dtype=object),
            "kind": pd.Series(dtype=np.int64),
            "value": pd.Series(dtype=np.float64),
            "us": pd.Series(dtype=np.int64),
            "trace_id": pd.Series(dtype=object),
        }
    )


def reduce_exemplars(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per ``by`` group, the ``EXEMPLAR_SLOWEST`` slowest (kind 0) and the
    ``EXEMPLAR_FIRST`` first (kind 1) of ``frame``'s exemplars, each kind in its order:
    slowest = longer first, then earlier, then the larger trace id; first = earlier
    first, then longer, then the smaller trace id (the C scanner's heaps and the DuckDB
    scan's max/min over structs keep the same)."""
    if frame.empty:
        return frame
    slow = frame[frame["kind"] == 0].sort_values(
        ["value", "us", "trace_id"], ascending=[False, True, False], kind="mergesort"
    )
    first = frame[frame["kind"] == 1].sort_values(
        ["us", "value", "trace_id"], ascending=[True, False, True], kind="mergesort"
    )
    keys = list(by)
    parts = [
        slow.groupby(keys, sort=False, dropna=False).head(EXEMPLAR_SLOWEST),
        first.groupby(keys, sort=False, dropna=False).head(EXEMPLAR_FIRST),
    ]
    return pd.concat(parts, ignore_index=True)


@dataclass(slots=True)
class ScanResult:
    groups: pd.DataFrame  # one row per group, column gid = row position
    store: SealedStore  # every kept value, by group (on disk for the C scan)
    # EXEMPLAR_COLUMNS: per (src, metric, tg) the traced samples kept (reduce_exemplars)
    exemplars: pd.DataFrame = field(default_factory=no_exemplars)

    @property
    def offsets(self) -> np.ndarray:
        """values[offsets[g]:offsets[g+1]] belong to group g (see ``values``)."""
        out = np.zeros(len(self.groups) + 1, dtype=np.int64)
        np.cumsum(self.store.group_n[: len(self.groups)], out=out[1:])
        return out

    @property
    def values(self) -> np.ndarray:
        """Every kept value in memory, grouped by gid (for tests and small inputs)."""
        return self.store.read(np.arange(len(self.groups)))


def _sql_list(names: Sequence[str]) -> str:
    return "(" + ", ".join("'" + n.replace("'", "''") + "'" for n in names) + ")"


def _json_select(idx: int, src: Source) -> str:
    path = str(src.path).replace("'", "''")
    # The first "trace_id" of the metadata when it is a string (->> takes the first of
    # duplicate keys, as the C scanner does)
    tid = (
        f"CASE WHEN metric IN {_sql_list(EXEMPLAR_METRICS)} AND json_type(data.metadata, '$.trace_id') = "
        f"'VARCHAR' THEN data.metadata->>'$.trace_id' END"
    )
    return (
        f"SELECT {idx} AS src, type, metric, data.value AS v, epoch_us(data.time) AS us, "
        f"data.tags::VARCHAR AS tg, data.type AS mtype, data.contains AS contains, "
        f"data.thresholds::VARCHAR AS thr, data.submetrics::VARCHAR AS sub, {tid} AS tid "
        f"FROM read_ndjson('{path}', columns={_JSON_COLUMNS}, format='newline_delimited', "
        f"compression='{src.compression}', ignore_errors=true)"
    )


def _csv_select(idx: int, src: Source) -> str:
    path = str(src.path).replace("'", "''")
    present = [c for c in CSV_TAG_COLUMNS if c in src.csv_columns]
    # Empty CSV cells mean "tag absent", except `group` whose root value is "".
    pairs = ", ".join(
        f"'{c}', NULLIF(\"{c}\", '')" if c != "group" else "'group', \"group\"" for c in present
    )
    tg = f"json_object({pairs})::VARCHAR" if pairs else "'{}'"
    ts = 'TRY_CAST("timestamp" AS DOUBLE)'
    us = (
        f'CASE WHEN {ts} IS NULL THEN epoch_us(TRY_CAST("timestamp" AS TIMESTAMPTZ)) '
        f"WHEN {ts} > 1e17 THEN CAST({ts} / 1000 AS BIGINT) "
        f"WHEN {ts} > 1e14 THEN CAST({ts} AS BIGINT) "
        f"WHEN {ts} > 1e11 THEN CAST({ts} * 1000 AS BIGINT) "
        f"ELSE CAST({ts} * 1000000 AS BIGINT) END"
    )
    # k6 writes a sample's metadata as key=value pairs joined by & (output/csv)
    tid = (
        f"CASE WHEN metric_name IN {_sql_list(EXEMPLAR_METRICS)} THEN "
        f"nullif(regexp_extract(\"metadata\", '(?:^|&)trace_id=([^&]*)', 1), '') END"
        if "metadata" in src.csv_columns
        else "NULL::VARCHAR"
    )
    return (
        f"SELECT {idx} AS src, CASE WHEN metric_name IS NULL THEN NULL ELSE 'Point' END AS type, "
        f"metric_name AS metric, TRY_CAST(metric_value AS DOUBLE) AS v, {us} AS us, {tg} AS tg, "
        f"NULL::VARCHAR AS mtype, NULL::VARCHAR AS contains, NULL::VARCHAR AS thr, "
        f"NULL::VARCHAR AS sub, {tid} AS tid "
        f"FROM read_csv('{path}', header=true, all_varchar=true, compression='{src.compression}',"
        f" ignore_errors=true, null_padding=true)"
    )


def _aggregate_sql(
    sources: Sequence[tuple[int, Source]],
    origin_us: int,
    window_us: int,
    timeseries: Sequence[str] = TIMESERIES_METRICS,
) -> str:
    parts = [(_csv_select if s.format == "csv" else _json_select)(i, s) for i, s in sources]
    rows = "\nUNION ALL\n".join(parts)
    bad = (
        "type IS NULL OR metric IS NULL OR type NOT IN ('Point', 'Metric') "
        "OR (type = 'Point' AND (v IS NULL OR us IS NULL OR NOT isfinite(v)))"
    )
    traced = f"type = 'Point' AND tid IS NOT NULL AND regexp_full_match(tid, '{TRACE_ID_PATTERN}')"
    return f"""
CREATE TEMP TABLE agg AS
WITH r AS ({rows})
SELECT src, ({bad}) AS bad, type, metric, mtype, contains, thr, sub, tg,
  CASE WHEN metric IN {_sql_list(timeseries)}
       THEN CASE WHEN us >= {origin_us} THEN (us - {origin_us}) // {window_us}
                 ELSE -(({origin_us} - us + {window_us} - 1) // {window_us}) END END AS win,
  count(*) AS n, fsum(v) AS s, min(v) AS mn, max(v) AS mx,
  count(*) FILTER (WHERE v <> 0) AS nz, min(us) AS first_us, max(us) AS last_us,
  arg_max(v, us) FILTER (WHERE metric NOT IN {_sql_list(NON_GAUGE_BUILTINS)}) AS last_v,
  list(v) FILTER (WHERE type = 'Point' AND metric NOT IN {_sql_list(NON_TREND_BUILTINS)}) AS vals,
  max(struct_pack(v := v, nus := -us, tid := tid), {EXEMPLAR_SLOWEST}) FILTER (WHERE {traced}) AS ex_slow,
  min(struct_pack(us := us, nv := -v, tid := tid), {EXEMPLAR_FIRST}) FILTER (WHERE {traced}) AS ex_first
FROM r GROUP BY ALL
"""


def run_scan(
    sources: Sequence[Source],
    *,
    origin_us: int,
    window_s: float,
    memory_limit: str,
    threads: int | None,
    engine: str = "auto",
    store_dir: Path | None = None,
    windowed: Sequence[str] = (),
) -> ScanResult:
    """One pass over all sources; see the module docstring.

    ``windowed``: metrics besides ``TIMESERIES_METRICS`` whose groups are kept per
    time window (those a windowed threshold judges).

    ``engine``: "fast" (the C scanner of ``fastscan``; k6 JSON only), "duckdb", or
    "auto" = fast for JSON sources when the extension is built, DuckDB for the rest.
    """
    window_us = max(1, round(window_s * 1_000_000))
    timeseries = tuple(dict.fromkeys((*TIMESERIES_METRICS, *windowed)))
    from novaload.results import fastscan

    use_fast = engine == "fast" or (engine == "auto" and fastscan.available())
    if engine not in ("auto", "fast", "duckdb"):
        raise ValueError(f"unknown scan engine {engine!r}")
    if not use_fast:
        return _duckdb_scan(list(enumerate(sources)), origin_us, window_us, memory_limit, threads, timeseries)
    json_srcs = [(i, s) for i, s in enumerate(sources) if s.format == "json"]
    other = [(i, s) for i, s in enumerate(sources) if s.format != "json"]
    parts = []
    if json_srcs:
        parts.append(
            fastscan.scan(
                json_srcs,
                origin_us=origin_us,
                window_us=window_us,
                threads=threads,
                non_trend=NON_TREND_BUILTINS,
                timeseries=timeseries,
                store_dir=store_dir,
            )
        )
    if other:
        parts.append(_duckdb_scan(other, origin_us, window_us, memory_limit, threads, timeseries))
    return parts[0] if len(parts) == 1 else concat(parts)


def concat(parts: Sequence[ScanResult]) -> ScanResult:
    """Several scan results as one (group ids renumbered, stores joined)."""
    out = pd.concat([p.groups for p in parts], ignore_index=True)
    out["gid"] = np.arange(len(out), dtype=np.int32)
    exemplars = pd.concat([p.exemplars for p in parts], ignore_index=True)
    return ScanResult(out, ChainedStore([p.store for p in parts]), exemplars)


def _duckdb_scan(
    sources: Sequence[tuple[int, Source]],
    origin_us: int,
    window_us: int,
    memory_limit: str,
    threads: int | None,
    timeseries: Sequence[str] = TIMESERIES_METRICS,
) -> ScanResult:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="novaload-duckdb-") as tmp:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET memory_limit='{memory_limit}'")
            con.execute("SET preserve_insertion_order=false")
            con.execute(f"SET temp_directory='{tmp}'")
            if threads:
                con.execute(f"SET threads={int(threads)}")
            con.execute(_aggregate_sql(sources, origin_us, window_us, timeseries))
            return _fetch(con)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            names = ", ".join(str(s.path) for _, s in sources)
            raise InputError(f"cannot read results ({names}): {first}") from None
        finally:
            con.close()


def _fetch(con: duckdb.DuckDBPyConnection) -> ScanResult:
    con.execute("CREATE TEMP TABLE g AS SELECT (row_number() OVER () - 1)::INTEGER AS gid, * FROM agg")
    groups = con.execute(
        "SELECT * EXCLUDE (vals, ex_slow, ex_first), coalesce(len(vals), 0) AS nvals FROM g ORDER BY gid"
    ).df()
    exemplars = con.execute(
        "SELECT src, metric, tg, 0 AS kind, e.v AS value, -e.nus AS us, e.tid AS trace_id FROM "
        "(SELECT src, metric, tg, unnest(ex_slow) AS e FROM g WHERE NOT bad) "
        "UNION ALL SELECT src, metric, tg, 1, -e.nv, e.us, e.tid FROM "
        "(SELECT src, metric, tg, unnest(ex_first) AS e FROM g WHERE NOT bad)"
    ).df()
    flat = con.execute("SELECT gid, unnest(vals) AS v FROM g").fetchnumpy()
    gids = np.asarray(flat["gid"], dtype=np.int64)
    vals = np.asarray(flat["v"], dtype=np.float64)
    order = np.argsort(gids, kind="stable")
    counts = groups["nvals"].to_numpy(dtype=np.int64)
    offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if exemplars.empty:
        exemplars = no_exemplars()
    else:
        exemplars = reduce_exemplars(
            exemplars.astype({"src": np.int64, "kind": np.int64, "us": np.int64}), ("src", "metric", "tg")
        )
    return ScanResult(groups, SealedStore.from_array(vals[order], offsets), exemplars)


class ChainedStore(SealedStore):
    """Several sealed stores as one; group ids run on from one store to the next."""

    def __init__(self, parts: Sequence[SealedStore]) -> None:
        self.parts = list(parts)
        self.bases = np.cumsum([0] + [len(p.group_n) for p in self.parts])
        self.group_n = np.concatenate([p.group_n for p in self.parts])

    def _split(self, gids: Sequence[int] | np.ndarray) -> list[tuple[SealedStore, np.ndarray]]:
        g = np.asarray(gids, dtype=np.int64)
        which = np.searchsorted(self.bases, g, side="right") - 1
        out = []
        # consecutive runs of one part keep the order asked for
        cuts = np.flatnonzero(np.diff(which)) + 1
        for run in np.split(np.arange(len(g)), cuts):
            if len(run):
                i = int(which[run[0]])
                out.append((self.parts[i], g[run] - self.bases[i]))
        return out

    def read(self, gids: Sequence[int] | np.ndarray) -> np.ndarray:
        got = [p.read(g) for p, g in self._split(gids)]
        return np.concatenate(got) if got else np.zeros(0)

    def chunks(self, gids: Sequence[int] | np.ndarray, size: int = 0) -> Iterator[np.ndarray]:
        for p, g in self._split(gids):
            yield from p.chunks(g, size)

    def close(self) -> None:
        for p in self.parts:
            p.close()

    def __del__(self) -> None:
        pass


__all__ = [
    "EXEMPLAR_FIRST",
    "EXEMPLAR_METRICS",
    "EXEMPLAR_SLOWEST",
    "NON_TREND_BUILTINS",
    "TIMESERIES_METRICS",
    "ScanResult",
    "concat",
    "reduce_exemplars",
    "run_scan",
]
