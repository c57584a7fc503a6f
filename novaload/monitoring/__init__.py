"""The monitoring stack beside the run pipeline: Prometheus/InfluxDB/Loki outputs of a
k6 run, Grafana links, run-history publishing, and the compose stack that hosts them.

Usable without the CLI::

    wired = outputs_for_run(run_id)        # asks each service once; wires those answering
    wired.args, wired.env                  # add to `k6 run`; wired.problems: what was left out
    publish_run_history(results, wired.settings, run_id=..., ...)
"""

from novaload.monitoring.outputs import (
    TREND_STATS,
    OutputCheck,
    RunOutputs,
    check_outputs,
    grafana_run_url,
    k6_output_args,
    outputs_for_run,
)
from novaload.monitoring.publish import history_points, publish_run_history
from novaload.monitoring.settings import DASHBOARD_UIDS, DATASOURCE_UIDS, MonitoringSettings
from novaload.monitoring.stack import ComposeStack, ServiceStatus, urls

__all__ = [
    "DASHBOARD_UIDS",
    "DATASOURCE_UIDS",
    "TREND_STATS",
    "ComposeStack",
    "MonitoringSettings",
    "OutputCheck",
    "RunOutputs",
    "ServiceStatus",
    "check_outputs",
    "grafana_run_url",
    "history_points",
    "k6_output_args",
    "outputs_for_run",
    "publish_run_history",
    "urls",
]
