"""`novaload doctor` on the monitoring stack: real Prometheus and InfluxDB, a local Loki
push endpoint, and dead ports for what is down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from monitoring_support import LokiReceiver, Server, free_port

from novaload.doctor import run_checks

pytestmark = [pytest.mark.prometheus, pytest.mark.influxdb]


def _monitoring(checks: list) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in checks if c.name.startswith("monitoring")}


def test_doctor_reports_the_services_that_answer(
    prometheus: Server, influxdb: Server, loki: LokiReceiver, tmp_path: Path
) -> None:
    (tmp_path / "targets").mkdir()
    env = {
        "NOVALOAD_PROMETHEUS_URL": prometheus.url,
        "NOVALOAD_INFLUXDB_URL": influxdb.url,
        "NOVALOAD_LOKI_URL": loki.url,
        "NOVALOAD_GRAFANA_URL": loki.url,  # anything answering /api/health below 500
        "GRAFANA_ADMIN_PASSWORD": "pw",
        "NOVALOAD_PROMETHEUS_TARGETS_DIR": str(tmp_path / "targets"),
    }
    found = _monitoring(run_checks(environ=env))
    for output in ("prometheus", "influxdb", "loki"):
        status, detail = found[f"monitoring: {output}"]
        assert status == "ok" and "`run --monitor` sends to it" in detail, detail
    assert found["monitoring: demo target discovery"][0] == "ok"
    assert "monitoring: grafana password" not in found


def test_doctor_says_what_is_down_and_what_to_do(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {
        "NOVALOAD_PROMETHEUS_URL": dead,
        "NOVALOAD_INFLUXDB_URL": dead,
        "NOVALOAD_LOKI_URL": dead,
        "NOVALOAD_GRAFANA_URL": dead,
        "NOVALOAD_PROMETHEUS_TARGETS_DIR": str(tmp_path / "missing"),
    }
    found = _monitoring(run_checks(environ=env))
    status, detail = found["monitoring: loki"]
    assert status == "warn" and detail.startswith(f"Loki at {dead} is not reachable")
    assert "novaload monitor up" in detail and "NOVALOAD_LOKI_URL" in detail
    assert found["monitoring: grafana"][0] == "warn"
    assert "monitor down` does not" in found["monitoring: grafana password"][1]
    assert "NOVALOAD_PROMETHEUS_TARGETS_DIR" in found["monitoring: demo target discovery"][1]


def test_doctor_cli_stays_exit_0_when_only_the_stack_is_down(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "300"}
    env |= {f"NOVALOAD_{s}_URL": dead for s in ("PROMETHEUS", "INFLUXDB", "LOKI", "GRAFANA")}
    done = subprocess.run(
        [sys.executable, "-m", "novaload", "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The check column is kept narrow (80-column terminals): "monitoring: prometheus" wraps.
    assert done.stdout.count("is not reachable") >= 4 and f"Prometheus at {dead}" in done.stdout
