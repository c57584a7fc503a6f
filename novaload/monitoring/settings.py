"""Where the monitoring stack's services live: one frozen :class:`MonitoringSettings`.

Defaults match ``docker-compose.monitoring.yml`` on this machine (ports published on
``MONITORING_BIND``, default 127.0.0.1). Environment variables override them; every
URL is validated once here so nothing downstream handles a malformed one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from novaload.errors import ConfigError

# Dashboard uids provisioned from monitoring/grafana/dashboards (fixed on purpose:
# links to a run are built from them).
DASHBOARD_UIDS: dict[str, str] = {
    "prometheus": "novaload-k6-prometheus",
    "influxdb": "novaload-k6-influxdb",
    "history": "novaload-run-history",
}
# The stack's outputs for a k6 run: remote write, k6's InfluxDB 1.x output, k6 logs to Loki,
# and (a traced run) the demo target's spans to Jaeger's OTLP receiver.
OUTPUTS: tuple[str, ...] = ("prometheus", "influxdb", "loki", "jaeger")
# Datasource uids provisioned from monitoring/grafana/provisioning/datasources.
DATASOURCE_UIDS: tuple[str, ...] = (
    "novaload-prometheus",
    "novaload-influxdb",
    "novaload-loki",
    "novaload-jaeger",
)


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """URLs and credentials of the monitoring services (all optional but the URLs)."""

    prometheus_url: str = "http://127.0.0.1:9090"
    alertmanager_url: str = "http://127.0.0.1:9093"
    grafana_url: str = "http://127.0.0.1:3000"
    influxdb_url: str = "http://127.0.0.1:8086"
    loki_url: str = "http://127.0.0.1:3100"
    # Jaeger's UI and query API, and its OTLP/HTTP receiver (where the demo target sends
    # its spans during a `run --monitor`).
    jaeger_url: str = "http://127.0.0.1:16686"
    otlp_url: str = "http://127.0.0.1:4318"
    # Database k6's influxdb output writes to (InfluxDB 1.x).
    influxdb_database: str = "k6"
    # Bucket of the run-history publisher (v2 write API). On InfluxDB 1.8 it is
    # "database/retention-policy"; "k6" alone means the default retention policy.
    influxdb_bucket: str = "k6"
    influxdb_org: str = ""
    # On InfluxDB 1.8 with auth enabled the token is "user:password".
    influxdb_token: str | None = field(default=None, repr=False)
    grafana_user: str = "admin"
    grafana_password: str | None = field(default=None, repr=False)
    # How often k6 pushes to Prometheus: short, so a live dashboard moves.
    prometheus_push_interval: str = "5s"
    # Which outputs `run --monitor` wires (each only when its service answers).
    outputs: tuple[str, ...] = OUTPUTS
    # Trends as Prometheus native histograms (k6_<trend>_seconds) instead of stat gauges.
    native_histograms: bool = False
    # Where Prometheus reads file-based service discovery (the compose file mounts
    # monitoring/prometheus/targets); None: the demo target of a run is not announced.
    prometheus_targets_dir: Path | None = None
    # The host part of the demo target's address as the scraping Prometheus sees it.
    target_scrape_host: str = "host.docker.internal"

    def __post_init__(self) -> None:
        for name in (
            "prometheus_url",
            "alertmanager_url",
            "grafana_url",
            "influxdb_url",
            "loki_url",
            "jaeger_url",
            "otlp_url",
        ):
            object.__setattr__(self, name, _check_url(getattr(self, name), name))
        if not self.influxdb_database or "/" in self.influxdb_database:
            raise ConfigError(
                "must be a database name without '/'", key="influxdb_database", value=self.influxdb_database
            )
        if not self.influxdb_bucket:
            raise ConfigError("must not be empty", key="influxdb_bucket", value=self.influxdb_bucket)
        unknown = [o for o in self.outputs if o not in OUTPUTS]
        if unknown or not self.outputs:
            raise ConfigError(
                f"must name outputs among {', '.join(OUTPUTS)}",
                key="NOVALOAD_MONITOR_OUTPUTS",
                value=",".join(self.outputs),
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MonitoringSettings:
        """Settings from environment variables (``os.environ`` when not given).

        ``NOVALOAD_{PROMETHEUS,ALERTMANAGER,GRAFANA,INFLUXDB,LOKI,JAEGER,OTLP}_URL`` win;
        otherwise the URL is built from the compose file's ``MONITORING_BIND`` and
        ``*_PORT`` (``JAEGER_PORT``: its UI, ``OTLP_HTTP_PORT``: its OTLP/HTTP receiver).
        Also ``NOVALOAD_INFLUXDB_DB``, ``NOVALOAD_INFLUXDB_BUCKET``, ``INFLUXDB_ORG``,
        ``INFLUXDB_TOKEN``, ``GRAFANA_ADMIN_USER``, ``GRAFANA_ADMIN_PASSWORD``,
        ``NOVALOAD_PROMETHEUS_PUSH_INTERVAL``, ``NOVALOAD_MONITOR_OUTPUTS`` (comma-separated)
        ``NOVALOAD_MONITOR_NATIVE_HISTOGRAMS`` (true/false), ``NOVALOAD_PROMETHEUS_TARGETS_DIR``
        (default: ``monitoring/prometheus/targets`` of the working directory, else of
        novaload's checkout) and ``NOVALOAD_TARGET_SCRAPE_HOST``.
        """
        env = os.environ if environ is None else environ
        host = env.get("MONITORING_BIND") or "127.0.0.1"
        if host in ("0.0.0.0", "::", "[::]"):  # published on all interfaces; reach it locally
            host = "127.0.0.1"

        def url(service: str, port_var: str, port: int) -> str:
            explicit = env.get(f"NOVALOAD_{service}_URL")
            if explicit:
                return _check_url(explicit, f"NOVALOAD_{service}_URL")
            return f"http://{host}:{env.get(port_var) or port}"

        database = env.get("NOVALOAD_INFLUXDB_DB") or "k6"
        outputs = env.get("NOVALOAD_MONITOR_OUTPUTS")
        native = (env.get("NOVALOAD_MONITOR_NATIVE_HISTOGRAMS") or "false").strip().lower()
        if native not in _BOOLEANS:
            raise ConfigError("must be true or false", key="NOVALOAD_MONITOR_NATIVE_HISTOGRAMS", value=native)
        return cls(
            prometheus_url=url("PROMETHEUS", "PROMETHEUS_PORT", 9090),
            alertmanager_url=url("ALERTMANAGER", "ALERTMANAGER_PORT", 9093),
            grafana_url=url("GRAFANA", "GRAFANA_PORT", 3000),
            influxdb_url=url("INFLUXDB", "INFLUXDB_PORT", 8086),
            loki_url=url("LOKI", "LOKI_PORT", 3100),
            jaeger_url=url("JAEGER", "JAEGER_PORT", 16686),
            otlp_url=url("OTLP", "OTLP_HTTP_PORT", 4318),
            influxdb_database=database,
            influxdb_bucket=env.get("NOVALOAD_INFLUXDB_BUCKET") or database,
            influxdb_org=env.get("INFLUXDB_ORG", ""),
            influxdb_token=env.get("INFLUXDB_TOKEN") or None,
            grafana_user=env.get("GRAFANA_ADMIN_USER") or "admin",
            grafana_password=env.get("GRAFANA_ADMIN_PASSWORD") or None,
            prometheus_push_interval=env.get("NOVALOAD_PROMETHEUS_PUSH_INTERVAL") or "5s",
            outputs=tuple(o.strip() for o in outputs.split(",") if o.strip()) if outputs else OUTPUTS,
            native_histograms=_BOOLEANS[native],
            prometheus_targets_dir=_targets_dir(env.get("NOVALOAD_PROMETHEUS_TARGETS_DIR")),
            target_scrape_host=env.get("NOVALOAD_TARGET_SCRAPE_HOST") or "host.docker.internal",
        )


def _targets_dir(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / "monitoring" / "prometheus" / "targets"
        if candidate.is_dir():
            return candidate
    return None


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _check_url(value: str, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("must be an http(s) URL like http://127.0.0.1:9090", key=key, value=value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError("has an invalid port", key=key, value=value) from None
    return value.rstrip("/")


__all__ = ["DASHBOARD_UIDS", "DATASOURCE_UIDS", "OUTPUTS", "MonitoringSettings"]
