"""The words of ``tracing:`` and ``--traces`` (propagators, trace UIs), free of pydantic: the
CLI's help names them before any configuration is read. ``models.Tracing`` validates them."""

from __future__ import annotations

PROPAGATORS = ("w3c", "jaeger", "b3")  # traceparent, uber-trace-id, b3 (single header)
TRACE_LINKS = ("jaeger", "grafana", "none")  # where the reports' exemplars link to
TRACE_DATASOURCES = ("jaeger", "tempo")  # links: grafana: the Explore datasource's type

__all__ = ["PROPAGATORS", "TRACE_DATASOURCES", "TRACE_LINKS"]
