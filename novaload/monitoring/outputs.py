"""How a k6 run reaches the monitoring stack: k6 CLI arguments, environment and links.

:func:`k6_output_args` gives what the runner adds to ``k6 run`` (the runner itself adds
``--tag testid=<run id>``, which every dashboard and alert filters on);
:func:`grafana_run_url` links a run to its live dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from novaload.errors import ConfigError
from novaload.monitoring.settings import DASHBOARD_UIDS, MonitoringSettings

OUTPUTS = ("prometheus", "influxdb", "loki")
# p95/p99 feed the dashboards and alert rules; min/max/avg make the latency panel honest.
TREND_STATS = "p(95),p(99),min,max,avg"
# Before the start: rate() windows need samples from the first seconds of the run.
_MARGIN = timedelta(seconds=30)
_RUN_ID = re.compile(r"^[A-Za-z0-9._:@+-]{1,128}$")


def k6_output_args(
    settings: MonitoringSettings,
    run_id: str,
    native_histograms: bool = False,
    *,
    outputs: Iterable[str] = ("prometheus", "influxdb"),
) -> tuple[list[str], dict[str, str]]:
    """k6 CLI arguments and environment variables sending a run to the stack.

    ``outputs`` picks among "prometheus" (remote write), "influxdb" (k6's InfluxDB 1.x
    output) and "loki" (k6 logs, labelled ``testid=<run_id>``). With
    ``native_histograms`` trends go as Prometheus native histograms
    (``k6_<trend>_seconds``) instead of the ``k6_<trend>_p95``... stat gauges that the
    provisioned dashboards and alert rules read.
    """
    _check_run_id(run_id)
    chosen = list(dict.fromkeys(outputs))
    unknown = [o for o in chosen if o not in OUTPUTS]
    if unknown:
        raise ConfigError(
            f"unknown monitoring output, expected one of {', '.join(OUTPUTS)}",
            key="outputs",
            value=unknown[0],
        )
    args: list[str] = []
    env: dict[str, str] = {}
    if "prometheus" in chosen:
        args += ["--out", "experimental-prometheus-rw"]
        env["K6_PROMETHEUS_RW_SERVER_URL"] = f"{settings.prometheus_url}/api/v1/write"
        env["K6_PROMETHEUS_RW_PUSH_INTERVAL"] = settings.prometheus_push_interval
        if native_histograms:
            env["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"] = "true"
        else:
            env["K6_PROMETHEUS_RW_TREND_STATS"] = TREND_STATS
    if "influxdb" in chosen:
        args += ["--out", f"influxdb={settings.influxdb_url}/{settings.influxdb_database}"]
        env.update(_influx_credentials(settings.influxdb_token))
    if "loki" in chosen:
        args += ["--log-output", f"loki={settings.loki_url}/loki/api/v1/push,label.testid={run_id}"]
    return args, env


def grafana_run_url(
    settings: MonitoringSettings,
    run_id: str,
    started_at: datetime,
    ended_at: datetime | None = None,
    *,
    dashboard: str = "prometheus",
) -> str:
    """Link to a run's dashboard: ``testid`` selected, time range around the run.

    A running test (``ended_at`` None) gets ``to=now`` and auto-refresh. ``dashboard`` is
    "prometheus", "influxdb" or "history".
    """
    _check_run_id(run_id)
    uid = DASHBOARD_UIDS.get(dashboard)
    if uid is None:
        raise ConfigError(
            f"unknown dashboard, expected one of {', '.join(DASHBOARD_UIDS)}",
            key="dashboard",
            value=dashboard,
        )
    query = {"orgId": "1", "var-testid": run_id, "from": str(_epoch_ms(started_at - _MARGIN))}
    if ended_at is None:
        query |= {"to": "now", "refresh": "5s"}
    else:
        query["to"] = str(_epoch_ms(ended_at + _MARGIN))
    return f"{settings.grafana_url}/d/{uid}?{urlencode(query)}"


def _influx_credentials(token: str | None) -> dict[str, str]:
    # InfluxDB 1.x authenticates k6 by user/password; the v2-style token of 1.8 is "user:password".
    if not token or ":" not in token:
        return {}
    user, password = token.split(":", 1)
    return {"K6_INFLUXDB_USERNAME": user, "K6_INFLUXDB_PASSWORD": password}


def _check_run_id(run_id: str) -> None:
    # The run id ends up in a k6 tag, a Loki label list (comma-separated) and URLs.
    if not _RUN_ID.match(run_id):
        raise ConfigError(
            "must be 1-128 characters of letters, digits and ._:@+-", key="run_id", value=run_id
        )


def _epoch_ms(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC, as in model.py
    return int(aware.timestamp() * 1000)


__all__ = ["TREND_STATS", "grafana_run_url", "k6_output_args"]
