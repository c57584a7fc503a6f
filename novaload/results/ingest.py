"""Ingestion: k6 result files (JSON/NDJSON/CSV, plain or gzip) → :class:`RunResults`.

Several sources are segments of ONE split run and are merged with exact figures
(all samples together). The input is read once (``scan.run_scan``); everything
else is computed from the aggregated groups: k6's end-of-test values for every
metric and submetric, threshold verdicts, and the breakdown tables.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from novaload.config.models import DEFAULT_APDEX_T_MS
from novaload.errors import ConfigError, InputError
from novaload.results import breakdowns, distribution, endpoint_cap, exemplars, protocols
from novaload.results.completeness import Arrived
from novaload.results.model import MetricSummary, RunResults, ThresholdResult
from novaload.results.scan import ScanResult, run_scan
from novaload.results.sources import (
    GZIP_CUT_SHORT,
    EmptyResultsError,
    Source,
    find_bad_lines,
    sniff,
    tail_is_truncated,
    uncompressed_size,
)
from novaload.results.stats import trend_from
from novaload.results.summary import DEFAULT_TREND_STATS, K6Summary, load_k6_summary
from novaload.thresholds import (
    NO_DATA_CHOICES,
    MetricSelector,
    Threshold,
    check_aggregation,
    parse_metric_thresholds,
    parse_selector,
    thresholds_from_mapping,
)

if TYPE_CHECKING:
    from novaload.results.live import LiveResult

_BUILTIN_TYPES = {
    **dict.fromkeys(
        (
            "http_reqs",
            "data_sent",
            "data_received",
            "iterations",
            "dropped_iterations",
            "ws_sessions",
            "ws_msgs_sent",
            "ws_msgs_received",
            "grpc_streams",
            "grpc_streams_msgs_sent",
            "grpc_streams_msgs_received",
        ),
        "counter",
    ),
    **dict.fromkeys(("http_req_failed", "checks"), "rate"),
    **dict.fromkeys(("vus", "vus_max"), "gauge"),
    **dict.fromkeys(
        (
            "http_req_duration",
            "http_req_blocked",
            "http_req_connecting",
            "http_req_tls_handshaking",
            "http_req_sending",
            "http_req_waiting",
            "http_req_receiving",
            "iteration_duration",
            "group_duration",
            "ws_ping",
            "ws_session_duration",
            "ws_connecting",
            "grpc_req_duration",
        ),
        "trend",
    ),
}
_DATA_METRICS = ("data_sent", "data_received")
_EXTRA = "extra thresholds"


@dataclass(frozen=True, slots=True)
class _Sub:
    name: str
    parent: str
    selector: tuple[tuple[str, str], ...]


def ingest(
    sources: Sequence[Path],
    *,
    k6_summary: Path | None = None,
    extra_thresholds: Mapping[str, Sequence[str | Mapping]] | Sequence[Threshold] | None = None,
    thresholds_replace: bool = False,
    window_s: float = 1.0,
    lenient: bool = False,
    top_urls: int = 20,
    histogram_buckets: int = 40,
    memory_limit: str = "384MB",
    threads: int | None = None,
    engine: str = "auto",
    live: LiveResult | None = None,
    apdex_targets: Mapping[str, float] | None = None,
    apdex_t_ms: float = DEFAULT_APDEX_T_MS,
    trend_stats: Sequence[str] | None = None,
    no_data: Literal["pass", "fail"] = "pass",
    max_endpoints: int = endpoint_cap.DEFAULT_MAX_ENDPOINTS,
) -> RunResults:
    """Read one run's k6 output (one file, or one per execution segment).

    ``engine`` picks the single pass (see ``scan.run_scan``): "auto" (the C scanner
    for k6 JSON when built, DuckDB otherwise), "fast" or "duckdb". Both give the
    same figures; "duckdb" is the reference the fast path is tested against.
    ``live``: the pass already made while k6 ran (``results.live``); ``sources`` and
    ``window_s`` are then the live scan's.
    ``apdex_targets`` (endpoint name → T in ms) and ``apdex_t_ms`` (the others' T) set
    the Apdex target times (``results.distribution``).
    ``trend_stats``: k6's ``summaryTrendStats`` when no k6 summary tells them (k6's
    default otherwise). ``no_data="fail"``: a threshold whose (sub)metric received no
    samples fails the run (k6 passes or judges it on zeros; it is flagged either way).
    ``max_endpoints``: the rows of the endpoint tables; the endpoints beyond it with
    fewest requests are one ``(other)`` row (``results.endpoint_cap``).
    """
    if window_s <= 0:
        raise ConfigError("window must be > 0 seconds", key="window_s", value=window_s)
    endpoint_cap.check_max_endpoints(max_endpoints)
    if no_data not in NO_DATA_CHOICES:
        raise ConfigError("must be 'pass' or 'fail'", key="no_data", value=no_data)
    summary = load_k6_summary(k6_summary) if k6_summary is not None else None
    stats = _trend_stats(summary, trend_stats)
    extra = _extra_specs(extra_thresholds)
    if live is not None:
        srcs, scan, origin, window_s = live.sources, live.scan, live.origin_us, live.window_s
        skipped_empty = [f"{p}: results file is empty (did k6 write any output?)" for p in live.empty]
        empty_paths = list(live.empty)
        input_bytes = live.input_bytes
    else:
        if not sources:
            raise InputError("no results file given")
        srcs, empty = _sniff_all(sources)
        skipped_empty = [str(e) for e in empty]
        read = {s.path for s in srcs}
        empty_paths = [Path(p) for p in sources if Path(p) not in read]
        firsts = [s.first_us for s in srcs if s.first_us is not None]
        origin = min(firsts) if firsts else 0
        scan = run_scan(
            srcs,
            origin_us=origin,
            window_s=window_s,
            memory_limit=memory_limit,
            threads=threads,
            engine=engine,
            windowed=sorted({t.parsed_metric.metric for t in extra if t.window is not None}),
        )
        input_bytes = sum(uncompressed_size(s) for s in srcs)
    warnings, skipped, cut = _check_bad_lines(srcs, scan.groups, lenient)
    warnings[:0] = [f"{e}: skipped (the other results files have the run's samples)" for e in skipped_empty]
    res = _assemble(
        srcs,
        scan,
        summary,
        extra,
        thresholds_replace,
        warnings,
        skipped,
        origin,
        window_s,
        top_urls,
        histogram_buckets,
        input_bytes,
        apdex_targets,
        apdex_t_ms,
        stats,
        max_endpoints,
    )
    res.trend_stats = stats
    res.no_data_fails = no_data == "fail"
    res.k6_metric_names = frozenset(summary.values) if summary is not None else None
    res.arrived = _arrived(srcs, scan.groups, cut, empty_paths)
    return res


def _arrived(
    srcs: Sequence[Source], g: pd.DataFrame, cut: set[int], empty: Sequence[Path]
) -> dict[Path, Arrived]:
    """What each results file held (``results.completeness`` holds it against k6's counts)."""
    out = {Path(p): Arrived() for p in empty}
    for idx, src in enumerate(srcs):
        mine = g[g["src"] == idx]
        points = mine[(~mine["bad"]) & (mine["type"] == "Point")]
        per = points.groupby("metric", sort=False)[["n", "s"]].sum()
        samples = {str(m): (int(row.n), float(row.s)) for m, row in per.iterrows()}
        try:
            size = uncompressed_size(src) if src.path.is_file() else 0
        except OSError:
            size = 0
        out[src.path] = Arrived(int(mine["n"].sum()), size, idx in cut, samples)
    return out


def _trend_stats(summary: K6Summary | None, asked: Sequence[str] | None) -> tuple[str, ...]:
    """What k6 exported for each Trend: its summary says; else what was asked; else k6's default."""
    if summary is not None and summary.trend_stats_known:
        return summary.trend_stats
    if asked:
        for stat in asked:
            if stat not in ("avg", "min", "med", "max", "count") and not _is_percentile(stat):
                raise ConfigError(
                    "unknown summary trend stat (want avg, min, med, max, count or p(N))",
                    key="summary_trend_stats",
                    value=stat,
                )
        return tuple(asked)
    return summary.trend_stats if summary is not None else DEFAULT_TREND_STATS


def _is_percentile(stat: str) -> bool:
    if not (stat.startswith("p(") and stat.endswith(")")):
        return False
    try:
        return 0 <= float(stat[2:-1]) <= 100
    except ValueError:
        return False


def _extra_specs(
    extra: Mapping[str, Sequence[str | Mapping[Any, Any]]] | Sequence[Threshold] | None,
) -> list[Threshold]:
    """Extra thresholds as parsed ones (``load_thresholds_file``, which keeps the file
    name for messages) or as a ``{metric: [expr, ...]}`` mapping."""
    if not extra:
        return []
    if isinstance(extra, Mapping):
        return thresholds_from_mapping(extra, source="file", origin=_EXTRA)
    return list(extra)


def _sniff_all(sources: Sequence[Path]) -> tuple[list, list[EmptyResultsError]]:
    """Sniff every source. In a split run an instance may have had no VUs and written
    nothing: an empty segment is skipped (with a warning) as long as another has data."""
    srcs, empty = [], []
    for p in sources:
        try:
            srcs.append(sniff(Path(p)))
        except EmptyResultsError as exc:
            empty.append(exc)
    if not srcs:
        raise empty[0]
    return srcs, empty


# --------------------------------------------------------------------------- bad lines


def _check_bad_lines(srcs: list[Source], g: pd.DataFrame, lenient: bool) -> tuple[list[str], int, set[int]]:
    """Warnings, the lines skipped, and the sources whose last line (or gzip stream) is cut."""
    warnings: list[str] = []
    skipped = 0
    cut: set[int] = set()
    for idx, src in enumerate(srcs):
        mine = g[g["src"] == idx]
        bad = int(mine.loc[mine["bad"], "n"].sum())
        if bad == 0:
            continue
        total = int(mine["n"].sum())
        if not src.path.is_file():  # read from a pipe (--raw none): the lines are gone
            skipped += bad
            cut.add(idx)
            warnings.append(
                f"{src.path}: skipped {bad} invalid line(s) (a truncated last line if k6 was killed; "
                "the raw output was not kept, so they cannot be shown)"
            )
            continue
        if bad == 1 and tail_is_truncated(src):
            cut.add(idx)
            warnings.append(f"{src.path}:{total}: last line is truncated (k6 stopped mid-write?); ignored")
            continue
        found = find_bad_lines(src, limit=2)
        if bad == 1 and [f[1] for f in found] == [GZIP_CUT_SHORT]:
            cut.add(idx)
            warnings.append(
                f"{src.path}: {GZIP_CUT_SHORT} (k6 stopped mid-write?); the lines before it were read"
            )
            continue
        real = [f for f in found if not (f[2] and f[0] == _last_line(found, total))]
        if not real and found:
            cut.add(idx)
            line = found[0][0]
            warnings.append(f"{src.path}:{line}: last line is truncated (k6 stopped mid-write?); ignored")
            continue
        first = real[0] if real else (0, "invalid line", False)
        if not lenient:
            raise InputError(
                f"{src.path}:{first[0]}: not valid k6 JSON: {first[1]}",
                hint="use --lenient to skip invalid lines",
            )
        skipped += bad
        warnings.append(f"{src.path}: skipped {bad} invalid line(s), first at line {first[0]}: {first[1]}")
    return warnings, skipped, cut


def _last_line(found: list[tuple[int, str, bool]], total: int) -> int:
    return total if total else (found[-1][0] if found else -1)


# --------------------------------------------------------------------------- assembly


def _assemble(
    srcs: Sequence[Source],
    scan: ScanResult,
    summary: K6Summary | None,
    extra: list[Threshold],
    replace: bool,
    warnings: list[str],
    skipped: int,
    origin: int,
    window_s: float,
    top_urls: int,
    histogram_buckets: int,
    input_bytes: int,
    apdex_targets: Mapping[str, float] | None = None,
    apdex_t_ms: float = DEFAULT_APDEX_T_MS,
    trend_stats: tuple[str, ...] = DEFAULT_TREND_STATS,
    max_endpoints: int = endpoint_cap.DEFAULT_MAX_ENDPOINTS,
) -> RunResults:
    g = scan.groups
    good = g[~g["bad"]]
    pts = good[good["type"] == "Point"].copy()
    metric_lines = good[good["type"] == "Metric"]
    types, contains, script_thr, subs = _metric_meta(metric_lines, summary, pts)
    specs = _threshold_specs(script_thr, summary, extra, replace)
    incomplete = [] if replace else _unjudged_submetrics(subs, specs)
    for name in incomplete:
        warnings.append(
            f"threshold on {name}: k6's JSON output lists this submetric (k6 makes one only for a "
            "threshold) but not its thresholds: the verdict is incomplete (give --script or --k6-summary)"
        )
    if summary is None and not extra and srcs and all(s.format == "csv" for s in srcs):
        warnings.append(
            "k6's CSV output carries no thresholds: give --script, --thresholds or --k6-summary "
            "to judge the run as k6 did"
        )
    subs = _add_unsampled(types, contains, subs, specs, summary)
    tags = _tag_frame(pts, {k for s in subs for k, _ in s.selector})
    pts = pts.join(tags)
    protected = {v for sub in subs for k, v in sub.selector if k == "name"} | set(apdex_targets or ())
    pts, kept_endpoints, n_endpoints = endpoint_cap.cap_endpoints(pts, max_endpoints, protected)
    if kept_endpoints is not None:
        warnings.append(endpoint_cap.warning(n_endpoints, n_endpoints - len(kept_endpoints), max_endpoints))
    first_us = int(pts["first_us"].min()) if len(pts) else None
    last_us = int(pts["last_us"].max()) if len(pts) else None
    duration_s, source = _duration(summary, first_us, last_us)
    pcts = _wanted_percentiles(trend_stats, specs)
    # The canonical group order of trend sums, ranked once (sorting each metric's rows
    # by these object columns again was most of the figures' time).
    canon = np.empty(len(pts), dtype=np.int64)
    canon[pts.index.get_indexer(pts.sort_values(["src", "metric", "tg", "win"], kind="stable").index)] = (
        np.arange(len(pts))
    )
    pts["_canon"] = canon
    ctx = breakdowns.Context(scan, pts, duration_s, window_s, origin, first_us)
    metrics = _metrics(ctx, types, contains, subs, pcts, specs, warnings)
    thresholds = [t for m in metrics.values() for t in m.thresholds]
    thresholds += _orphan_thresholds(specs, metrics, warnings)
    res = RunResults(
        metrics=metrics,
        thresholds=thresholds,
        duration_s=duration_s,
        duration_source=source,
        started_at=_dt(first_us),
        ended_at=_dt(last_us),
        sources=[s.path for s in srcs],
        lines=int(g["n"].sum()),
        points=int(pts["n"].sum()),
        input_bytes=input_bytes,
        warnings=warnings,
        thresholds_incomplete=incomplete,
        skipped_lines=skipped,
        window_s=window_s,
        endpoints_capped_from=n_endpoints if kept_endpoints is not None else None,
    )
    if summary is not None:
        _compare_verdicts(res, summary, specs, warnings)
    breakdowns.fill(res, ctx, top_urls=top_urls, histogram_buckets=histogram_buckets)
    res.exemplars = exemplars.exemplars(scan.exemplars, kept_endpoints)
    bpcts = sorted(set(pcts) | protocols.wanted_percentiles(types))
    res.protocols = protocols.compute(
        ctx.rows_of,
        types,
        lambda mtype, rows: _values(ctx, mtype, rows, bpcts),
        http_requests=float(ctx.rows_of("http_reqs")["n"].sum()),
    )
    if (lead := res.protocols.lead) in protocols.CHARTED:
        sums, trends = protocols.CHARTED[lead]
        series = breakdowns.protocol_timeseries(ctx, sums, trends)
        res.protocols = dataclasses.replace(res.protocols, timeseries=series)
    distribution.fill(res, ctx, apdex_targets=apdex_targets, apdex_t_ms=apdex_t_ms)
    res.latency_source = lambda: breakdowns.latency_samples(ctx)
    res.latency_window_source = lambda t0, t1: breakdowns.latency_between(ctx, t0, t1)
    res.latency_digest_source = lambda m, seed: breakdowns.latency_digest(ctx, m, seed)
    return res


def _dt(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, tz=UTC)


def _duration(
    summary: K6Summary | None, first_us: int | None, last_us: int | None
) -> tuple[float, Literal["k6-summary", "sample-span"]]:
    if summary is not None and summary.duration_ns is not None:
        return summary.duration_ns / 1e9, "k6-summary"
    if first_us is None or last_us is None:
        return 0.0, "sample-span"
    return (last_us - first_us) / 1e6, "sample-span"


def _metric_meta(
    lines: pd.DataFrame, summary: K6Summary | None, pts: pd.DataFrame
) -> tuple[dict[str, str], dict[str, str], dict[str, list[object]], list[_Sub]]:
    types: dict[str, str] = {}
    contains: dict[str, str] = {}
    script_thr: dict[str, list[object]] = {}
    subs: list[_Sub] = []
    for row in lines.itertuples(index=False):
        types.setdefault(row.metric, str(row.mtype or ""))
        contains.setdefault(row.metric, str(row.contains or "default"))
        for expr in json.loads(row.thr) if isinstance(row.thr, str) else []:
            script_thr.setdefault(row.metric, []).append(expr)
        for sm in (json.loads(row.sub) if isinstance(row.sub, str) else None) or []:
            pairs = tuple(sorted((str(k), str(v)) for k, v in (sm.get("tags") or {}).items()))
            subs.append(_Sub(sm.get("name") or f"{row.metric}{{{sm.get('suffix', '')}}}", row.metric, pairs))
    for name in pts["metric"].unique():
        if name not in types:
            types[name] = _guess_type(name, summary)
        contains.setdefault(name, _guess_contains(name, types[name]))
    if "http_req_duration" in types and not any(
        s.parent == "http_req_duration" and s.selector == (("expected_response", "true"),) for s in subs
    ):
        subs.append(
            _Sub(
                "http_req_duration{expected_response:true}",
                "http_req_duration",
                (("expected_response", "true"),),
            )
        )
    return types, contains, script_thr, subs


def _guess_type(name: str, summary: K6Summary | None) -> str:
    if name in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[name]
    if summary is not None and summary.metric_types.get(name):
        return summary.metric_types[name]
    return "unknown"


def _guess_contains(name: str, mtype: str) -> str:
    if name in _DATA_METRICS:
        return "data"
    return "time" if mtype == "trend" and name in _BUILTIN_TYPES else "default"


# k6 makes this submetric for its own summary whenever the expected_response tag is on
# (internal/metrics/engine/engine.go): listed without a threshold, it says nothing.
_K6_OWN_SUBMETRIC = ("http_req_duration", (("expected_response", "true"),))


def _unjudged_submetrics(subs: Sequence[_Sub], specs: Sequence[Threshold]) -> list[str]:
    """Submetrics of the Metric lines that no known threshold is on (see RunResults)."""
    judged = {(s.parsed_metric.metric, s.parsed_metric.tags) for s in specs}
    return sorted(
        {
            s.name
            for s in subs
            if (s.parent, s.selector) not in judged and (s.parent, s.selector) != _K6_OWN_SUBMETRIC
        }
    )


def _threshold_specs(
    script_thr: Mapping[str, list[object]],
    summary: K6Summary | None,
    extra: list[Threshold],
    replace: bool,
) -> list[Threshold]:
    specs: list[Threshold] = []
    if not replace:
        for metric, items in script_thr.items():
            specs += _parse_script(metric, items)
        if summary is not None:
            for metric, verdicts in summary.verdicts.items():
                specs += _parse_script(metric, list(verdicts))
    specs += extra
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for s in specs:
        key = (s.parsed_metric.name, s.expression, s.source)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique


def _parse_script(metric: str, items: list[object]) -> list[Threshold]:
    """The script's thresholds as k6 wrote them (strings or the object form)."""
    try:
        return list(parse_metric_thresholds(metric, items, source="script", strict=False))
    except ValueError as exc:
        raise InputError(f"threshold {metric}: {items!r} in the k6 output: {exc}") from None


def _add_unsampled(
    types: dict[str, str],
    contains: dict[str, str],
    subs: list[_Sub],
    specs: Sequence[Threshold],
    summary: K6Summary | None,
) -> list[_Sub]:
    """Metrics and submetrics without samples that k6 still exports: every one with a
    threshold (its parent too) and whatever k6's own summary lists. Their values are
    k6's zero values; a metric whose type nobody tells stays out (its thresholds are
    "no data" with an unknown verdict)."""
    out = list(subs)
    names = [s.metric for s in specs] + (list(summary.values) if summary is not None else [])
    for name in names:
        try:
            sel = parse_selector(name)
        except ValueError:
            continue  # k6 does not export what it cannot parse either
        if sel.metric not in types:
            mtype = _guess_type(sel.metric, summary)
            if mtype == "unknown":
                continue
            types[sel.metric] = mtype
            contains.setdefault(sel.metric, _guess_contains(sel.metric, mtype))
        if sel.tags and not any(s.parent == sel.metric and s.selector == sel.tags for s in out):
            out.append(_Sub(sel.name, sel.metric, sel.tags))
    return out


def _wanted_percentiles(trend_stats: Sequence[str], specs: Sequence[Threshold]) -> list[float]:
    pcts = {90.0, 95.0, 99.0}
    pcts |= {float(st[2:-1]) for st in trend_stats if _is_percentile(st)}
    pcts |= {s.expr.percentile for s in specs if s.expr.percentile is not None}
    return sorted(pcts)


def _tag_frame(pts: pd.DataFrame, extra_keys: set[str]) -> pd.DataFrame:
    """The ``tag:*`` columns of ``pts``: each distinct tags text parsed once (a tag set
    has a group per metric and window), then spread over its rows."""
    keys = list(breakdowns.TAG_COLUMNS) + sorted(extra_keys - set(breakdowns.TAG_COLUMNS))
    codes, uniques = pd.factorize(pts["tg"], use_na_sentinel=False)
    table = np.empty((len(uniques), len(keys)), dtype=object)
    for i, tg in enumerate(uniques):
        d = json.loads(tg) if isinstance(tg, str) else {}
        for j, k in enumerate(keys):  # one cell at a time: a list value stays one object
            table[i, j] = d.get(k)
    return pd.DataFrame(table[codes], columns=[f"tag:{k}" for k in keys], index=pts.index, dtype=object)


# --------------------------------------------------------------------------- metrics


def _metrics(
    ctx: breakdowns.Context,
    types: Mapping[str, str],
    contains: Mapping[str, str],
    subs: Sequence[_Sub],
    pcts: Sequence[float],
    specs: Sequence[Threshold],
    warnings: list[str],
) -> dict[str, MetricSummary]:
    out: dict[str, MetricSummary] = {}
    for name in sorted(types):
        rows = ctx.rows_of(name)
        out[name] = _summarise(
            ctx, name, types[name], contains.get(name, "default"), rows, pcts, specs, None, ()
        )
    for sub in subs:
        if sub.name in out or sub.parent not in types:
            continue
        rows = breakdowns.select(ctx.rows_of(sub.parent), sub.selector)
        out[sub.name] = _summarise(
            ctx,
            sub.name,
            types[sub.parent],
            contains.get(sub.parent, "default"),
            rows,
            pcts,
            specs,
            sub.parent,
            sub.selector,
        )
    return out


def _summarise(
    ctx: breakdowns.Context,
    name: str,
    mtype: str,
    contains: str,
    rows: pd.DataFrame,
    pcts: Sequence[float],
    specs: Sequence[Threshold],
    parent: str | None,
    selector: tuple[tuple[str, str], ...],
) -> MetricSummary:
    values = _values(ctx, mtype, rows, pcts)
    n = int(rows["n"].sum())
    mine = [s for s in specs if _resolves_to(s.parsed_metric, name, parent, selector)]
    results = tuple(
        _judge(s, name, mtype, values, n) if s.window is None else _judge_windowed(ctx, s, mtype, rows)
        for s in mine
    )
    return MetricSummary(name, mtype, contains, values, results, parent, selector)


def _resolves_to(
    sel: MetricSelector, name: str, parent: str | None, selector: tuple[tuple[str, str], ...]
) -> bool:
    if parent is None:
        return not sel.tags and sel.metric == name
    return sel.metric == parent and sel.tags == selector


def _values(
    ctx: breakdowns.Context, mtype: str, rows: pd.DataFrame, pcts: Sequence[float]
) -> dict[str, float]:
    n = int(rows["n"].sum())
    if mtype == "counter":
        count = float(rows["s"].sum()) if n else 0.0
        return {"count": count, "rate": count / ctx.duration_s if ctx.duration_s else 0.0}
    if mtype == "rate":
        nz = int(rows["nz"].sum())
        return {"value": nz / n if n else 0.0, "passes": float(nz), "fails": float(n - nz)}
    if mtype == "gauge":
        if not n:
            return {"value": 0.0, "min": 0.0, "max": 0.0}
        last = rows.sort_values("last_us", kind="stable").iloc[-1]
        return {
            "value": float(last["last_v"]),
            "min": float(rows["mn"].min()),
            "max": float(rows["mx"].max()),
        }
    if mtype == "trend":
        # Add the values up left to right (as k6 does) in a canonical group order, each
        # group in file order: the total does not depend on how the scan split the file
        # over threads, nor on how the store streams it, so plain and gzip input and the
        # in-memory and streamed paths give bit-identical averages.
        gids = rows.index.to_numpy()[np.argsort(rows["_canon"].to_numpy(), kind="stable")]
        _, total, got = ctx.scan.store.trend(gids, sorted(set(pcts) | {50.0}))
        return trend_from(
            n,
            total if n else 0.0,
            float(rows["mn"].min()) if n else 0.0,
            float(rows["mx"].max()) if n else 0.0,
            got,
        )
    out = {"count": float(n)}
    if n:
        out.update(min=float(rows["mn"].min()), max=float(rows["mx"].max()), avg=float(rows["s"].sum()) / n)
    return out


def _judge(spec: Threshold, name: str, mtype: str, values: dict[str, float], n: int) -> ThresholdResult:
    expr = spec.expr
    if not check_aggregation(expr, mtype):
        origin = _EXTRA if spec.source == "file" else "script thresholds"
        raise ConfigError(
            f"aggregation {expr.aggregation!r} is not available for a {mtype} metric",
            file=origin,
            key=spec.metric,
            value=expr.source,
        )
    observed = values.get(expr.value_key(mtype))
    ok: bool | None
    if n == 0 and mtype == "rate":
        # k6 has no rate for an empty Rate sink: the threshold errors and stays untainted,
        # i.e. passes (internal/metrics/engine evaluateThresholds; k6 issue #4283).
        observed, ok = None, True
    else:
        ok = None if observed is None else expr.holds(observed)
    return ThresholdResult(
        spec.metric,
        expr.source,
        expr.aggregation,
        expr.operator,
        expr.limit,
        observed,
        ok,
        spec.abort_on_fail,
        "file" if spec.source == "file" else "script",
        no_data=n == 0,
    )


def _judge_windowed(
    ctx: breakdowns.Context, spec: Threshold, mtype: str, rows: pd.DataFrame
) -> ThresholdResult:
    from novaload.results.windows import judge_windowed

    _check_aggregation(spec, mtype)
    return judge_windowed(ctx, spec, mtype, rows)


def _check_aggregation(spec: Threshold, mtype: str) -> None:
    if not check_aggregation(spec.expr, mtype):
        origin = _EXTRA if spec.source == "file" else f"{spec.source} thresholds"
        raise ConfigError(
            f"aggregation {spec.expr.aggregation!r} is not available for a {mtype} metric",
            file=origin,
            key=spec.metric,
            value=spec.expression,
        )


def _orphan_thresholds(
    specs: Sequence[Threshold], metrics: Mapping[str, MetricSummary], warnings: list[str]
) -> list[ThresholdResult]:
    """Thresholds on metrics that never appeared: "no data", with a warning."""
    out = []
    judged = {(t.metric, t.expression) for m in metrics.values() for t in m.thresholds}
    for s in specs:
        if (s.metric, s.expression) in judged:
            continue
        warnings.append(f"threshold {s.metric}: {s.expression!r}: metric not in the results (no data)")
        out.append(
            ThresholdResult(
                s.metric,
                s.expression,
                s.expr.aggregation,
                s.expr.operator,
                s.expr.limit,
                None,
                None,
                s.abort_on_fail,
                s.source if s.window is not None else ("file" if s.source == "file" else "script"),
                window=None if s.window is None else str(s.window),
                no_data=True,
            )
        )
    return out


def _compare_verdicts(
    res: RunResults, summary: K6Summary, specs: Sequence[Threshold], warnings: list[str]
) -> None:
    """Warn where k6's own verdict differs from ours."""
    for m in res.metrics.values():
        theirs = summary.verdicts.get(m.name, {})
        for t in m.thresholds:
            if t.expression in theirs and t.ok is not None and theirs[t.expression] != t.ok:
                warnings.append(
                    f"threshold {t.metric}: {t.expression!r}: k6 said "
                    f"{'passed' if theirs[t.expression] else 'failed'}, the "
                    f"ingested samples say {t.status}"
                )


__all__ = ["ingest", "load_latency_samples"]


def load_latency_samples(
    sources: Sequence[Path], *, metric: str = "http_req_duration", memory_limit: str = "384MB"
) -> pd.DataFrame:
    """Raw ``http_req_duration`` values with their ``name`` tag: columns name, value."""
    import duckdb

    srcs, empty = _sniff_all(sources)
    parts = []
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit='{memory_limit}'")
        for s in srcs:
            if s.format != "json":
                raise InputError(f"{s.path}: latency samples need k6 JSON output")
            path = str(s.path).replace("'", "''")
            cols = (
                "{type: 'VARCHAR', metric: 'VARCHAR', data: "
                "'STRUCT(value DOUBLE, tags STRUCT(name VARCHAR))'}"
            )
            parts.append(
                con.execute(
                    f"SELECT data.tags.name AS name, data.value AS value FROM read_ndjson('{path}', "
                    f"columns={cols}, format='newline_delimited', compression='{s.compression}', "
                    f"ignore_errors=true) WHERE type = 'Point' AND metric = ?",
                    [metric],
                ).df()
            )
    except duckdb.Error as exc:
        raise InputError(f"cannot read latency samples: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"name": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    )
