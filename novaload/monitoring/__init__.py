"""The monitoring stack beside the run pipeline: Prometheus/InfluxDB/Loki outputs of a
k6 run, Grafana links, run-history publishing, and the compose stack that hosts them.

Usable without the CLI::

    settings = MonitoringSettings.from_env()
    args, env = k6_output_args(settings, run_id)          # add to `k6 run`
    publish_run_history(results, settings, run_id=..., ...)
"""

from novaload.monitoring.outputs import TREND_STATS, grafana_run_url, k6_output_args
from novaload.monitoring.publish import history_points, publish_run_history
from novaload.monitoring.settings import DASHBOARD_UIDS, DATASOURCE_UIDS, MonitoringSettings
from novaload.monitoring.stack import ComposeStack, ServiceStatus, urls

__all__ = [
    "DASHBOARD_UIDS",
    "DATASOURCE_UIDS",
    "TREND_STATS",
    "ComposeStack",
    "MonitoringSettings",
    "ServiceStatus",
    "grafana_run_url",
    "history_points",
    "k6_output_args",
    "publish_run_history",
    "urls",
]
