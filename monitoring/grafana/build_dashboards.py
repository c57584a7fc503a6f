"""Writes the three novaload Grafana dashboards (JSON) from one description.

The JSON files in ``dashboards/`` are what Grafana provisions; this script is how
they are made, so the Prometheus and InfluxDB twins stay panel-for-panel alike.
``tests/monitoring`` checks that the committed files equal this script's output.

    python monitoring/grafana/build_dashboards.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "dashboards"

PROM = {"type": "prometheus", "uid": "novaload-prometheus"}
INFLUX = {"type": "influxdb", "uid": "novaload-influxdb"}
LOKI = {"type": "loki", "uid": "novaload-loki"}

# Uids the library links to (novaload.monitoring.outputs.grafana_run_url).
UID_PROM = "novaload-k6-prometheus"
UID_INFLUX = "novaload-k6-influxdb"
UID_HISTORY = "novaload-run-history"

Json = dict[str, Any]


class _Layout:
    """Hands out panel ids and grid positions row by row (24 columns)."""

    def __init__(self) -> None:
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_h = 0

    def place(self, w: int, h: int) -> tuple[int, Json]:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        pid = self.next_id
        self.next_id += 1
        return pid, pos


def _panel(
    layout: _Layout,
    kind: str,
    title: str,
    ds: Json,
    targets: list[Json],
    *,
    unit: str = "short",
    w: int = 12,
    h: int = 8,
    description: str = "",
    options: Json | None = None,
    decimals: int | None = None,
) -> Json:
    pid, pos = layout.place(w, h)
    defaults: Json = {"unit": unit}
    if decimals is not None:
        defaults["decimals"] = decimals
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "auto",
            "spanNulls": False,
        }
    panel: Json = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "gridPos": pos,
        "datasource": ds,
        "targets": [dict(t, refId=chr(ord("A") + i), datasource=ds) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
    }
    if kind == "stat":
        panel["options"] = options or {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    if kind == "timeseries":
        panel["options"] = options or {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return panel


def _prom(expr: str, legend: str = "") -> Json:
    return {"expr": expr, "legendFormat": legend, "range": True, "instant": False}


def _influx(query: str, alias: str = "") -> Json:
    return {"query": query, "rawQuery": True, "resultFormat": "time_series", "alias": alias}


def _testid_variable(datasource: Json, query: str | Json, definition: str) -> Json:
    """The one-run picker of the live dashboards (newest testid first, no "All")."""
    return {
        "name": "testid",
        "label": "Test run (testid)",
        "type": "query",
        "datasource": datasource,
        "query": query,
        "definition": definition,
        "refresh": 2,
        "sort": 2,
        "multi": False,
        "includeAll": False,
        "current": {},
        "options": [],
    }


def _dashboard(
    uid: str,
    title: str,
    description: str,
    templating: list[Json],
    panels: list[Json],
    *,
    refresh: str = "5s",
    time_from: str = "now-15m",
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["novaload", "k6"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": templating},
        "panels": panels,
    }


# --- (1) live run overview on Prometheus ---------------------------------------------

# Latency panels work in both of k6's trend modes: each has the stat-gauge query
# (K6_PROMETHEUS_RW_TREND_STATS, k6_http_req_duration_p95: k6's percentile since the
# run started, never reset) and the native-histogram query
# (K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM, k6_http_req_duration_seconds: the
# percentile over the rate window). A run has one or the other, so one query is empty.
CUMULATIVE = (
    "k6 sends its percentile since the run started (never reset): a slow minute late in a long "
    "run barely moves it. In native-histogram mode the percentile is over the rate window."
)


def _native_quantile(q: float, t: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return (
        f"histogram_quantile({q}, sum{grouping} "
        f"(rate(k6_http_req_duration_seconds{{{t}}}[$__rate_interval])))"
    )


def _prometheus_overview() -> Json:
    t = 'testid=~"$testid"'
    reqs_rate = f"rate(k6_http_reqs_total{{{t}}}[$__rate_interval])"
    failed_w = f"{reqs_rate} * k6_http_req_failed_rate{{{t}}}"  # see rules/k6-alerts.yml
    L = _Layout()
    panels = [
        _panel(L, "stat", "Requests", PROM, [_prom(f"sum(k6_http_reqs_total{{{t}}})", "requests")], w=6, h=4),
        _panel(
            L,
            "stat",
            "Failed requests (whole run)",
            PROM,
            [
                _prom(
                    f"sum(k6_http_req_failed_rate{{{t}}} * k6_http_reqs_total{{{t}}}) / sum(k6_http_reqs_total{{{t}}})",
                    "failed",
                )
            ],
            unit="percentunit",
            w=6,
            h=4,
        ),
        _panel(
            L,
            "stat",
            "p95 latency (worst endpoint)",
            PROM,
            [
                _prom(f"max(k6_http_req_duration_p95{{{t}}})", "p95"),
                _prom(f"max({_native_quantile(0.95, t, 'name')})", "p95 (native histogram)"),
            ],
            unit="s",
            w=6,
            h=4,
            description=CUMULATIVE,
        ),
        _panel(
            L,
            "stat",
            "Checks passed",
            PROM,
            [_prom(f"avg(k6_checks_rate{{{t}}})", "checks")],
            unit="percentunit",
            w=6,
            h=4,
            description="Average pass rate over all checks.",
        ),
        _panel(
            L,
            "timeseries",
            "Virtual users",
            PROM,
            [
                _prom(f"max(k6_vus{{{t}}})", "VUs"),
                _prom(f"max(k6_vus_max{{{t}}})", "VUs max"),
            ],
        ),
        _panel(
            L,
            "timeseries",
            "Requests per second",
            PROM,
            [
                _prom(f"sum({reqs_rate})", "requests/s"),
                _prom(f"sum({failed_w})", "failed/s"),
            ],
            unit="reqps",
        ),
        _panel(
            L,
            "timeseries",
            "Latency p95 / p99 (worst endpoint)",
            PROM,
            [
                _prom(f"max(k6_http_req_duration_p95{{{t}}})", "p95 since start"),
                _prom(f"max(k6_http_req_duration_p99{{{t}}})", "p99 since start"),
                _prom(f"max({_native_quantile(0.95, t, 'name')})", "p95 (window)"),
                _prom(f"max({_native_quantile(0.99, t, 'name')})", "p99 (window)"),
            ],
            unit="s",
            description=CUMULATIVE,
        ),
        _panel(
            L,
            "timeseries",
            "Error rate",
            PROM,
            [
                _prom(f"sum({failed_w}) / sum({reqs_rate})", "failed share"),
            ],
            unit="percentunit",
            description="Share of failed requests (http_req_failed) over the rate window.",
        ),
        _panel(
            L,
            "timeseries",
            "p95 latency by endpoint (name)",
            PROM,
            [
                _prom(f"max by (name) (k6_http_req_duration_p95{{{t}}})", "{{name}}"),
                _prom(_native_quantile(0.95, t, "name"), "{{name}}"),
            ],
            unit="s",
            description=CUMULATIVE,
        ),
        _panel(
            L,
            "timeseries",
            "p99 latency by endpoint (name)",
            PROM,
            [
                _prom(f"max by (name) (k6_http_req_duration_p99{{{t}}})", "{{name}}"),
                _prom(_native_quantile(0.99, t, "name"), "{{name}}"),
            ],
            unit="s",
            description=CUMULATIVE,
        ),
        _panel(
            L,
            "timeseries",
            "Requests per second by endpoint",
            PROM,
            [
                _prom(f"sum by (name) ({reqs_rate})", "{{name}}"),
            ],
            unit="reqps",
        ),
        _panel(
            L,
            "timeseries",
            "Failed requests per second by endpoint",
            PROM,
            [
                _prom(f"sum by (name) ({failed_w})", "{{name}}"),
            ],
            unit="reqps",
        ),
        _panel(
            L,
            "timeseries",
            "Checks pass rate",
            PROM,
            [
                _prom(f"min by (check) (k6_checks_rate{{{t}}})", "{{check}}"),
            ],
            unit="percentunit",
        ),
        _panel(
            L,
            "timeseries",
            "Data sent / received",
            PROM,
            [
                _prom(f"sum(rate(k6_data_sent_total{{{t}}}[$__rate_interval]))", "sent"),
                _prom(f"sum(rate(k6_data_received_total{{{t}}}[$__rate_interval]))", "received"),
            ],
            unit="Bps",
        ),
        _panel(
            L,
            "timeseries",
            "Iterations per second (started / dropped)",
            PROM,
            [
                _prom(f"sum(rate(k6_iterations_total{{{t}}}[$__rate_interval]))", "iterations/s"),
                _prom(f"sum(rate(k6_dropped_iterations_total{{{t}}}[$__rate_interval]))", "dropped/s"),
            ],
            description="Dropped iterations mean the load generator could not keep up (see K6LoadGeneratorSaturated).",
        ),
        _panel(
            L,
            "logs",
            "k6 logs (Loki)",
            LOKI,
            [
                {"expr": '{testid="$testid"}', "queryType": "range"},
            ],
            w=12,
            options={"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending"},
        ),
    ]
    q = "label_values(k6_http_reqs_total, testid)"
    testid = _testid_variable(PROM, {"query": q, "refId": "testid"}, q)
    return _dashboard(
        UID_PROM,
        "k6 run overview (Prometheus)",
        "Live k6 run pushed by remote write, one run (testid) at a time.",
        [testid],
        panels,
    )


# --- (2) the same on InfluxDB (InfluxQL) ----------------------------------------------


def _influx_overview() -> Json:
    w = "\"testid\" = '$testid' AND $timeFilter"

    def agg(fn: str, measurement: str, by: str = "") -> str:
        group = f"GROUP BY time($__interval){by} fill(none)"
        return f'SELECT {fn} FROM "{measurement}" WHERE {w} {group}'

    L = _Layout()
    panels = [
        _panel(
            L,
            "stat",
            "Requests",
            INFLUX,
            [_influx(f'SELECT sum("value") FROM "http_reqs" WHERE {w}', "requests")],
            w=6,
            h=4,
            options=None,
        ),
        _panel(
            L,
            "stat",
            "Failed requests (whole run)",
            INFLUX,
            [_influx(f'SELECT mean("value") FROM "http_req_failed" WHERE {w}', "failed")],
            unit="percentunit",
            w=6,
            h=4,
        ),
        _panel(
            L,
            "stat",
            "p95 latency (all requests)",
            INFLUX,
            [_influx(f'SELECT percentile("value", 95) FROM "http_req_duration" WHERE {w}', "p95")],
            unit="ms",
            w=6,
            h=4,
        ),
        _panel(
            L,
            "stat",
            "Checks passed",
            INFLUX,
            [_influx(f'SELECT mean("value") FROM "checks" WHERE {w}', "checks")],
            unit="percentunit",
            w=6,
            h=4,
        ),
        _panel(
            L,
            "timeseries",
            "Virtual users",
            INFLUX,
            [
                _influx(agg('max("value")', "vus"), "VUs"),
                _influx(agg('max("value")', "vus_max"), "VUs max"),
            ],
        ),
        _panel(
            L,
            "timeseries",
            "Requests per second",
            INFLUX,
            [
                _influx(
                    'SELECT mean("rps") FROM (SELECT sum("value") AS "rps" FROM "http_reqs" '
                    f"WHERE {w} GROUP BY time(1s) fill(none)) WHERE $timeFilter "
                    "GROUP BY time($__interval) fill(none)",
                    "requests/s",
                ),
                _influx(
                    'SELECT mean("fps") FROM (SELECT sum("value") AS "fps" FROM "http_req_failed" '
                    f"WHERE {w} GROUP BY time(1s) fill(none)) WHERE $timeFilter "
                    "GROUP BY time($__interval) fill(none)",
                    "failed/s",
                ),
            ],
            unit="reqps",
        ),
        _panel(
            L,
            "timeseries",
            "Latency p95 / p99",
            INFLUX,
            [
                _influx(agg('percentile("value", 95)', "http_req_duration"), "p95"),
                _influx(agg('percentile("value", 99)', "http_req_duration"), "p99"),
            ],
            unit="ms",
        ),
        _panel(
            L,
            "timeseries",
            "Error rate",
            INFLUX,
            [
                _influx(agg('mean("value")', "http_req_failed"), "failed share"),
            ],
            unit="percentunit",
        ),
        _panel(
            L,
            "timeseries",
            "p95 latency by endpoint (name)",
            INFLUX,
            [
                _influx(agg('percentile("value", 95)', "http_req_duration", ', "name"'), "$tag_name"),
            ],
            unit="ms",
        ),
        _panel(
            L,
            "timeseries",
            "p99 latency by endpoint (name)",
            INFLUX,
            [
                _influx(agg('percentile("value", 99)', "http_req_duration", ', "name"'), "$tag_name"),
            ],
            unit="ms",
        ),
        _panel(
            L,
            "timeseries",
            "Requests by endpoint (per interval)",
            INFLUX,
            [
                _influx(agg('sum("value")', "http_reqs", ', "name"'), "$tag_name"),
            ],
        ),
        _panel(
            L,
            "timeseries",
            "Failed requests by endpoint (per interval)",
            INFLUX,
            [
                _influx(agg('sum("value")', "http_req_failed", ', "name"'), "$tag_name"),
            ],
        ),
        _panel(
            L,
            "timeseries",
            "Checks pass rate",
            INFLUX,
            [
                _influx(agg('mean("value")', "checks", ', "check"'), "$tag_check"),
            ],
            unit="percentunit",
        ),
        _panel(
            L,
            "timeseries",
            "Data sent / received (per interval)",
            INFLUX,
            [
                _influx(agg('sum("value")', "data_sent"), "sent"),
                _influx(agg('sum("value")', "data_received"), "received"),
            ],
            unit="bytes",
        ),
        _panel(
            L,
            "timeseries",
            "Iterations (started / dropped, per interval)",
            INFLUX,
            [
                _influx(agg('sum("value")', "iterations"), "iterations"),
                _influx(agg('sum("value")', "dropped_iterations"), "dropped"),
            ],
        ),
    ]
    q = 'SHOW TAG VALUES FROM "http_reqs" WITH KEY = "testid"'
    testid = _testid_variable(INFLUX, q, q)
    return _dashboard(
        UID_INFLUX,
        "k6 run overview (InfluxDB)",
        "k6 --out influxdb, one run (testid) at a time; latencies in ms.",
        [testid],
        panels,
    )


# --- (3) run history (published by novaload.monitoring.publish) ------------------------


def _history() -> Json:
    w = '"scenario" =~ /^$scenario$/ AND "environment" =~ /^$environment$/ AND $timeFilter'
    L = _Layout()
    panels = [
        _panel(
            L,
            "timeseries",
            "p95 / p99 latency per run",
            INFLUX,
            [
                _influx(
                    f'SELECT "p95_ms" FROM "novaload_run" WHERE {w} GROUP BY "scenario"', "p95 $tag_scenario"
                ),
                _influx(
                    f'SELECT "p99_ms" FROM "novaload_run" WHERE {w} GROUP BY "scenario"', "p99 $tag_scenario"
                ),
            ],
            unit="ms",
        ),
        _panel(
            L,
            "timeseries",
            "Throughput per run",
            INFLUX,
            [
                _influx(f'SELECT "rps" FROM "novaload_run" WHERE {w} GROUP BY "scenario"', "$tag_scenario"),
            ],
            unit="reqps",
        ),
        _panel(
            L,
            "timeseries",
            "Error rate per run",
            INFLUX,
            [
                _influx(
                    f'SELECT "error_rate" FROM "novaload_run" WHERE {w} GROUP BY "scenario"', "$tag_scenario"
                ),
            ],
            unit="percentunit",
        ),
        _panel(
            L,
            "stat",
            "Runs by verdict",
            INFLUX,
            [
                _influx(
                    f'SELECT count("requests") FROM "novaload_run" WHERE {w} GROUP BY "verdict"',
                    "$tag_verdict",
                ),
            ],
            options={
                "reduceOptions": {"calcs": ["sum"], "fields": "", "values": False},
                "colorMode": "value",
                "graphMode": "none",
                "textMode": "value_and_name",
            },
        ),
        _panel(
            L,
            "timeseries",
            "p95 latency by endpoint per run",
            INFLUX,
            [
                _influx(
                    f'SELECT "p95_ms" FROM "novaload_endpoint" WHERE {w} GROUP BY "endpoint"', "$tag_endpoint"
                ),
            ],
            unit="ms",
        ),
        _panel(
            L,
            "timeseries",
            "Error rate by endpoint per run",
            INFLUX,
            [
                _influx(
                    f'SELECT "error_rate" FROM "novaload_endpoint" WHERE {w} GROUP BY "endpoint"',
                    "$tag_endpoint",
                ),
            ],
            unit="percentunit",
        ),
        _panel(
            L,
            "table",
            "Runs",
            INFLUX,
            [
                dict(
                    _influx(
                        'SELECT "requests", "rps", "error_rate", "p95_ms", "p99_ms", "duration_s", "exit_code" '
                        f'FROM "novaload_run" WHERE {w} GROUP BY "run_id", "scenario", "environment", "verdict", "git_commit"'
                    ),
                    resultFormat="table",
                ),
            ],
            w=24,
            h=10,
            options={"showHeader": True, "sortBy": [{"displayName": "Time", "desc": True}]},
        ),
    ]

    def var(name: str) -> Json:
        q = f'SHOW TAG VALUES FROM "novaload_run" WITH KEY = "{name}"'
        return {
            "name": name,
            "label": name,
            "type": "query",
            "datasource": INFLUX,
            "query": q,
            "definition": q,
            "refresh": 2,
            "sort": 1,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
        }

    return _dashboard(
        UID_HISTORY,
        "novaload run history",
        "One point per finished novaload run (novaload_run) and endpoint (novaload_endpoint).",
        [var("scenario"), var("environment")],
        panels,
        refresh="1m",
        time_from="now-30d",
    )


BUILDERS = {
    "k6-run-overview.json": _prometheus_overview,
    "k6-run-overview-influxdb.json": _influx_overview,
    "novaload-run-history.json": _history,
}


def render() -> dict[str, str]:
    """File name -> JSON text, exactly as committed."""
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in BUILDERS.items()}


def main() -> None:
    DASHBOARDS.mkdir(exist_ok=True)
    for name, text in render().items():
        (DASHBOARDS / name).write_text(text, encoding="utf-8")
        print(f"wrote {DASHBOARDS / name}")


if __name__ == "__main__":
    main()
