"""novaload.monitoring without servers: settings, k6 arguments, links, history points
and the compose command lines (no stack is really started: no image can be pulled)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from monitoring_support import REPO

from novaload.errors import ConfigError, MonitoringError
from novaload.monitoring import (
    ComposeStack,
    MonitoringSettings,
    grafana_run_url,
    history_points,
    k6_output_args,
)
from novaload.monitoring.outputs import run_tag_args
from novaload.monitoring.settings import DATASOURCE_UIDS
from novaload.results.model import MetricSummary, RunResults

COMPOSE = REPO / "docker-compose.monitoring.yml"


def test_settings_default_to_the_local_stack() -> None:
    s = MonitoringSettings.from_env({})
    assert (s.prometheus_url, s.grafana_url, s.influxdb_url, s.loki_url) == (
        "http://127.0.0.1:9090",
        "http://127.0.0.1:3000",
        "http://127.0.0.1:8086",
        "http://127.0.0.1:3100",
    )
    assert (s.influxdb_database, s.influxdb_bucket, s.influxdb_token) == ("k6", "k6", None)


def test_settings_from_env_overrides() -> None:
    s = MonitoringSettings.from_env(
        {
            "MONITORING_BIND": "0.0.0.0",
            "PROMETHEUS_PORT": "19090",
            "NOVALOAD_GRAFANA_URL": "https://grafana.example:3443/",
            "NOVALOAD_INFLUXDB_BUCKET": "k6/autogen",
            "INFLUXDB_TOKEN": "u:p",
            "GRAFANA_ADMIN_PASSWORD": "pw",
        }
    )
    assert s.prometheus_url == "http://127.0.0.1:19090"  # 0.0.0.0 is reached on loopback
    assert s.grafana_url == "https://grafana.example:3443"
    assert (s.influxdb_bucket, s.influxdb_token, s.grafana_password) == ("k6/autogen", "u:p", "pw")
    assert "u:p" not in repr(s) and "pw" not in repr(s)


@pytest.mark.parametrize(
    "env, key",
    [
        ({"NOVALOAD_PROMETHEUS_URL": "localhost:9090"}, "NOVALOAD_PROMETHEUS_URL"),
        ({"NOVALOAD_LOKI_URL": "http://h:notaport"}, "NOVALOAD_LOKI_URL"),
    ],
    ids=["no-scheme", "bad-port"],
)
def test_bad_url_is_a_config_error_naming_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        MonitoringSettings.from_env(env)
    assert str(err.value).startswith(f"{key}: ") and repr(next(iter(env.values()))) in str(err.value)


def test_k6_output_args_for_prometheus_and_influxdb() -> None:
    s = MonitoringSettings(prometheus_url="http://127.0.0.1:9090", influxdb_url="http://127.0.0.1:8086")
    args, env = k6_output_args(s, "run-1")
    assert args == ["--out", "experimental-prometheus-rw", "--out", "influxdb=http://127.0.0.1:8086/k6"]
    assert env == {
        "K6_PROMETHEUS_RW_SERVER_URL": "http://127.0.0.1:9090/api/v1/write",
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "5s",
        "K6_PROMETHEUS_RW_TREND_STATS": "p(95),p(99),min,max,avg",
        "K6_PROMETHEUS_RW_STALE_MARKERS": "true",
    }


@pytest.mark.parametrize(
    ("k6_args", "tagged"),
    [
        ((), False),
        (("--vus", "5", "--tag", "team=a"), False),
        (("--out", "experimental-prometheus-rw"), True),
        (("-o", "influxdb=http://127.0.0.1:8086/k6"), True),
        (("--out=csv=x.csv",), True),
        (("-e", "X=--out"), False),
    ],
)
def test_the_testid_tag_goes_only_where_samples_leave_the_run_folder(
    k6_args: tuple[str, ...], tagged: bool
) -> None:
    assert run_tag_args("run-1", k6_args) == (("--tag", "testid=run-1") if tagged else ())


def test_settings_choose_outputs_and_native_histograms_from_env() -> None:
    s = MonitoringSettings.from_env(
        {"NOVALOAD_MONITOR_OUTPUTS": "prometheus, loki", "NOVALOAD_MONITOR_NATIVE_HISTOGRAMS": "true"}
    )
    assert s.outputs == ("prometheus", "loki") and s.native_histograms
    _, env = k6_output_args(s, "run-3", outputs=s.outputs)
    assert env["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"] == "true"


@pytest.mark.parametrize(
    "env, key",
    [
        ({"NOVALOAD_MONITOR_OUTPUTS": "prometheus,graphite"}, "NOVALOAD_MONITOR_OUTPUTS"),
        ({"NOVALOAD_MONITOR_NATIVE_HISTOGRAMS": "maybe"}, "NOVALOAD_MONITOR_NATIVE_HISTOGRAMS"),
    ],
    ids=["unknown-output", "not-a-boolean"],
)
def test_bad_monitor_choice_is_a_config_error_naming_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        MonitoringSettings.from_env(env)
    assert str(err.value).startswith(f"{key}: ")


# Lines as k6 v1.1.0 prints them when an output's service is gone.
_PROM_ERROR = (
    'time="2026-12-02T08:53:26Z" level=error msg="Failed to send the time series data to the endpoint" '
    'error="HTTP POST request failed: connection refused" output="Prometheus remote write"'
)
_INFLUX_ERROR = 'time="2026-12-02T08:53:26Z" level=error msg="Couldn\'t write stats" error="connection refused" output=InfluxDBv1'
_LOKI_ERROR = 'time="2026-12-02T08:53:21Z" level=error msg="Error while sending logs to loki" error="refused"'


def test_output_error_filter_shows_each_outputs_first_error_and_counts_the_rest() -> None:
    from novaload.monitoring.outputs import OutputErrorFilter

    shown: list[str] = []
    gate = OutputErrorFilter(shown.append)
    other = (
        'time="x" level=warning msg="Insufficient VUs, reached 4 active VUs" executor=constant-arrival-rate'
    )
    for line in [
        _PROM_ERROR,
        _INFLUX_ERROR,
        _PROM_ERROR,
        other,
        _LOKI_ERROR,
        _PROM_ERROR,
        _LOKI_ERROR,
        other,
    ]:
        gate(line)
    assert shown == [_PROM_ERROR, _INFLUX_ERROR, other, _LOKI_ERROR, other]
    assert gate.summary() == [
        "k6 output 'Prometheus remote write' failed 3 times during the run (every failure is in k6.log)",
        "k6 output 'loki' failed 2 times during the run (every failure is in k6.log)",
    ]


def test_k6_output_args_native_histograms_loki_and_influx_credentials() -> None:
    s = MonitoringSettings(influxdb_token="k6user:secret")
    args, env = k6_output_args(s, "run-2", native_histograms=True, outputs=("prometheus", "influxdb", "loki"))
    assert (
        env["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"] == "true"
        and "K6_PROMETHEUS_RW_TREND_STATS" not in env
    )
    assert (env["K6_INFLUXDB_USERNAME"], env["K6_INFLUXDB_PASSWORD"]) == ("k6user", "secret")
    assert args[-2:] == ["--log-output", "loki=http://127.0.0.1:3100/loki/api/v1/push,label.testid=run-2"]


@pytest.mark.parametrize(
    "run_id, outputs",
    [("has space", ("prometheus",)), ("a,b", ("prometheus",)), ("ok", ("graphite",))],
    ids=["space", "comma", "unknown-output"],
)
def test_k6_output_args_rejects_bad_input(run_id: str, outputs: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        k6_output_args(MonitoringSettings(), run_id, outputs=outputs)


def test_grafana_run_url_selects_testid_and_time_range() -> None:
    s = MonitoringSettings(grafana_url="http://127.0.0.1:3000")
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    end = datetime(2026, 1, 2, 3, 9, 5, tzinfo=UTC)
    url = urlsplit(grafana_run_url(s, "run-7", start, end))
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/d/novaload-k6-prometheus"
    assert q["var-testid"] == "run-7"
    assert int(q["from"]) == int(start.timestamp() * 1000) - 30_000
    assert int(q["to"]) == int(end.timestamp() * 1000) + 30_000
    live = parse_qs(urlsplit(grafana_run_url(s, "run-7", start, None, dashboard="influxdb")).query)
    assert live["to"] == ["now"] and live["refresh"] == ["5s"]
    assert "/d/novaload-k6-influxdb" in grafana_run_url(s, "run-7", start, None, dashboard="influxdb")


def test_dashboard_uids_used_in_links_exist() -> None:
    from novaload.monitoring import DASHBOARD_UIDS

    present = {
        json.loads(p.read_text())["uid"] for p in (REPO / "monitoring/grafana/dashboards").glob("*.json")
    }
    assert set(DASHBOARD_UIDS.values()) == present


def test_history_points_skip_missing_values_and_keep_int_fields() -> None:
    import pandas as pd

    results = RunResults(
        metrics={
            "http_reqs": MetricSummary("http_reqs", "counter", "default", {"count": 10.0}),
            "http_req_duration": MetricSummary("http_req_duration", "trend", "time", {"p(95)": 5.5}),
        },
        thresholds=[],
        duration_s=4.0,
        duration_source="sample-span",
        started_at=None,
        ended_at=datetime(2026, 1, 1, tzinfo=UTC),
        sources=[],
        lines=0,
        points=0,
        input_bytes=0,
        endpoints=pd.DataFrame(
            [{"name": "home", "requests": 10, "error_rate": 0.0, "rps": 2.5, "p95": 5.5, "p99": float("nan")}]
        ),
    )
    run, endpoint = history_points(
        results, run_id="r1", scenario="smoke", environment="", verdict="passed", exit_code=0
    )
    line = run.to_line_protocol()
    assert line.startswith("novaload_run,run_id=r1,scenario=smoke,verdict=passed ")  # no empty tags
    assert "requests=10i" in line and "rps=2.5" in line and "exit_code=0i" in line and "p99_ms" not in line
    assert line.endswith(" 1767225600000")  # ended_at, ms precision
    assert "endpoint=home" in endpoint.to_line_protocol() and "p99_ms" not in endpoint.to_line_protocol()


# --- ComposeStack ----------------------------------------------------------------------


class FakeRunner:
    def __init__(self, v2: bool, fail_on: str | None = None) -> None:
        self.v2 = v2
        self.fail_on = fail_on
        self.calls: list[list[str]] = []

    def __call__(self, cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(cmd))
        if cmd[:3] == ["docker", "compose", "version"]:
            return subprocess.CompletedProcess(
                cmd, 0 if self.v2 else 1, "", "" if self.v2 else "unknown command"
            )
        if self.fail_on and self.fail_on in cmd:
            return subprocess.CompletedProcess(cmd, 1, "", "pulling prometheus\nError: pull access denied\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")


def _stack(
    runner: FakeRunner, tools: set[str], environ: dict[str, str] | None = None, ready: bool = True
) -> ComposeStack:
    def fetch(url: str, headers: Mapping[str, str]) -> tuple[int, str]:
        if not ready:
            raise ConnectionRefusedError("connection refused")
        if url.endswith("/api/v1/targets?state=active"):
            return 200, json.dumps({"data": {"activeTargets": [{"health": "up"}]}})
        if url.endswith("/api/datasources"):
            return 200, json.dumps([{"uid": u} for u in DATASOURCE_UIDS])
        return 200, "ok"

    clock = iter(range(0, 10_000, 5))
    return ComposeStack(
        COMPOSE,
        environ={"GRAFANA_ADMIN_PASSWORD": "pw"} if environ is None else environ,
        runner=runner,
        fetch=fetch,
        which=lambda name: f"/usr/bin/{name}" if name in tools else None,
        sleep=lambda s: None,
        clock=lambda: float(next(clock)),
    )


@pytest.mark.parametrize(
    "v2, tools, expected",
    [
        (True, {"docker", "docker-compose"}, ["docker", "compose"]),
        (False, {"docker", "docker-compose"}, ["docker-compose"]),
        (False, {"docker-compose"}, ["docker-compose"]),
    ],
    ids=["v2-plugin", "v1-when-no-plugin", "v1-without-docker-cli"],
)
def test_compose_detection_prefers_v2_and_runs_once(v2: bool, tools: set[str], expected: list[str]) -> None:
    runner = FakeRunner(v2)
    stack = _stack(runner, tools)
    assert stack.compose_command() == expected
    assert stack.compose_command() == expected
    # Each candidate actually run once: the plugin, then (if it failed) the v1 binary.
    assert [c for c in runner.calls if c[-1] == "version"] == [
        *([["docker", "compose", "version"]] if "docker" in tools else []),
        *([["docker-compose", "version"]] if expected == ["docker-compose"] else []),
    ]


def test_no_compose_at_all_is_one_line_monitoring_error() -> None:
    with pytest.raises(MonitoringError) as err:
        _stack(FakeRunner(False), {"docker"}).compose_command()
    assert (
        "docker compose" in str(err.value)
        and "docker-compose" in str(err.value)
        and "\n" not in str(err.value)
    )


def test_up_and_down_command_lines() -> None:
    runner = FakeRunner(v2=False)
    stack = _stack(runner, {"docker-compose"})
    checks = stack.up(wait_timeout=30)
    stack.down()
    stack.down(volumes=True)
    base = ["docker-compose", "-f", str(COMPOSE), "-p", "novaload-monitoring"]
    compose_calls = [c for c in runner.calls if c[:2] != ["docker", "volume"]]
    assert compose_calls == [
        ["docker-compose", "version"],  # found by running it
        [*base, "up", "-d"],
        [*base, "down", "--remove-orphans"],
        [*base, "down", "--remove-orphans", "-v"],
    ]
    assert all(c.ok for c in checks) and {c.name for c in checks} >= {"prometheus", "grafana datasources"}


def test_up_without_grafana_password_refuses_before_running_anything() -> None:
    runner = FakeRunner(v2=True)
    with pytest.raises(MonitoringError, match="GRAFANA_ADMIN_PASSWORD"):
        _stack(runner, {"docker"}, environ={}).up()
    assert runner.calls == []


def test_compose_failure_reports_the_last_error_line() -> None:
    with pytest.raises(MonitoringError) as err:
        _stack(FakeRunner(v2=True, fail_on="up"), {"docker"}).up()
    assert "exit 1" in str(err.value) and "): Error: pull access denied; removed" in str(err.value)


def test_up_times_out_naming_what_is_not_ready() -> None:
    with pytest.raises(MonitoringError) as err:
        _stack(FakeRunner(v2=True), {"docker"}, ready=False).up(wait_timeout=20)
    message = str(err.value)
    assert message.startswith("monitoring stack not ready after 20s: prometheus: not reachable")
    assert "loki: not reachable" in message


@pytest.mark.parametrize(
    "answer, expected",
    [
        ((401, "Unauthorized"), "Grafana rejected GRAFANA_ADMIN_USER/GRAFANA_ADMIN_PASSWORD"),
        (
            (200, json.dumps([{"uid": "novaload-prometheus"}])),
            "not provisioned: novaload-influxdb, novaload-loki, novaload-jaeger",
        ),
    ],
    ids=["bad-credentials", "missing-datasources"],
)
def test_status_says_what_is_wrong_with_grafana(answer: tuple[int, str], expected: str) -> None:
    def fetch(url: str, headers: Mapping[str, str]) -> tuple[int, str]:
        if url.endswith("/api/datasources"):
            assert headers["Authorization"].startswith("Basic ")
            return answer
        if url.endswith("/api/v1/targets?state=active"):
            return 200, json.dumps({"data": {"activeTargets": []}})
        return 200, "ok"

    stack = ComposeStack(Path("x.yml"), environ={"GRAFANA_ADMIN_PASSWORD": "pw"}, fetch=fetch)
    (ds,) = [c for c in stack.status() if c.name == "grafana datasources"]
    assert not ds.ok and expected in ds.detail


def test_status_and_up_do_not_wait_for_a_system_under_test_that_is_down() -> None:
    """`monitor up` on a healthy stack with no run (or a user's target down) must not time out."""
    targets = [
        {"health": "up", "labels": {"job": "prometheus"}, "scrapeUrl": "http://localhost:9090/metrics"},
        {
            "health": "down",
            "labels": {"job": "novaload-target"},
            "scrapeUrl": "http://host.docker.internal:8080/metrics",
            "lastError": "connection refused",
        },
    ]

    def fetch(url: str, headers: Mapping[str, str]) -> tuple[int, str]:
        if url.endswith("/api/v1/targets?state=active"):
            return 200, json.dumps({"data": {"activeTargets": targets}})
        if url.endswith("/api/datasources"):
            return 200, json.dumps([{"uid": u} for u in DATASOURCE_UIDS])
        return 200, "ok"

    runner = FakeRunner(v2=True)
    stack = ComposeStack(
        COMPOSE,
        environ={"GRAFANA_ADMIN_PASSWORD": "pw"},
        runner=runner,
        fetch=fetch,
        which=lambda n: "/usr/bin/docker",
    )
    checks = {c.name: c for c in stack.up(wait_timeout=1)}
    target = checks["prometheus targets"]
    assert target.ok and "system under test down: novaload-target" in target.detail


def test_log_forwarder_counts_what_a_dead_loki_did_not_get(tmp_path: Path) -> None:
    """Nothing listens: the run goes on, one line says how many log lines Loki missed."""
    import socket

    from novaload.monitoring.logs import forward_k6_logs

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    log = tmp_path / "k6.log"
    with forward_k6_logs(dead, "r1", log) as forwarder:
        log.write_text(
            'time="2026-12-02T09:43:11Z" level=info msg="hello" source=console\n'
            "     checks.........................: 100.00% 3 out of 3\n"  # k6's summary: not a log entry
            'time="2026-12-02T09:43:12Z" level=warning msg="Insufficient VUs, reached 1 active VUs" '
            "executor=constant-arrival-rate scenario=a\n"
            'time="2026-12-02T09:43:12Z" level=info msg="half a li',  # still being written
            encoding="utf-8",
        )
    assert forwarder is not None
    assert forwarder.summary() == (
        f"monitoring: 2 k6 log line(s) not sent to Loki at {dead}/loki/api/v1/push "
        "(1 failed push(es), last: Connection refused); k6.log has them all"
    )


def test_a_stack_is_not_started_only_when_no_service_answers() -> None:
    from novaload.monitoring.stack import ServiceStatus, not_started

    down = [ServiceStatus(n, f"http://127.0.0.1:1/{n}", False, "not reachable (refused)") for n in ("a", "b")]
    assert not_started(down) == (
        "the monitoring stack is not started (none of a, b answers): start it with `novaload monitor up`"
    )
    assert not_started([*down[:1], ServiceStatus("b", "u", True, "ready")]) is None
    assert not_started([*down[:1], ServiceStatus("b", "u", False, "not ready (HTTP 503: starting)")]) is None
    assert not_started([]) is None
