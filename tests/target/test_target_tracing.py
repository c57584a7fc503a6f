"""The demo target's own spans: the trace context a request carries (W3C with baggage,
Jaeger, B3) becomes the parent of its server span, exported over OTLP/HTTP to a real
receiver built on ``opentelemetry-proto`` (``tests/otlp_receiver.py``); without an
endpoint nothing of OpenTelemetry is even imported."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from otlp_receiver import OtlpReceiver

from novaload.errors import ConfigError
from novaload.monitoring.outputs import check_outputs
from novaload.monitoring.settings import MonitoringSettings
from novaload.target.process import TargetProcess
from novaload.target.settings import TargetSettings

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, headers: dict[str, str]) -> int:
    with _DIRECT.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
        response.read()
        return response.status


def test_sampled_requests_become_child_spans_exported_over_otlp() -> None:
    with OtlpReceiver() as otlp:
        settings = TargetSettings(otlp_endpoint=otlp.url, latency_median_ms=4, latency_p99_ms=20)
        with TargetProcess.start(settings) as target:
            base = target.url
            _get(
                f"{base}/api/v1/reports/usage",
                {"traceparent": f"00-{TRACE}-{PARENT}-01", "baggage": "testid=run-9"},
            )
            _get(f"{base}/api/v1/items", {"uber-trace-id": f"{'1' * 32}:{'2' * 16}:0:1"})
            _get(f"{base}/api/v1/items/7", {"b3": f"{'3' * 32}-{'4' * 16}-1"})
            _get(f"{base}/api/v1/items", {"traceparent": f"00-{'5' * 32}-{'6' * 16}-00"})  # not sampled
            _get(f"{base}/api/v1/items", {})  # no context: not traced either
        # stopping the target flushes the batch
        spans = otlp.spans()
    servers = {s["trace_id"]: s for s in spans if s["kind"] == 2}  # SPAN_KIND_SERVER
    assert set(servers) == {TRACE, "1" * 32, "3" * 32}
    usage = servers[TRACE]
    assert usage["parent_span_id"] == PARENT  # a child of k6's span, in k6's trace
    assert usage["name"] == "GET /api/v1/reports/usage" and usage["service"] == "novaload-demo"
    assert usage["attributes"]["testid"] == "run-9"
    assert usage["attributes"]["http.response.status_code"] == 200
    assert usage["duration_ms"] >= 120  # slow on purpose
    assert servers["1" * 32]["parent_span_id"] == "2" * 16 and servers["3" * 32]["parent_span_id"] == "4" * 16
    inner = [s for s in spans if s["trace_id"] == TRACE and s["parent_span_id"] == usage["span_id"]]
    assert {s["name"] for s in inner} >= {"aggregate usage", "injected latency"}
    assert all(s["service"] == "novaload-demo" for s in spans)


def test_without_an_endpoint_opentelemetry_is_not_imported() -> None:
    probe = (
        "import sys, json\n"
        "from novaload.target.app import create_app\n"
        "from novaload.target.settings import TargetSettings\n"
        "create_app(TargetSettings())\n"
        "plain = any(m.startswith('opentelemetry') for m in sys.modules)\n"
        "create_app(TargetSettings(otlp_endpoint='http://127.0.0.1:9'))\n"
        "traced = any(m.startswith('opentelemetry') for m in sys.modules)\n"
        "print(json.dumps([plain, traced]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout) == [False, True]


def test_a_bad_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="otlp_endpoint"):
        TargetSettings(otlp_endpoint="127.0.0.1:4318")


def test_monitor_s_jaeger_check_asks_the_otlp_receiver() -> None:
    with OtlpReceiver() as otlp:
        settings = MonitoringSettings(otlp_url=otlp.url)
        (check,) = check_outputs(settings, ["jaeger"])
        assert check.ok and otlp.requests == 1
    (down,) = check_outputs(settings, ["jaeger"])  # the receiver is gone
    assert not down.ok and "not reachable" in down.describe()


def test_run_monitor_wires_jaeger_for_a_traced_run_only() -> None:
    from novaload.monitoring.outputs import outputs_for_run

    dead = "http://127.0.0.1:9"
    with OtlpReceiver() as otlp:
        settings = MonitoringSettings(
            prometheus_url=dead,
            influxdb_url=dead,
            loki_url=dead,
            otlp_url=otlp.url,
            jaeger_url="http://j.test",
        )
        plain = outputs_for_run("r-1", settings=settings)
        assert otlp.requests == 0 and plain.otlp_url is None  # an untraced run sends no spans
        traced = outputs_for_run("r-1", settings=settings, traced=True)
    assert traced.outputs == ("jaeger",) and traced.otlp_url == otlp.url
    assert traced.args == () and traced.env == {}  # nothing for k6 itself: the target sends spans
    assert any("traces: http://j.test" in note for note in traced.notes)
