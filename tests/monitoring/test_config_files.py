"""The Prometheus, Alertmanager and Compose files, checked by the tools that load them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from monitoring_support import MONITORING, REPO, require

COMPOSE_FILE = REPO / "docker-compose.monitoring.yml"
SERVICES = {"prometheus", "alertmanager", "grafana", "influxdb", "loki", "jaeger"}
# Services that keep nothing across `monitor down`: Jaeger's traces are in memory (bounded).
STATELESS = {"jaeger"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not installed")
    assert path is not None
    return path


def _run(
    cmd: list[str], cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.prometheus
def test_promtool_check_config() -> None:
    done = _run([_tool("promtool"), "check", "config", "monitoring/prometheus/prometheus.yml"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout + done.stderr


@pytest.mark.prometheus
def test_promtool_check_rules() -> None:
    rules = sorted(str(p) for p in (MONITORING / "prometheus/rules").glob("*.yml"))
    done = _run([_tool("promtool"), "check", "rules", *rules])
    assert rules and done.returncode == 0, done.stdout + done.stderr


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "test_file", sorted((MONITORING / "prometheus/tests").glob("*.yml")), ids=lambda p: p.name
)
def test_promtool_rule_unit_tests(test_file: Path) -> None:
    # rule_files in a test file are relative to the test file, so any cwd works.
    done = _run([_tool("promtool"), "test", "rules", str(test_file)])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.prometheus
def test_promtool_rule_tests_cover_every_alert_firing_and_silent() -> None:
    rules = yaml.safe_load((MONITORING / "prometheus/rules/k6-alerts.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    firing: set[str] = set()
    silent: set[str] = set()
    for path in (MONITORING / "prometheus/tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert alerts - firing == set() and alerts - silent == set()


def test_amtool_check_config() -> None:
    done = _run([_tool("amtool"), "check-config", "monitoring/alertmanager/alertmanager.yml"])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.docker
@pytest.mark.parametrize(
    "password, ok",
    [("s3cret", True), (None, False), ("", False)],
    ids=["password-set", "password-unset", "password-empty"],
)
def test_compose_config_requires_grafana_password(tmp_path: Path, password: str | None, ok: bool) -> None:
    compose = shutil.which("docker-compose")
    require(compose is not None, "docker-compose not installed (apt-get install docker-compose)")
    assert compose is not None
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if password is not None:
        env["GRAFANA_ADMIN_PASSWORD"] = password
    empty_env_file = tmp_path / "empty.env"  # a stray .env must not decide the outcome
    empty_env_file.write_text("", encoding="utf-8")
    done = _run(
        [compose, "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config", "-q"], env=env
    )
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if not ok:
        assert "GRAFANA_ADMIN_PASSWORD" in done.stderr


def test_jaeger_takes_otlp_and_grafana_reads_it() -> None:
    spec = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    jaeger = spec["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    published = {p.rsplit(":", 1)[-1] for p in jaeger["ports"]}
    assert published == {"16686", "4317", "4318"}  # UI and query API, OTLP gRPC and HTTP
    # the URLs novaload uses by default are the ports published
    from novaload.monitoring.settings import MonitoringSettings

    defaults = MonitoringSettings.from_env({})
    assert defaults.jaeger_url == "http://127.0.0.1:16686" and defaults.otlp_url == "http://127.0.0.1:4318"
    assert "jaeger" in spec["services"]["grafana"]["depends_on"]


def test_compose_services_are_pinned_checked_and_local() -> None:
    spec = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert set(spec["services"]) == SERVICES
    assert spec["services"]["influxdb"]["image"] == "influxdb:1.8.10"
    assert spec["services"]["influxdb"]["environment"]["INFLUXDB_DB"] == "k6"
    assert "--web.enable-remote-write-receiver" in spec["services"]["prometheus"]["command"]
    assert "--enable-feature=native-histograms" in spec["services"]["prometheus"]["command"]
    for name, service in spec["services"].items():
        image, _, tag = service["image"].partition(":")
        assert tag and tag != "latest", f"{name}: image {service['image']} is not pinned"
        assert service["healthcheck"]["test"], f"{name}: no health check"
        for port in service["ports"]:
            assert port.startswith("${MONITORING_BIND:-127.0.0.1}:"), (
                f"{name}: {port} not bound to MONITORING_BIND"
            )
        volumes = service.get("volumes", [])
        named = [v.split(":")[0] for v in volumes if not v.startswith("./")]
        assert all(v in spec["volumes"] for v in named), f"{name}: a volume not declared"
        assert bool(named) is (name not in STATELESS), f"{name}: a data volume expected iff it keeps data"
        for mount in (v for v in volumes if v.startswith("./")):
            assert (REPO / mount.split(":")[0]).exists(), f"{name}: mounted {mount} does not exist"
