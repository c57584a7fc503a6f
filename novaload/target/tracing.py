"""The demo target's own spans (OpenTelemetry), exported over OTLP when an endpoint is set.

Off unless ``TargetSettings.otlp_endpoint`` is set: only then is OpenTelemetry imported (the
target starts for every local run, and its start-up is on the run's way). When on,
:func:`tracing_middleware` takes the trace context a request carries (W3C ``traceparent``
and ``baggage``, Jaeger's ``uber-trace-id``, B3 single or multi header: whatever
``run --traces`` sends), makes its server span a child of the caller's span, names the
run (``testid`` from the baggage) on it, and :func:`traced_delay` adds a child span for
the time the target spends on purpose (injected latency, a slow aggregate). Spans go in
batches to ``{endpoint}/v1/traces`` (OTLP/HTTP, protobuf).

Sampling follows the caller (parent-based, nothing sampled at the root): a request whose
context says "sampled" is traced, the others cost a header lookup. So a traced run against
the monitoring stack shows whole traces, k6's request and the target's work inside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from novaload.target.settings import TargetSettings

SERVICE = "novaload-demo"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Tracer:
    """What the middleware needs from OpenTelemetry, made once per app."""

    provider: Any  # opentelemetry.sdk.trace.TracerProvider
    tracer: Any  # opentelemetry.trace.Tracer
    propagator: Any  # a composite TextMapPropagator


TRACER = web.AppKey("tracer", Tracer)


def install(app: web.Application, settings: TargetSettings) -> None:
    """Trace ``app``'s requests when ``settings.otlp_endpoint`` is set (else nothing)."""
    if not settings.otlp_endpoint:
        return
    app[TRACER] = _tracer(settings.otlp_endpoint)
    app.middlewares.insert(0, tracing_middleware)
    app.on_cleanup.append(_flush)


def _tracer(endpoint: str) -> Tracer:
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.propagators.jaeger import JaegerPropagator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from novaload import __version__

    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE, "service.version": __version__}),
        sampler=ParentBased(root=ALWAYS_OFF),
    )
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    propagator = CompositePropagator(
        [
            TraceContextTextMapPropagator(),
            W3CBaggagePropagator(),
            JaegerPropagator(),
            B3SingleFormat(),
            B3MultiFormat(),
        ]
    )
    # a provider of our own, not the process-wide global: tests start several apps
    return Tracer(provider, provider.get_tracer("novaload.target", __version__), propagator)


async def _flush(app: web.Application) -> None:
    app[TRACER].provider.shutdown()  # exports what is batched


@web.middleware
async def tracing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    from opentelemetry import baggage, context
    from opentelemetry.trace import SpanKind, Status, StatusCode

    traced = request.app[TRACER]
    parent = traced.propagator.extract(carrier=request.headers)
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    token = context.attach(parent)
    try:
        with traced.tracer.start_as_current_span(f"{request.method} {name}", kind=SpanKind.SERVER) as span:
            if span.is_recording():
                span.set_attribute("http.request.method", request.method)
                span.set_attribute("http.route", name)
                span.set_attribute("url.path", request.path)
                testid = baggage.get_baggage("testid", parent)
                if testid:
                    span.set_attribute("testid", str(testid))
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                _status(span, exc.status, Status, StatusCode)
                raise
            _status(span, response.status, Status, StatusCode)
            return response
    finally:
        context.detach(token)


def _status(span: Any, code: int, status: Any, codes: Any) -> None:
    if span.is_recording():
        span.set_attribute("http.response.status_code", code)
        if code >= 500:
            span.set_status(status(codes.ERROR))


@contextlib.asynccontextmanager
async def traced_delay(request: web.Request, name: str) -> AsyncIterator[None]:
    """A child span around time the target spends on purpose (nothing when untraced)."""
    traced = request.app.get(TRACER)
    if traced is None:
        yield
        return
    with traced.tracer.start_as_current_span(name):
        yield


__all__ = ["SERVICE", "TRACER", "Tracer", "install", "traced_delay", "tracing_middleware"]
