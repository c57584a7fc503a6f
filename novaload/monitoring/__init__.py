"""The monitoring stack beside the run pipeline: Prometheus/InfluxDB/Loki outputs of a
k6 run, Grafana links, run-history publishing, and the compose stack that hosts them.

Usable without the CLI::

    wired = outputs_for_run(run_id)        # asks each service once; wires those answering
    wired.args, wired.env                  # add to `k6 run`; wired.problems: what was left out
    publish_run_history(results, wired.settings, run_id=..., ...)

The names are loaded on first use (PEP 562): every run imports ``monitoring.outputs``
(the ``testid`` tag) before k6 starts, and that must not cost it ``publish``'s InfluxDB
client, which only a ``--monitor`` run needs, after k6.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS = {
    "TREND_STATS": "novaload.monitoring.outputs",
    "OutputCheck": "novaload.monitoring.outputs",
    "RunOutputs": "novaload.monitoring.outputs",
    "check_outputs": "novaload.monitoring.outputs",
    "grafana_run_url": "novaload.monitoring.outputs",
    "k6_output_args": "novaload.monitoring.outputs",
    "outputs_for_run": "novaload.monitoring.outputs",
    "history_points": "novaload.monitoring.publish",
    "publish_run_history": "novaload.monitoring.publish",
    "DASHBOARD_UIDS": "novaload.monitoring.settings",
    "DATASOURCE_UIDS": "novaload.monitoring.settings",
    "MonitoringSettings": "novaload.monitoring.settings",
    "ComposeStack": "novaload.monitoring.stack",
    "ServiceStatus": "novaload.monitoring.stack",
    "urls": "novaload.monitoring.stack",
}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'novaload.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
