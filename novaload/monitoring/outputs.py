"""How a k6 run reaches the monitoring stack: k6 CLI arguments, environment and links.

:func:`reachable_outputs` asks each service once before the run (an output whose
service is down would only make k6 log an error every push interval);
:func:`k6_output_args` gives what the runner adds to ``k6 run``; :func:`run_tag_args`
adds ``--tag testid=<run id>``, which every dashboard and alert filters on, when samples
leave the run folder;
:class:`OutputErrorFilter` keeps k6's repeated output errors out of the terminal;
:func:`grafana_run_url` links a run to its live dashboard.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from novaload.errors import ConfigError
from novaload.monitoring.settings import DASHBOARD_UIDS, OUTPUTS, MonitoringSettings
from novaload.monitoring.stack import Fetch, Post, http_get, http_post, reason_of
from novaload.runners.k6args import sends_samples

# p95/p99 feed the dashboards and alert rules; min/max/avg make the latency panel honest.
TREND_STATS = "p(95),p(99),min,max,avg"
# Before the start: rate() windows need samples from the first seconds of the run.
_MARGIN = timedelta(seconds=30)
_RUN_ID = re.compile(r"^[A-Za-z0-9._:@+-]{1,128}$")


def run_tag_args(run_id: str, k6_args: Sequence[str]) -> tuple[str, ...]:
    """``--tag testid=<run id>`` when ``k6_args`` send samples to an output beside the
    run folder's own results file (monitoring, or the user's ``--out``): there runs mix
    and dashboards tell them apart by it. Not otherwise: on every line of k6's JSON it
    adds ~14 % to what k6 writes and novaload reads, for nothing (a run folder holds
    one run)."""
    if not sends_samples(k6_args) or given_testid(k6_args) is not None:
        return ()  # a --tag testid=... of the user's wins, as it would in k6
    return ("--tag", f"testid={run_id}")


def given_testid(k6_args: Sequence[str]) -> str | None:
    """The ``testid`` of a ``--tag testid=VALUE`` in ``k6_args`` (the last one, as k6 reads them)."""
    found = None
    for flag, value in zip(k6_args, [*k6_args[1:], ""]):
        if flag.startswith("--tag="):
            flag, value = "--tag", flag.removeprefix("--tag=")
        if flag == "--tag":
            for pair in value.split(","):
                name, eq, tag = pair.partition("=")
                if eq and name.strip() == "testid":
                    found = tag
    return found


def k6_output_args(
    settings: MonitoringSettings,
    run_id: str,
    native_histograms: bool = False,
    *,
    outputs: Iterable[str] = ("prometheus", "influxdb"),
) -> tuple[list[str], dict[str, str]]:
    """k6 CLI arguments and environment variables sending a run to the stack.

    ``outputs`` picks among "prometheus" (remote write), "influxdb" (k6's InfluxDB 1.x
    output) and "loki" (k6's own Loki log output, labelled ``testid=<run_id>``; k6 then
    writes its log lines to Loki *instead of* its stderr, which is why
    :func:`outputs_for_run` forwards k6.log to Loki instead). With ``native_histograms`` (or the
    settings') trends go as Prometheus native histograms (``k6_<trend>_seconds``) instead
    of the ``k6_<trend>_p95``... stat gauges; the provisioned dashboards and alert rules
    read both.
    """
    _check_run_id(run_id)
    native_histograms = native_histograms or settings.native_histograms
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
        # Without stale markers a finished run's series live on for Prometheus' 5-minute
        # lookback: panels show a flat line and alerts keep firing after the run.
        env["K6_PROMETHEUS_RW_STALE_MARKERS"] = "true"
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


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """Whether one monitoring output can take a run's data; ``detail`` says why not."""

    output: str
    url: str
    ok: bool
    detail: str

    def describe(self) -> str:
        """ "Loki at http://127.0.0.1:3100 is not reachable (Connection refused)"."""
        return f"{_SERVICE[self.output]} at {self.url} {self.detail}"

    def line(self) -> str:
        """The one line printed before the run when the output is left out."""
        return f"monitoring: {self.describe()}: {_LOST[self.output]}"


_SERVICE = {
    "prometheus": "Prometheus",
    "influxdb": "InfluxDB",
    "loki": "Loki",
    "jaeger": "Jaeger's OTLP receiver",
}
_LOST = {
    "prometheus": "no Prometheus metrics for this run",
    "influxdb": "no InfluxDB metrics for this run",
    "loki": "k6 logs stay in k6.log",
    "jaeger": "the demo target's spans are not exported (the reports still link the exemplars)",
}


def check_outputs(
    settings: MonitoringSettings,
    outputs: Iterable[str] = OUTPUTS,
    *,
    fetch: Fetch = http_get,
    post: Post = http_post,
) -> list[OutputCheck]:
    """Ask each output's service whether it would take a run's data (one request each).

    Prometheus must be ready *and* accept remote write: without
    ``--web.enable-remote-write-receiver`` it answers 404 on ``/api/v1/write`` and k6
    would log an error every push interval while the run's metrics are lost.
    """
    checks = []
    for output in dict.fromkeys(outputs):
        if output == "prometheus":
            url = settings.prometheus_url
            check = _answers(fetch, output, url, "/-/ready")
            if check.ok:
                check = _accepts_remote_write(post, url)
        elif output == "influxdb":
            check = _answers(fetch, output, settings.influxdb_url, "/ping")
        elif output == "loki":
            check = _answers(fetch, output, settings.loki_url, "/ready")
        elif output == "jaeger":
            check = _accepts_otlp(post, settings.otlp_url)
        else:
            raise ConfigError(
                f"unknown monitoring output, expected one of {', '.join(OUTPUTS)}",
                key="outputs",
                value=output,
            )
        checks.append(check)
    return checks


def _answers(fetch: Fetch, output: str, url: str, path: str) -> OutputCheck:
    try:
        code, body = fetch(url + path, {})
    except OSError as exc:
        return OutputCheck(output, url, False, f"is not reachable ({reason_of(exc)})")
    if 200 <= code < 300:
        return OutputCheck(output, url, True, "ready")
    first = body.strip().splitlines()[0][:120] if body.strip() else ""
    return OutputCheck(output, url, False, f"is not ready (HTTP {code}{': ' + first if first else ''})")


def _accepts_remote_write(post: Post, url: str) -> OutputCheck:
    # An empty body is not a valid write request: a receiver answers 400, none answers 404.
    try:
        code, _ = post(f"{url}/api/v1/write", b"", {"Content-Type": "application/x-protobuf"})
    except OSError as exc:
        return OutputCheck("prometheus", url, False, f"is not reachable ({reason_of(exc)})")
    if code == 404:
        return OutputCheck(
            "prometheus",
            url,
            False,
            "does not accept remote write (start it with --web.enable-remote-write-receiver)",
        )
    return OutputCheck("prometheus", url, True, "ready")


def _accepts_otlp(post: Post, url: str) -> OutputCheck:
    # An empty body is an empty ExportTraceServiceRequest: a receiver takes it (200).
    try:
        code, body = post(f"{url}/v1/traces", b"", {"Content-Type": "application/x-protobuf"})
    except OSError as exc:
        return OutputCheck("jaeger", url, False, f"is not reachable ({reason_of(exc)})")
    if 200 <= code < 300:
        return OutputCheck("jaeger", url, True, "ready")
    first = body.strip().splitlines()[0][:120] if body.strip() else ""
    return OutputCheck(
        "jaeger", url, False, f"does not take OTLP/HTTP traces (HTTP {code}{': ' + first if first else ''})"
    )


class OutputErrorFilter:
    """Passes k6 log lines on, except repeats of the same output's errors.

    An output whose service stops answering makes k6 log one error per push interval
    (every 5 s for a whole run); the first is shown, the rest counted for
    :meth:`summary`. Everything still goes to k6.log: this only filters the terminal.
    """

    def __init__(self, forward: Callable[[str], None]) -> None:
        self._forward = forward
        self.repeats: Counter[str] = Counter()

    def __call__(self, line: str) -> None:
        output = _output_of(line)
        if output is None:
            self._forward(line)
            return
        if output not in self.repeats:
            self._forward(line)
        self.repeats[output] += 1

    def summary(self) -> list[str]:
        """One line per output that failed more than once."""
        return [
            f"k6 output {name!r} failed {count} times during the run (every failure is in k6.log)"
            for name, count in self.repeats.items()
            if count > 1
        ]


_OUTPUT_FIELD = re.compile(r'\boutput=(?:"([^"]*)"|(\S+))')


def _output_of(line: str) -> str | None:
    if "level=error" not in line and "level=warning" not in line:
        return None
    if "Error while sending logs to loki" in line:  # k6's Loki hook names no output field
        return "loki"
    match = _OUTPUT_FIELD.search(line)
    return (match.group(1) or match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """What `run --monitor` adds to one k6 run, and what to tell the user about it."""

    settings: MonitoringSettings
    outputs: tuple[str, ...]  # the outputs whose service answered
    args: tuple[str, ...]
    env: dict[str, str]
    problems: tuple[str, ...]  # one line per service left out (warnings)
    notes: tuple[str, ...]  # where the run can be watched, where its logs go
    # Loki, when it answered: novaload forwards k6.log's entries there
    # (novaload.monitoring.logs), so k6's log lines also stay in k6.log.
    loki_url: str | None = None
    # Jaeger's OTLP/HTTP receiver, when it answered (a traced run): the demo target's spans go there.
    otlp_url: str | None = None


def outputs_for_run(
    run_id: str,
    native_histograms: bool = False,
    settings: MonitoringSettings | None = None,
    *,
    started_at: datetime | None = None,
    traced: bool = False,
    fetch: Fetch = http_get,
    post: Post = http_post,
) -> RunOutputs:
    """Ask each configured output's service once, then wire those that answered.

    ``settings`` default to :meth:`MonitoringSettings.from_env`. Jaeger is asked only for a
    ``traced`` run (spans come from requests that carry trace context).
    """
    settings = settings or MonitoringSettings.from_env()
    wanted = [o for o in settings.outputs if traced or o != "jaeger"]
    checks = check_outputs(settings, wanted, fetch=fetch, post=post)
    problems = [c.line() for c in checks if not c.ok]
    outputs = tuple(c.output for c in checks if c.ok)
    if not outputs:
        problems.append("monitoring: nothing to send the run to; start the stack with `novaload monitor up`")
        return RunOutputs(settings, (), (), {}, tuple(problems), ())
    # Not k6's --log-output=loki: it would take k6's log lines out of k6.log and the terminal.
    # Nor an output of k6's for Jaeger: k6 sends trace context, the demo target the spans.
    k6_outputs = [o for o in outputs if o not in ("loki", "jaeger")]
    args, env = (
        k6_output_args(settings, run_id, native_histograms, outputs=k6_outputs) if k6_outputs else ([], {})
    )
    notes = []
    if "loki" in outputs:
        notes.append(f"k6 logs also go to Loki (label testid={run_id})")
    if "prometheus" in outputs or "influxdb" in outputs:
        dashboard = "prometheus" if "prometheus" in outputs else "influxdb"
        link = grafana_run_url(settings, run_id, started_at or datetime.now(UTC), None, dashboard=dashboard)
        notes.append(f"live dashboard: {link}")
    if "jaeger" in outputs:
        notes.append(
            f"traces: {settings.jaeger_url} (the demo target's spans of this run's sampled requests)"
        )
    loki_url = settings.loki_url if "loki" in outputs else None
    otlp_url = settings.otlp_url if "jaeger" in outputs else None
    return RunOutputs(settings, outputs, tuple(args), env, tuple(problems), tuple(notes), loki_url, otlp_url)


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


__all__ = [
    "OUTPUTS",
    "TREND_STATS",
    "OutputCheck",
    "OutputErrorFilter",
    "RunOutputs",
    "check_outputs",
    "grafana_run_url",
    "k6_output_args",
    "run_tag_args",
    "outputs_for_run",
]
