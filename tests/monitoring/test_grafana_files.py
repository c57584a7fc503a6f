"""Grafana provisioning and dashboards, checked against Grafana's documented schema
(Grafana itself cannot run here: no image can be pulled)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_support import DASHBOARDS, MONITORING, REPO

from novaload.monitoring import DASHBOARD_UIDS, DATASOURCE_UIDS

PROVISIONING = MONITORING / "grafana/provisioning"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
QUERY_KEY = {"prometheus": "expr", "loki": "expr", "influxdb": "query"}


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _datasources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted((PROVISIONING / "datasources").glob("*.yml")):
        doc = _yaml(path)
        assert doc["apiVersion"] == 1, path
        found += doc["datasources"]
    return found


def test_datasources_follow_the_provisioning_schema() -> None:
    datasources = _datasources()
    for ds in datasources:
        assert {"name", "type", "uid", "url", "access"} <= ds.keys(), ds
        assert ds["access"] in ("proxy", "direct") and ds["url"].startswith("http://")
    by_uid = {ds["uid"]: ds for ds in datasources}
    assert sorted(by_uid) == sorted(DATASOURCE_UIDS)  # status() checks these uids
    assert by_uid["novaload-influxdb"]["jsonData"]["dbName"] == "k6"
    assert {ds["type"] for ds in datasources} == {"prometheus", "influxdb", "loki", "jaeger"}


def test_jaeger_datasource_goes_from_a_span_to_the_run_s_logs() -> None:
    """Grafana's tracesToLogsV2 (a Jaeger or Tempo datasource's "Logs for this span"): Loki,
    queried by the span's testid attribute as the testid label, which is the label
    novaload's log forwarder gives every k6 log line of a run."""
    from novaload.monitoring.logs import parse_k6_log_line

    by_uid = {ds["uid"]: ds for ds in _datasources()}
    jaeger = by_uid["novaload-jaeger"]
    assert jaeger["type"] == "jaeger" and jaeger["url"] == "http://jaeger:16686"
    links = jaeger["jsonData"]["tracesToLogsV2"]
    assert by_uid[links["datasourceUid"]]["type"] == "loki"
    assert links["tags"] == [{"key": "testid", "value": "testid"}]
    line = 'time="2026-03-01T10:00:00Z" level=info msg="hello" source=console'
    entry = parse_k6_log_line(line, "run-1")
    assert entry is not None and entry[1]["testid"] == "run-1"


def test_dashboard_provider_points_at_the_mounted_dashboards() -> None:
    (provider,) = _yaml(PROVISIONING / "dashboards/novaload.yml")["providers"]
    compose = _yaml(REPO / "docker-compose.monitoring.yml")
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    assert provider["type"] == "file"
    assert mounts["./monitoring/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./monitoring/grafana/provisioning"] == "/etc/grafana/provisioning"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_valid_grafana_json(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    uids = {ds["uid"]: ds["type"] for ds in _datasources()}
    assert dashboard["uid"] in DASHBOARD_UIDS.values() and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys() and panel["gridPos"]["x"] + panel["gridPos"][
            "w"
        ] <= 24
        assert uids.get(panel["datasource"]["uid"]) == panel["datasource"]["type"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert target[QUERY_KEY[target["datasource"]["type"]]].strip(), (panel["title"], target["refId"])
    for var in dashboard["templating"]["list"]:
        assert uids.get(var["datasource"]["uid"]) == var["datasource"]["type"]


@pytest.mark.parametrize("name", ["k6-run-overview.json", "k6-run-overview-influxdb.json"])
def test_run_dashboards_filter_every_query_by_testid(name: str) -> None:
    dashboard = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    assert "testid" in [v["name"] for v in dashboard["templating"]["list"]]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert "$testid" in target[QUERY_KEY[target["datasource"]["type"]]], panel["title"]


def test_committed_dashboards_equal_the_build_script_output() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", MONITORING / "grafana/build_dashboards.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert sorted(rendered) == [p.name for p in DASHBOARD_FILES]
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == text, f"{name}: run build_dashboards.py"
