"""A real k6 run writes into a real InfluxDB 1.6.7; every InfluxQL query of the InfluxDB
dashboards must find its data. The run-history publisher writes through the v2 write
API (what InfluxDB 1.8+ serves) and the history dashboard must find what it wrote."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiohttp import ClientSession, web
from monitoring_support import DASHBOARDS, K6Run, Server, free_port, http_get, run_k6

from novaload.monitoring import MonitoringSettings, publish_run_history
from novaload.results.model import MetricSummary, RunResults

pytestmark = [pytest.mark.influxdb]

TIME_FILTER = "time > now() - 1h"


def _influx_targets(dashboard: str) -> list[Any]:
    data = json.loads((DASHBOARDS / dashboard).read_text(encoding="utf-8"))
    return [
        pytest.param(t["query"], id=f"{panel['title']}:{t['refId']}")
        for panel in data["panels"]
        for t in panel.get("targets", [])
        if t["datasource"]["type"] == "influxdb"
    ]


def influxql(server: Server, q: str, db: str = "k6") -> list[dict[str, Any]]:
    status, body = http_get(f"{server.url}/query?{urllib.parse.urlencode({'db': db, 'q': q})}")
    answer = json.loads(body)
    assert status == 200, f"{q}: {body[:500]!r}"
    (result,) = answer["results"]
    assert "error" not in result, f"{q}: {result['error']}"
    return result.get("series", [])


def substitute(query: str, **variables: str) -> str:
    query = query.replace("$timeFilter", TIME_FILTER).replace("$__interval", "1s")
    for name, value in variables.items():
        query = query.replace(f"${name}", value)
    return query


@pytest.fixture(scope="module")
def influx_run(
    influxdb: Server, target_url: str, k6_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> K6Run:
    settings = MonitoringSettings(influxdb_url=influxdb.url)
    run = run_k6(
        k6_bin,
        tmp_path_factory.mktemp("k6-influx"),
        target_url,
        settings,
        f"influx-{uuid.uuid4().hex[:8]}",
        ("influxdb",),
    )
    assert run.exit_code == 0, run.stdout[-2000:]
    return run


@pytest.mark.k6
@pytest.mark.parametrize("query", _influx_targets("k6-run-overview-influxdb.json"))
def test_panel_query_returns_the_runs_data(influxdb: Server, influx_run: K6Run, query: str) -> None:
    series = influxql(influxdb, substitute(query, testid=influx_run.testid))
    assert series and any(row[1] is not None for s in series for row in s["values"]), query


@pytest.mark.k6
@pytest.mark.parametrize("query", _influx_targets("k6-run-overview-influxdb.json")[:4])
def test_panel_query_is_filtered_by_testid(influxdb: Server, influx_run: K6Run, query: str) -> None:
    assert influxql(influxdb, substitute(query, testid="no-such-run")) == []


@pytest.mark.k6
def test_testid_variable_and_endpoint_split(influxdb: Server, influx_run: K6Run) -> None:
    data = json.loads((DASHBOARDS / "k6-run-overview-influxdb.json").read_text(encoding="utf-8"))
    (var,) = [v for v in data["templating"]["list"] if v["name"] == "testid"]
    (values,) = influxql(influxdb, var["query"])
    assert [influx_run.testid] in [row[1:] for row in values["values"]]
    series = influxql(
        influxdb,
        substitute(
            'SELECT percentile("value", 95) FROM "http_req_duration" WHERE "testid" = \'$testid\' '
            'AND $timeFilter GROUP BY "name"',
            testid=influx_run.testid,
        ),
    )
    assert {s["tags"]["name"] for s in series} == {"items", "cluster-status", "cluster-nodes"}


# --- run history ---------------------------------------------------------------------


class V2WriteFront:
    """What InfluxDB 1.8 does for /api/v2/write, in front of 1.6.7 (which lacks it):
    bucket "db/rp" -> /write?db=db&rp=rp, precision ns/us/ms/s -> n/u/ms/s."""

    PRECISION = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.writes: list[dict[str, str]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _write(self, request: web.Request) -> web.Response:
        db, _, rp = request.query.get("bucket", "").partition("/")
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        params = {"db": db, "precision": self.PRECISION[request.query.get("precision", "ns")]}
        if rp:
            params["rp"] = rp
        self.writes.append({"bucket": request.query.get("bucket", ""), **params})
        async with (
            ClientSession() as session,
            session.post(f"{self.upstream}/write", params=params, data=body) as resp,
        ):
            return web.Response(
                status=resp.status,
                body=await resp.read(),
                content_type=resp.content_type or "application/json",
            )

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "pass"})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v2/write", self._write)
        app.router.add_get("/health", self._health)
        app.router.add_get("/ping", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> V2WriteFront:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def v2_front(influxdb: Server) -> Iterator[V2WriteFront]:
    status, body = http_get(f"{influxdb.url}/query?q=CREATE%20DATABASE%20k6")  # 1.6 allows GET here
    assert status == 200, body
    with V2WriteFront(influxdb.url) as front:
        yield front


def make_results() -> RunResults:
    metrics = {
        "http_reqs": MetricSummary("http_reqs", "counter", "default", {"count": 1200.0, "rate": 200.125}),
        "http_req_failed": MetricSummary(
            "http_req_failed", "rate", "default", {"passes": 60.0, "fails": 1140.0, "value": 0.05}
        ),
        "http_req_duration": MetricSummary(
            "http_req_duration", "trend", "time", {"avg": 12.5, "p(95)": 48.25, "p(99)": 91.5}
        ),
    }
    endpoints = pd.DataFrame(
        [
            {
                "name": "items",
                "requests": 800,
                "failures": 40,
                "error_rate": 0.05,
                "rps": 133.4,
                "avg": 10.0,
                "min": 1.0,
                "med": 9.0,
                "p90": 30.0,
                "p95": 41.5,
                "p99": 80.25,
                "max": 120.0,
            },
            {
                "name": "cluster-status",
                "requests": 400,
                "failures": 20,
                "error_rate": 0.05,
                "rps": 66.7,
                "avg": 15.0,
                "min": 2.0,
                "med": 12.0,
                "p90": 50.0,
                "p95": 61.0,
                "p99": 99.0,
                "max": 150.0,
            },
        ]
    )
    return RunResults(
        metrics=metrics,
        thresholds=[],
        duration_s=5.996,
        duration_source="k6-summary",
        started_at=None,
        ended_at=None,
        sources=[Path("run.json")],
        lines=0,
        points=0,
        input_bytes=0,
        endpoints=endpoints,
    )


def _publish(settings: MonitoringSettings, run_id: str) -> bool:
    return publish_run_history(
        make_results(),
        settings,
        run_id=run_id,
        scenario="checkout",
        environment="local",
        verdict="failed",
        exit_code=99,
        git_commit="abc1234",
        time=datetime.now(UTC),
    )


def test_publish_writes_run_and_endpoint_points(influxdb: Server, v2_front: V2WriteFront) -> None:
    run_id = f"hist-{uuid.uuid4().hex[:8]}"
    settings = MonitoringSettings(influxdb_url=v2_front.url, influxdb_bucket="k6/autogen", influxdb_org="-")
    assert _publish(settings, run_id) is True
    assert v2_front.writes and v2_front.writes[0]["db"] == "k6" and v2_front.writes[0]["rp"] == "autogen"

    (run,) = influxql(influxdb, f"SELECT * FROM novaload_run WHERE run_id = '{run_id}'")
    row = dict(zip(run["columns"], run["values"][0], strict=True))
    assert {k: row[k] for k in ("scenario", "environment", "verdict", "git_commit")} == {
        "scenario": "checkout",
        "environment": "local",
        "verdict": "failed",
        "git_commit": "abc1234",
    }
    assert {
        k: row[k] for k in ("requests", "rps", "error_rate", "p95_ms", "p99_ms", "duration_s", "exit_code")
    } == {
        "requests": 1200,
        "rps": 200.125,
        "error_rate": 0.05,
        "p95_ms": 48.25,
        "p99_ms": 91.5,
        "duration_s": 5.996,
        "exit_code": 99,
    }

    (endpoints,) = influxql(influxdb, f"SELECT * FROM novaload_endpoint WHERE run_id = '{run_id}'")
    rows = {
        r["endpoint"]: r
        for r in (dict(zip(endpoints["columns"], v, strict=True)) for v in endpoints["values"])
    }
    assert set(rows) == {"items", "cluster-status"}
    assert (rows["items"]["p95_ms"], rows["items"]["p99_ms"], rows["items"]["requests"]) == (41.5, 80.25, 800)
    assert (rows["cluster-status"]["rps"], rows["cluster-status"]["error_rate"]) == (66.7, 0.05)


@pytest.mark.parametrize("query", _influx_targets("novaload-run-history.json"))
def test_history_panel_query_returns_published_runs(
    influxdb: Server, v2_front: V2WriteFront, query: str
) -> None:
    scenario = f"history-{uuid.uuid4().hex[:6]}"
    settings = MonitoringSettings(influxdb_url=v2_front.url, influxdb_bucket="k6")
    ok = publish_run_history(
        make_results(),
        settings,
        run_id=f"{scenario}-1",
        scenario=scenario,
        environment="ci",
        verdict="passed",
        exit_code=0,
        time=datetime.now(UTC),
    )
    assert ok
    series = influxql(influxdb, substitute(query, scenario=re.escape(scenario), environment="ci"))
    assert series, query
    other = influxql(influxdb, substitute(query, scenario="no-such-scenario", environment="ci"))
    assert other == []


def test_publish_to_nothing_listening_returns_false_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    settings = MonitoringSettings(influxdb_url=f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="novaload.monitoring.publish"):
        assert _publish(settings, "nobody-home") is False
    (record,) = [r for r in caplog.records if r.name == "novaload.monitoring.publish"]
    assert settings.influxdb_url in record.getMessage() and "\n" not in record.getMessage()


def test_publish_to_influxdb_without_v2_api_returns_false(
    influxdb: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # 1.6.7 answers 404 on /api/v2/write: a real server refusing, not a dead port.
    settings = MonitoringSettings(influxdb_url=influxdb.url)
    with caplog.at_level(logging.WARNING, logger="novaload.monitoring.publish"):
        assert _publish(settings, "no-v2") is False
    assert any("404" in r.getMessage() or "Not Found" in r.getMessage() for r in caplog.records)
