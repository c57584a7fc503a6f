"""`novaload run --monitor` end to end: the real CLI, k6, demo target, Prometheus 2.42
(remote write, file-based service discovery) and InfluxDB 1.6.7; Loki is a local
endpoint receiving k6's own push, since Loki cannot run here.

Checks what a team sees first: every output that answers is wired (metrics, logs with
the run id as a label), the demo target started for the run is scraped while the run
lasts and announced no longer after, and a service that is down costs one line before
the run, not an error line per push interval.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitoring_support import (
    DASHBOARDS,
    LokiReceiver,
    Server,
    free_port,
    http_get,
    require,
    start_loki_receiver,
    start_prometheus,
)
from support import stop_process

from novaload.monitoring import MonitoringSettings
from novaload.monitoring.outputs import check_outputs

pytestmark = [pytest.mark.prometheus, pytest.mark.influxdb, pytest.mark.k6]

REPO = Path(__file__).resolve().parents[2]

# Logs on purpose (console.log/warn) so k6 has lines to push; errors come from the target.
SCRIPT = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '6s' };
export default function () {
  const r = http.get(`${__ENV.NOVALOAD_BASE_URL}/api/v1/items`, { tags: { name: 'items' } });
  if (__ITER < 2) console.log(`iteration ${__ITER} of VU ${__VU}: ${r.status}`);
  if (r.status !== 200 && __ITER < 4) console.warn(`unexpected status ${r.status}`);
  sleep(0.2);
}
"""


@pytest.fixture(scope="module")
def sd_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Prometheus scraping the `novaload-target` job from a file-SD directory, as the
    compose stack does (the directory is ``data_dir / "targets"``)."""
    require(Path("/usr/bin/prometheus").exists(), "/usr/bin/prometheus not installed")
    tmp = tmp_path_factory.mktemp("sd-prometheus")
    (tmp / "targets").mkdir()
    config = (
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: novaload-target\n"
        "    metrics_path: /metrics\n"
        f"    file_sd_configs: [{{files: ['{tmp / 'targets'}/*.yml'], refresh_interval: 1s}}]\n"
    )
    proc, server = start_prometheus(tmp, config)
    try:
        yield server
    finally:
        stop_process(proc)


def _query(server: Server, expr: str) -> list[dict]:
    status, body = http_get(f"{server.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert status == 200, body[:300]
    return json.loads(body)["data"]["result"]


def _env(prometheus: Server, influxdb: Server | None, loki: LokiReceiver | None) -> dict[str, str]:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOVALOAD_", "K6_"))}
    return env | {
        "NO_COLOR": "1",
        "NOVALOAD_PROMETHEUS_URL": prometheus.url,
        "NOVALOAD_INFLUXDB_URL": influxdb.url if influxdb else dead,
        "NOVALOAD_LOKI_URL": loki.url if loki else dead,
        "NOVALOAD_GRAFANA_URL": dead,
        "NOVALOAD_PROMETHEUS_PUSH_INTERVAL": "1s",
        "NOVALOAD_PROMETHEUS_TARGETS_DIR": str(prometheus.data_dir / "targets"),
        "NOVALOAD_TARGET_SCRAPE_HOST": "127.0.0.1",
        "NOVALOAD_HISTORY_DIR": str(prometheus.data_dir / "history"),
    }


def _start_run(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    script = tmp_path / "logs.js"
    script.write_text(SCRIPT, encoding="utf-8")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--env",
            "local",
            "--monitor",
            "--out-dir",
            str(tmp_path / "run"),
            *extra,
        ],  # fmt: skip
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Does a LogQL stream selector ``{a="x", b=~"y"}`` select a stream with ``labels``?"""
    matchers = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', selector)
    assert matchers and selector.strip().startswith("{") and selector.strip().endswith("}"), selector
    for name, op, value in matchers:
        have = labels.get(name, "")
        ok = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


def test_run_monitor_sends_metrics_and_logs_and_announces_the_demo_target(
    sd_prometheus: Server, influxdb: Server, loki: LokiReceiver, tmp_path: Path
) -> None:
    targets = sd_prometheus.data_dir / "targets"
    proc = _start_run(tmp_path, _env(sd_prometheus, influxdb, loki))
    run_id, scraped_up = None, False
    deadline = time.monotonic() + 90
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            entries = list(targets.glob("novaload-run-*.yml"))
            if entries and run_id is None:
                run_id = entries[0].name[len("novaload-run-") : -len(".yml")]
            if run_id and not scraped_up:
                up = _query(sd_prometheus, f'up{{job="novaload-target",testid="{run_id}"}}')
                scraped_up = bool(up) and up[0]["value"][1] == "1"
            time.sleep(0.3)
        stdout, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout[-2000:] + stderr[-2000:]
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert run_id == record["run_id"], "no service-discovery entry was written for the run"
    assert scraped_up, "Prometheus never scraped the demo target of the run"
    assert list(targets.glob("novaload-run-*")) == [] and list(targets.glob(".novaload-run-*")) == []
    assert "monitoring:" not in stderr, stderr  # every service answered: no preflight line
    assert f"k6 logs also go to Loki (label testid={run_id})" in stderr
    assert "iteration 0 of VU 1" in (tmp_path / "run" / "k6.log").read_text(encoding="utf-8")  # kept
    # InfluxDB 1.6.7 has no v2 write API: the history publish fails in one plain line.
    (publish,) = [ln for ln in stderr.splitlines() if "run history not published" in ln]
    assert "HTTP 404" in publish and "before 1.8" in publish, publish
    assert "HTTPHeaderDict" not in stderr and "novaload.monitoring.publish" not in stderr

    # Prometheus: the run's k6 series, ended by stale markers
    reqs = _query(sd_prometheus, f'sum(max_over_time(k6_http_reqs_total{{testid="{run_id}"}}[1m]))')
    assert reqs and float(reqs[0]["value"][1]) > 0
    assert _query(sd_prometheus, f'k6_vus{{testid="{run_id}"}}') == []  # stale: not 5 more minutes
    # InfluxDB: k6's influxdb output
    qs = urllib.parse.urlencode(
        {"db": "k6", "q": f"SELECT count(value) FROM http_reqs WHERE testid='{run_id}'"}
    )
    status, body = http_get(f"{influxdb.url}/query?{qs}")
    assert status == 200 and json.loads(body)["results"][0].get("series"), body[:300]

    # Loki: k6's push, selected by the dashboard's LogQL query for this run
    streams = loki.streams()
    assert streams, "k6 pushed nothing to Loki"
    dashboard = json.loads((DASHBOARDS / "k6-run-overview.json").read_text(encoding="utf-8"))
    (logs_panel,) = [p for p in dashboard["panels"] if p["datasource"]["type"] == "loki"]
    (target,) = logs_panel["targets"]
    selected = [
        s for s in streams if _selector_matches(target["expr"].replace("$testid", run_id), s["stream"])
    ]
    lines = [value[1] for s in selected for value in s["values"]]
    assert any("iteration 0 of VU 1" in line for line in lines), lines[:5]
    assert {s["stream"].get("level") for s in selected} >= {"info"}
    assert all(s["stream"]["testid"] == run_id for s in streams)
    assert not [
        s for s in streams if _selector_matches(target["expr"].replace("$testid", "other-run"), s["stream"])
    ]
    for stream in selected:  # Loki's push format: [ns timestamp as a string, line]
        assert all(len(v) == 2 and v[0].isdigit() and len(v[0]) >= 19 for v in stream["values"])


# console output at two levels, and an arrival-rate scenario short of VUs (k6's
# "Insufficient VUs" warning, which novaload's generator check reads from k6.log).
LOG_SCRIPT = """
import { sleep } from 'k6';
export const options = { scenarios: { a: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s',
  duration: '3s', preAllocatedVUs: 1, maxVUs: 1 } } };
export default function () {
  if (__ITER < 3) { console.log(`line ${__ITER} with "quotes" and = sign`); console.error('bad thing'); }
  sleep(0.3);
}
"""


def _shape(streams: list[dict]) -> set[tuple[tuple[tuple[str, str], ...], str]]:
    return {(tuple(sorted(s["stream"].items())), v[1]) for s in streams for v in s["values"]}


def test_forwarded_logs_have_the_shape_of_k6s_own_loki_push(
    k6_bin: str, tmp_path: Path, loki: LokiReceiver
) -> None:
    """The same script twice: once with k6's own --log-output=loki, once with its log in
    k6.log forwarded by novaload. Loki must get the same streams (labels) and lines."""
    from novaload.monitoring.logs import forward_k6_logs

    script = tmp_path / "logs.js"
    script.write_text(LOG_SCRIPT, encoding="utf-8")
    own, server = start_loki_receiver()
    try:
        done = subprocess.run(
            [
                k6_bin,
                "run",
                "--quiet",
                "--no-usage-report",
                "--address",  # k6's REST API on a free port: 6565 may be another test's
                "127.0.0.1:0",
                "--log-output",
                f"loki={own.url}/loki/api/v1/push,label.testid=shape",
                str(script),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=60,
            check=False,  # fmt: skip
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr[-1500:]
    log = tmp_path / "k6.log"
    before = len(loki.pushes)
    with forward_k6_logs(loki.url, "shape", log) as forwarder, log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            [k6_bin, "run", "--quiet", "--no-usage-report", "--address", "127.0.0.1:0", str(script)],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,  # fmt: skip
        )
    assert done.returncode == 0
    assert forwarder is not None and forwarder.summary() is None and forwarder.pushed >= 7
    forwarded = [s for push in loki.pushes[before:] for s in push["streams"]]
    assert _shape(forwarded) == _shape(own.streams())
    labels = {tuple(sorted(s["stream"])) for s in forwarded}
    assert ("executor", "level", "scenario", "testid") in labels  # the Insufficient VUs warning
    assert "Insufficient VUs" in log.read_text(encoding="utf-8")  # and k6.log still has it


def test_run_monitor_with_services_down_says_so_once_and_runs(sd_prometheus: Server, tmp_path: Path) -> None:
    """InfluxDB and Loki down: one line each before the run, k6 not told about them."""
    proc = _start_run(tmp_path, _env(sd_prometheus, None, None))
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout[-2000:] + stderr[-2000:]
    lines = [
        ln for ln in stderr.splitlines() if ln.strip().startswith(("monitoring:", "warning: monitoring:"))
    ]
    assert len(lines) == 2, stderr
    assert any("InfluxDB" in ln and "not reachable" in ln for ln in lines)
    assert any("Loki" in ln and "k6 logs stay in k6.log" in ln for ln in lines)
    (publish,) = [ln for ln in stderr.splitlines() if "run history not published" in ln]
    assert publish.rstrip().endswith("Connection refused"), publish
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    k6_log = (tmp_path / "run" / "k6.log").read_text(encoding="utf-8")
    assert "iteration 0 of VU 1" in k6_log  # logs stayed with the run
    assert "level=error" not in k6_log and "influxdb" not in " ".join(record["k6_args"])


def test_output_errors_are_shown_once_then_counted(sd_prometheus: Server, tmp_path: Path) -> None:
    """A Prometheus that stops answering during the run: k6 logs an error per push;
    the terminal shows the first and a count, k6.log keeps them all."""
    env = _env(sd_prometheus, None, None) | {"NOVALOAD_MONITOR_OUTPUTS": "prometheus"}
    # A second Prometheus that answers the preflight and then goes away.
    data = tmp_path / "short-lived"
    data.mkdir()
    (data / "targets").mkdir()
    short, server = start_prometheus(data, "global: {scrape_interval: 1m}\n")
    env |= {"NOVALOAD_PROMETHEUS_URL": server.url, "NOVALOAD_PROMETHEUS_TARGETS_DIR": str(data / "targets")}
    proc = _start_run(tmp_path, env)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "k6.log").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        short.kill()  # at once: a graceful stop under load could outlast the run's pushes
        short.wait(timeout=30)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout[-2000:] + stderr[-2000:]
    k6_log = (tmp_path / "run" / "k6.log").read_text(encoding="utf-8")
    failures = k6_log.count('output="Prometheus remote write"')
    assert failures >= 2, k6_log[-2000:]
    shown = [ln for ln in stderr.splitlines() if 'output="Prometheus remote write"' in ln]
    assert len(shown) == 1, stderr
    assert f"k6 output 'Prometheus remote write' failed {failures} times" in stderr


def test_preflight_names_a_prometheus_without_remote_write(tmp_path: Path) -> None:
    require(Path("/usr/bin/prometheus").exists(), "/usr/bin/prometheus not installed")
    proc, server = start_prometheus(tmp_path, "global: {scrape_interval: 1m}\n", remote_write=False)
    try:
        (check,) = check_outputs(MonitoringSettings(prometheus_url=server.url), ["prometheus"])
    finally:
        stop_process(proc)
    assert not check.ok and "--web.enable-remote-write-receiver" in check.line()
    assert "\n" not in check.line()


def test_outputs_for_run_as_a_library(sd_prometheus: Server, loki: LokiReceiver) -> None:
    from novaload.monitoring import outputs_for_run

    dead = f"http://127.0.0.1:{free_port()}"
    settings = MonitoringSettings(prometheus_url=sd_prometheus.url, influxdb_url=dead, loki_url=loki.url)
    wired = outputs_for_run("lib-run", settings=settings)
    assert wired.outputs == ("prometheus", "loki")
    assert wired.problems == (f"monitoring: InfluxDB at {dead} is not reachable (Connection refused): "
                              "no InfluxDB metrics for this run",)  # fmt: skip
    # Loki gets k6.log's entries from novaload, not k6's --log-output (which empties k6.log)
    assert wired.loki_url == loki.url and "--log-output" not in wired.args
    assert "influxdb" not in " ".join(wired.args)
    assert wired.env["K6_PROMETHEUS_RW_STALE_MARKERS"] == "true"
    assert any(n.startswith("live dashboard: ") and "var-testid=lib-run" in n for n in wired.notes)


def test_bad_monitoring_setting_is_one_line_exit_2_and_leaves_no_run_folder(tmp_path: Path) -> None:
    script = tmp_path / "logs.js"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVALOAD_")}
    env |= {"NO_COLOR": "1", "NOVALOAD_MONITOR_OUTPUTS": "prometheus,graphite"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--monitor",
            "--out-dir",
            str(tmp_path / "run"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # fmt: skip
    )
    assert done.returncode == 2, done.stderr
    # (other lines may come from novaload's start-up sweep of orphaned containers)
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "NOVALOAD_MONITOR_OUTPUTS" in errors[0] and "graphite" in errors[0], (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
