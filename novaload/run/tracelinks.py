"""Where a run's exemplars link to: its ``tracing:`` settings over the monitoring stack's URLs.

``links: jaeger`` (the default) opens ``{url}/trace/{id}`` in Jaeger's UI, ``url`` being the
tracing settings' or ``NOVALOAD_JAEGER_URL`` (the stack's Jaeger); ``links: grafana`` opens
Grafana's Explore (``url`` or ``NOVALOAD_GRAFANA_URL``) with the configured datasource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from novaload.config.models import Tracing
    from novaload.reports.exemplars import TraceLinks


def check(environ: Mapping[str, str] | None = None) -> None:
    """Raise the ConfigError a malformed ``NOVALOAD_*_URL`` would give after the run (before
    k6 starts, so nothing heavy: the report modules are not imported here)."""
    from novaload.monitoring.settings import MonitoringSettings

    MonitoringSettings.from_env(environ)


def trace_links(tracing: Tracing | None, environ: Mapping[str, str] | None = None) -> TraceLinks:
    """The links for a run traced with ``tracing`` (None: the defaults). A malformed
    ``NOVALOAD_*_URL`` is a ConfigError naming it."""
    from novaload.monitoring.settings import MonitoringSettings
    from novaload.reports.exemplars import TraceLinks

    settings = MonitoringSettings.from_env(environ)
    if tracing is None:
        return TraceLinks(ui="jaeger", url=settings.jaeger_url)
    default = settings.grafana_url if tracing.links == "grafana" else settings.jaeger_url
    return TraceLinks(
        ui=tracing.links,
        url=tracing.url or default,
        datasource=tracing.datasource,
        datasource_type=tracing.datasource_type,
    )


__all__ = ["check", "trace_links"]
