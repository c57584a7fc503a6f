"""``novaload target serve``: the built-in demo service to test against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from novaload.cli.app import app

target_app = typer.Typer(help="The built-in demo target.", no_args_is_help=True)
app.add_typer(target_app, name="target")


@target_app.command()
def serve(
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port; 0 picks a free one.")] = 8080,
    latency_median_ms: Annotated[
        float, typer.Option("--latency-median-ms", metavar="MS", help="Median added latency.")
    ] = 8.0,
    latency_p99_ms: Annotated[
        float, typer.Option("--latency-p99-ms", metavar="MS", help="p99 added latency (lognormal).")
    ] = 60.0,
    error_rate: Annotated[
        float,
        typer.Option(
            "--error-rate", min=0.0, max=1.0, metavar="SHARE", help="Share of requests answered 5xx."
        ),
    ] = 0.0,
    drift_ms_per_min: Annotated[
        float,
        typer.Option(
            "--drift-ms-per-min", metavar="MS", help="Latency added per minute of uptime (soak testing)."
        ),
    ] = 0.0,
    capacity_rps: Annotated[
        float | None,
        typer.Option(
            "--capacity-rps",
            metavar="RPS",
            help="Requests/s beyond which latency climbs and 503s appear.",
            show_default="no limit",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", metavar="N", help="Random seed.", show_default="a new one each time"),
    ] = None,
    ready_file: Annotated[
        Path | None, typer.Option("--ready-file", metavar="FILE", help="Write the URL here once listening.")
    ] = None,
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(
            "--otlp-endpoint",
            metavar="URL",
            help="Export the target's spans over OTLP/HTTP to URL/v1/traces (requests that arrive with "
            "sampled trace context), e.g. the monitoring stack's Jaeger at http://127.0.0.1:4318.",
            envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
            show_default="no tracing",
        ),
    ] = None,
) -> None:
    """Serve the demo target (REST, WebSockets, /metrics) until Ctrl-C."""
    from novaload.target.server import serve as serve_target
    from novaload.target.settings import TargetSettings

    settings = TargetSettings(
        host=host,
        port=port,
        latency_median_ms=latency_median_ms,
        latency_p99_ms=latency_p99_ms,
        error_rate=error_rate,
        latency_drift_ms_per_min=drift_ms_per_min,
        capacity_rps=capacity_rps,
        seed=seed,
        otlp_endpoint=otlp_endpoint,
    )
    serve_target(settings, ready_file=ready_file)
