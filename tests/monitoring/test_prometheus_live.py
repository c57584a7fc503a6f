"""A real k6 run remote-writes into a real Prometheus; every PromQL query of the
Prometheus dashboard, and every k6 alert expression, must find that run's data."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_support import DASHBOARDS, MONITORING, K6Run, Server, free_port, http_get, run_k6

from novaload.monitoring import ComposeStack, MonitoringSettings

pytestmark = [pytest.mark.prometheus, pytest.mark.k6]

# What Grafana substitutes; the rate window covers the whole ~5 s run.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s"}


def _prometheus_panels() -> list[Any]:
    """Every Prometheus panel with its queries (a latency panel has one per trend mode)."""
    params = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            exprs = [t["expr"] for t in panel.get("targets", []) if t["datasource"]["type"] == "prometheus"]
            if exprs:
                params.append(pytest.param(exprs, id=f"{path.stem}:{panel['title']}"))
    return params


def _prometheus_targets() -> list[Any]:
    return [
        pytest.param(expr, id=f"{p.id}:{i}")
        for p in _prometheus_panels()
        for i, expr in enumerate(p.values[0])
    ]


def _native(expr: str) -> bool:
    return "_seconds" in expr  # k6's native histograms: k6_<trend>_seconds


def _inline_records(expr: str) -> str:
    """``expr`` with recording rules inlined (this Prometheus evaluates no rules)."""
    rules = yaml.safe_load((MONITORING / "prometheus/rules/k6-alerts.yml").read_text(encoding="utf-8"))
    for g in rules["groups"]:
        for r in g["rules"]:
            if "record" in r:
                expr = expr.replace(r["record"], f"({r['expr']})")
    return expr


def _rule_exprs(kind: str) -> list[Any]:
    """Alert expressions with recording rules inlined."""
    rules = yaml.safe_load((MONITORING / "prometheus/rules/k6-alerts.yml").read_text(encoding="utf-8"))
    inline = _inline_records
    return [
        pytest.param(inline(r["expr"]), id=r.get("alert") or r.get("record"))
        for g in rules["groups"]
        for r in g["rules"]
        if kind in r and r[kind].startswith("K6") and r[kind] != "K6LoadGeneratorSaturated"
    ]


def query(server: Server, expr: str, at: float) -> list[dict[str, Any]]:
    qs = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    status, body = http_get(f"{server.url}/api/v1/query?{qs}")
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", f"{expr}: {body[:500]!r}"
    return answer["data"]["result"]


def substitute(expr: str, testid: str) -> str:
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    return expr.replace("$testid", testid)


@pytest.fixture(scope="module")
def prom_run(
    prometheus: Server, target_url: str, k6_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> K6Run:
    settings = MonitoringSettings(prometheus_url=prometheus.url, prometheus_push_interval="1s")
    run = run_k6(
        k6_bin,
        tmp_path_factory.mktemp("k6-prom"),
        target_url,
        settings,
        f"prom-{uuid.uuid4().hex[:8]}",
        ("prometheus",),
    )
    assert run.exit_code == 0, run.stdout[-2000:]
    return run


def _at(run: K6Run) -> float:
    # k6 flushes once more at exit, so everything is stored when the process has ended.
    return run.ended_at.timestamp() + 1.0


def _during(run: K6Run) -> float:
    # k6 ends its series with stale markers: an instant query sees them only before the end.
    return run.ended_at.timestamp() - 2.0


def query_range(server: Server, expr: str, run: K6Run) -> list[dict[str, Any]]:
    """What a Grafana panel asks (every panel query is a range query): the run's span."""
    qs = urllib.parse.urlencode(
        {
            "query": expr,
            "start": f"{run.started_at.timestamp() - 5:.3f}",
            "end": f"{_at(run):.3f}",
            "step": "1",
        }
    )
    status, body = http_get(f"{server.url}/api/v1/query_range?{qs}")
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", f"{expr}: {body[:500]!r}"
    return answer["data"]["result"]


@pytest.fixture(scope="module")
def native_run(
    prometheus: Server, target_url: str, k6_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> K6Run:
    """The same run with trends sent as native histograms (--monitor-native-histograms)."""
    settings = MonitoringSettings(prometheus_url=prometheus.url, prometheus_push_interval="1s")
    run = run_k6(
        k6_bin,
        tmp_path_factory.mktemp("k6-native"),
        target_url,
        settings,
        f"native-{uuid.uuid4().hex[:8]}",
        ("prometheus",),
        native_histograms=True,
    )
    assert run.exit_code == 0, run.stdout[-2000:]
    return run


@pytest.mark.parametrize("exprs", _prometheus_panels())
@pytest.mark.parametrize("mode", ["trend-stats", "native-histograms"])
def test_panel_shows_the_runs_data_in_both_trend_modes(
    prometheus: Server, prom_run: K6Run, native_run: K6Run, exprs: list[str], mode: str
) -> None:
    """Every panel has data in either mode; each query of the mode has data (the other
    mode's latency query is the one allowed to be empty)."""
    run = native_run if mode == "native-histograms" else prom_run
    for expr in exprs:
        result = query_range(prometheus, substitute(expr, run.testid), run)
        if _native(expr) == (mode == "native-histograms") or "k6_http_req_duration" not in expr:
            assert result, f"{mode}: no data for testid={run.testid}: {substitute(expr, run.testid)}"
        else:
            assert result == [], f"{mode}: the other mode's query found data: {expr}"


@pytest.mark.parametrize("expr", _prometheus_targets()[:4])
def test_panel_query_is_filtered_by_testid(prometheus: Server, prom_run: K6Run, expr: str) -> None:
    assert query_range(prometheus, substitute(expr, "no-such-run"), prom_run) == []


def test_testid_variable_lists_the_run(prometheus: Server, prom_run: K6Run) -> None:
    dashboard = json.loads((DASHBOARDS / "k6-run-overview.json").read_text(encoding="utf-8"))
    (var,) = [v for v in dashboard["templating"]["list"] if v["name"] == "testid"]
    assert var["definition"] == "label_values(k6_http_reqs_total, testid)"
    # label_values(metric, label) is Grafana's name for this API call.
    qs = urllib.parse.urlencode({"match[]": "k6_http_reqs_total"})
    status, body = http_get(f"{prometheus.url}/api/v1/label/testid/values?{qs}")
    assert status == 200 and prom_run.testid in json.loads(body)["data"]


def test_per_endpoint_panels_split_by_name(prometheus: Server, prom_run: K6Run) -> None:
    result = query_range(
        prometheus,
        substitute('max by (name) (k6_http_req_duration_p95{testid=~"$testid"})', prom_run.testid),
        prom_run,
    )
    assert {r["metric"]["name"] for r in result} == {"items", "cluster-status", "cluster-nodes"}


@pytest.mark.parametrize("expr", _rule_exprs("alert"))
def test_alert_condition_holds_for_a_failing_saturated_run(
    prometheus: Server, prom_run: K6Run, expr: str
) -> None:
    """25 % injected errors and a 1-VU arrival-rate scenario: the error-rate and saturation
    conditions are true for this run, the 500 ms latency one is not (the target is fast)."""
    result = [
        r for r in query(prometheus, expr, _during(prom_run)) if r["metric"].get("testid") == prom_run.testid
    ]
    if "k6_http_req_duration_p95" in expr:
        assert result == []
    else:
        assert result, f"condition not met for {prom_run.testid}: {expr}"


def test_saturation_condition_held_during_the_run(prometheus: Server, prom_run: K6Run) -> None:
    # All VUs are busy only while both scenarios run (not at the very end), so look over the run.
    rules = yaml.safe_load((MONITORING / "prometheus/rules/k6-alerts.yml").read_text(encoding="utf-8"))
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "K6LoadGeneratorSaturated"]
    qs = urllib.parse.urlencode(
        {
            "query": _inline_records(rule["expr"]),
            "start": f"{prom_run.started_at.timestamp():.3f}",
            "end": f"{_at(prom_run):.3f}",
            "step": "1",
        }
    )
    status, body = http_get(f"{prometheus.url}/api/v1/query_range?{qs}")
    series = [r for r in json.loads(body)["data"]["result"] if r["metric"]["testid"] == prom_run.testid]
    assert status == 200 and series and len(series[0]["values"]) >= 2


def test_error_ratio_recording_rule_matches_the_counters(prometheus: Server, prom_run: K6Run) -> None:
    rules = yaml.safe_load((MONITORING / "prometheus/rules/k6-alerts.yml").read_text(encoding="utf-8"))
    (record,) = [r for g in rules["groups"] for r in g["rules"] if "failed" in r.get("record", "")]
    (ratio,) = [
        r
        for r in query(prometheus, record["expr"], _during(prom_run))
        if r["metric"]["testid"] == prom_run.testid
    ]
    t = f'testid="{prom_run.testid}"'
    (exact,) = query(
        prometheus,
        f'sum(k6_http_reqs_total{{{t},expected_response="false"}}) / sum(k6_http_reqs_total{{{t}}})',
        _during(prom_run),
    )
    # A rate window covering the whole run gives the run's share of failures, up to
    # rate()'s per-series extrapolation.
    assert float(ratio["value"][1]) == pytest.approx(float(exact["value"][1]), abs=0.03)
    assert 0.05 < float(exact["value"][1]) < 0.6


def test_native_histograms_reach_prometheus(prometheus: Server, native_run: K6Run) -> None:
    # k6 exits 0 even when Prometheus refuses native histograms: ask Prometheus.
    result = query(
        prometheus,
        f'histogram_quantile(0.95, sum(rate(k6_http_req_duration_seconds{{testid="{native_run.testid}"}}[1m])))',
        _at(native_run),
    )
    assert result and 0 < float(result[0]["value"][1]) < 5


def test_status_reports_prometheus_ready_and_the_down_target(prometheus: Server) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = MonitoringSettings(
        prometheus_url=prometheus.url,
        alertmanager_url=dead,
        grafana_url=dead,
        influxdb_url=dead,
        loki_url=dead,
    )
    stack = ComposeStack(Path("docker-compose.monitoring.yml"), settings=settings, environ={})
    deadline = time.monotonic() + 15
    while True:  # the first scrape of the dead port may not have happened yet
        checks = {c.name: c for c in stack.status()}
        if not checks["prometheus targets"].ok or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert checks["prometheus"].ok and checks["prometheus"].detail == "ready"
    target = checks["prometheus targets"]
    # The stack's own job is the stack's problem; a system under test being down is not.
    assert not target.ok and "alertmanager" in target.detail and "down" in target.detail
    assert "nothing-listens" not in target.detail
    assert "novaload-target" not in target.detail  # the demo target is scraped fine
    for name in ("alertmanager", "grafana", "influxdb", "loki"):
        assert not checks[name].ok and checks[name].detail.startswith("not reachable")
