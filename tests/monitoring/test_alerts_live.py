"""Every alert rule evaluated by a real Prometheus 2.42 on real k6 remote write.

Three k6 runs at once, 20 s each: a "bad" run against a demo target that is slow
(~600 ms) and fails 25 % of requests, with an arrival-rate scenario that cannot keep up
(it drops iterations, its VUs jitter); the same bad run in native-histogram mode; and a
clean run against a fast, healthy target. Beside them, a demo target announced through
a service-discovery entry and then stopped (really down), one that stays up, and a
stack service nobody listens for.

The rules Prometheus evaluates are the shipped ones with one change, made so the test
ends in bounded time: every ``for:`` is 2 s and Prometheus evaluates every second. The
expressions are the shipped expressions, byte for byte (asserted), so what fires and
when it resolves is theirs: each alert of the bad runs must fire during the run and be
gone within a minute after k6 ended; nothing may fire for the clean run.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from monitoring_support import MONITORING, Server, free_port, http_get, require, start_prometheus
from support import stop_process

from novaload.monitoring import MonitoringSettings, k6_output_args
from novaload.monitoring.targets import scrape_entry

pytestmark = [pytest.mark.prometheus, pytest.mark.k6, pytest.mark.slow]

RULES = MONITORING / "prometheus/rules/k6-alerts.yml"
K6_ALERTS = {"K6HighErrorRate", "K6HighLatencyP95", "K6DroppedIterations", "K6LoadGeneratorSaturated"}
RESOLVE_WITHIN_S = 60.0

SCRIPT = """
import http from 'k6/http';
import { check, sleep } from 'k6';
const B = __ENV.TARGET;
export const options = {
  scenarios: {
    users: { executor: 'constant-vus', vus: 3, duration: '20s' },
    arrivals: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s',
                duration: '20s', preAllocatedVUs: Number(__ENV.PRE_VUS), maxVUs: Number(__ENV.MAX_VUS), exec: 'paced' },
  },
};
export default function () {
  const r = http.get(`${B}/api/v1/items`, { tags: { name: 'items' } });
  check(r, { 'items ok': (x) => x.status === 200 });
  sleep(0.05);
}
export function paced() {
  http.get(`${B}/api/v1/cluster/nodes`, { tags: { name: 'cluster-nodes' } });
}
"""


def _rules_with_short_for(tmp: Path) -> Path:
    spec = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    shipped = [r["expr"] for g in spec["groups"] for r in g["rules"]]
    for group in spec["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    path = tmp / "k6-alerts.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    copy = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [r["expr"] for g in copy["groups"] for r in g["rules"]] == shipped  # only `for:` differs
    return path


@pytest.fixture(scope="module")
def rule_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(Path("/usr/bin/prometheus").exists(), "/usr/bin/prometheus not installed")
    tmp = tmp_path_factory.mktemp("rule-prometheus")
    (tmp / "targets").mkdir()
    rules = _rules_with_short_for(tmp)
    config = (
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}']\n"
        "scrape_configs:\n"
        "  - job_name: novaload-target\n"
        f"    file_sd_configs: [{{files: ['{tmp / 'targets'}/*.yml'], refresh_interval: 1s}}]\n"
        "  - job_name: alertmanager\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{free_port()}']}}]\n"
    )
    proc, server = start_prometheus(tmp, config)
    try:
        yield server
    finally:
        stop_process(proc)


@dataclass
class Seen:
    """When each (alert, label value) was first firing, and when last active."""

    firing: dict[tuple[str, str], float] = field(default_factory=dict)
    active: dict[tuple[str, str], float] = field(default_factory=dict)

    def record(self, server: Server) -> set[tuple[str, str]]:
        status, body = http_get(f"{server.url}/api/v1/alerts")
        assert status == 200, body[:300]
        now = time.time()
        current = set()
        for alert in json.loads(body)["data"]["alerts"]:
            labels = alert["labels"]
            key = (labels["alertname"], labels.get("testid") or labels.get("instance", ""))
            current.add(key)
            self.active[key] = now
            if alert["state"] == "firing":
                self.firing.setdefault(key, now)
        return current


def _query(server: Server, expr: str) -> list[dict]:
    status, body = http_get(f"{server.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert status == 200, body[:300]
    return json.loads(body)["data"]["result"]


def _k6(
    k6: str, script: Path, server: Server, testid: str, target: str, max_vus: int, native: bool
) -> subprocess.Popen[str]:
    settings = MonitoringSettings(prometheus_url=server.url, prometheus_push_interval="1s")
    args, env = k6_output_args(settings, testid, native, outputs=("prometheus",))
    return subprocess.Popen(
        [k6, "run", "--quiet", "--no-usage-report", *args, "--tag", f"testid={testid}", str(script)],
        env={
            **os.environ,
            **env,
            "TARGET": target,
            "RATE": "10",
            "MAX_VUS": str(max_vus),
            # a saturated run starts with one VU and grows; a clean one has all it needs from the start
            "PRE_VUS": "1" if max_vus < 10 else str(max_vus),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_every_alert_fires_on_a_run_that_should_trigger_it_and_resolves_after(
    rule_prometheus: Server, k6_bin: str, tmp_path: Path
) -> None:
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    script = tmp_path / "alerts.js"
    script.write_text(SCRIPT, encoding="utf-8")
    suffix = uuid.uuid4().hex[:6]
    bad, native, clean = f"bad-{suffix}", f"native-{suffix}", f"clean-{suffix}"
    slow = TargetProcess.start(
        TargetSettings(error_rate=0.25, latency_median_ms=600, latency_p99_ms=900, seed=3)
    )
    fast = TargetProcess.start(TargetSettings(latency_median_ms=2, latency_p99_ms=10, seed=4))
    gone = TargetProcess.start(TargetSettings())
    gone_port = gone.url.rsplit(":", 1)[-1]
    gone.stop()  # a target novaload started that is now really down
    targets = rule_prometheus.data_dir / "targets"
    seen = Seen()
    runs: dict[str, subprocess.Popen[str]] = {}
    try:
        with (
            scrape_entry(targets, f"down-{suffix}", f"127.0.0.1:{gone_port}"),
            scrape_entry(targets, f"up-{suffix}", fast.url.split("//", 1)[1]),
        ):
            runs = {
                # 10 iterations/s of ~600 ms need ~6 VUs: 2 drop; the clean run has room
                bad: _k6(k6_bin, script, rule_prometheus, bad, slow.url, 2, native=False),
                native: _k6(k6_bin, script, rule_prometheus, native, slow.url, 2, native=True),
                clean: _k6(k6_bin, script, rule_prometheus, clean, fast.url, 10, native=False),
            }
            deadline = time.monotonic() + 90
            while any(p.poll() is None for p in runs.values()) and time.monotonic() < deadline:
                seen.record(rule_prometheus)
                time.sleep(1.0)
            ended = time.time()
            # the stopped target's entry goes away like a run's does: its alert must end
        outputs = {testid: p.communicate(timeout=30)[0] for testid, p in runs.items()}
        for testid, proc in runs.items():
            assert proc.returncode == 0, outputs[testid][-2000:]
        remaining: set[tuple[str, str]] = {("-", "-")}
        while remaining and time.time() - ended < RESOLVE_WITHIN_S + 5:
            current = seen.record(rule_prometheus)
            remaining = {k for k in current if k[1] in (bad, native, clean) or k[0] == "NovaloadTargetDown"}
            time.sleep(1.0)
    finally:
        for proc in runs.values():
            if proc.poll() is None:
                proc.kill()
        slow.stop()
        fast.stop()

    dropped = _query(rule_prometheus, f'max_over_time(k6_dropped_iterations_total{{testid="{clean}"}}[5m])')
    assert dropped == [], f"precondition: the clean run dropped iterations (machine overloaded?): {dropped}"
    fired = set(seen.firing)
    for testid in (bad, native):
        assert {(name, testid) for name in K6_ALERTS} <= fired, (testid, sorted(fired))
    assert not [k for k in seen.active if k[1] == clean], sorted(seen.active)
    assert ("NovaloadTargetDown", f"down-{suffix}") in fired, sorted(fired)
    assert not [k for k in seen.active if k == ("NovaloadTargetDown", f"up-{suffix}")]
    assert any(name == "MonitoringServiceDown" for name, _ in fired)
    # Resolved within a minute after k6 ended (stale markers on, 30 s windows).
    for key, last in seen.active.items():
        if key[1] in (bad, native) or key[0] == "NovaloadTargetDown":
            assert last - ended <= RESOLVE_WITHIN_S, (key, last - ended)
    assert not remaining, remaining


@pytest.fixture(scope="module")
def shipped_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Prometheus with the shipped rule file itself and the shipped evaluation interval."""
    require(Path("/usr/bin/prometheus").exists(), "/usr/bin/prometheus not installed")
    tmp = tmp_path_factory.mktemp("shipped-prometheus")
    shipped = yaml.safe_load((MONITORING / "prometheus/prometheus.yml").read_text(encoding="utf-8"))
    interval = shipped["global"]["evaluation_interval"]
    config = f"global: {{scrape_interval: 15s, evaluation_interval: {interval}}}\nrule_files: ['{RULES}']\n"
    proc, server = start_prometheus(tmp, config)
    try:
        yield server
    finally:
        stop_process(proc)


def test_shipped_rules_unchanged_fire_during_a_75_second_run_and_resolve_within_a_minute(
    shipped_prometheus: Server, k6_bin: str, tmp_path: Path
) -> None:
    """No test copy at all: the shipped `for:` and evaluation interval on one real run."""
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    script = tmp_path / "alerts.js"
    script.write_text(SCRIPT.replace("'20s'", "'75s'"), encoding="utf-8")
    testid = f"shipped-{uuid.uuid4().hex[:6]}"
    seen = Seen()
    with TargetProcess.start(
        TargetSettings(error_rate=0.25, latency_median_ms=600, latency_p99_ms=900, seed=5)
    ) as slow:
        run = _k6(k6_bin, script, shipped_prometheus, testid, slow.url, 2, native=False)
        try:
            deadline = time.monotonic() + 150
            while run.poll() is None and time.monotonic() < deadline:
                seen.record(shipped_prometheus)
                time.sleep(2.0)
            ended = time.time()
            output = run.communicate(timeout=30)[0]
        finally:
            if run.poll() is None:
                run.kill()
    assert run.returncode == 0, output[-2000:]
    remaining = {("-", "-")}
    while remaining and time.time() - ended < RESOLVE_WITHIN_S + 10:
        remaining = {k for k in seen.record(shipped_prometheus) if k[1] == testid}
        time.sleep(2.0)
    assert {(name, testid) for name in K6_ALERTS} <= set(seen.firing), sorted(seen.firing)
    late = {k: round(last - ended, 1) for k, last in seen.active.items() if last - ended > RESOLVE_WITHIN_S}
    assert not late and not remaining, (late, remaining)
