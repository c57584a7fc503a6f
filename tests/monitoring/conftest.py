"""Fixtures starting the real monitoring components on free loopback ports.

Prometheus 2.42 and InfluxDB 1.6.7 run as child processes with their data in a temp
dir; a bounded k6 run (~5 s) against the demo target feeds them. Everything started
here is stopped in the fixture's finalizer.
"""

from __future__ import annotations

import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitoring_support import (
    INFLUXD_BIN,
    INFLUXD_CONFIG,
    PROMETHEUS_BIN,
    LokiReceiver,
    Server,
    free_port,
    require,
    start_loki_receiver,
    wait_http,
)
from support import stop_process


@pytest.fixture(scope="module")
def target_url() -> Iterator[str]:
    """The demo target, injecting 25 % server errors so error panels have data."""
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    target = TargetProcess.start(
        TargetSettings(error_rate=0.25, latency_median_ms=2.0, latency_p99_ms=10.0, seed=7)
    )
    try:
        yield target.url
    finally:
        target.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, target_url: str) -> Iterator[Server]:
    """Prometheus 2.42 receiving remote write; scrapes the demo target, a system under
    test nobody serves (job nothing-listens) and a stack job nobody serves (alertmanager)."""
    require(Path(PROMETHEUS_BIN).exists(), f"{PROMETHEUS_BIN} not installed (apt-get install prometheus)")
    tmp = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    target = urllib.parse.urlsplit(target_url).netloc
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: novaload-target\n    static_configs: [{{targets: ['{target}']}}]\n"
        f"  - job_name: nothing-listens\n    static_configs: [{{targets: ['127.0.0.1:{free_port()}']}}]\n"
        f"  - job_name: alertmanager\n    static_configs: [{{targets: ['127.0.0.1:{free_port()}']}}]\n",
        encoding="utf-8",
    )
    log = tmp / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                PROMETHEUS_BIN,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-remote-write-receiver",
                "--enable-feature=native-histograms",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log)
        yield Server(f"http://127.0.0.1:{port}", port, tmp)
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """InfluxDB 1.6.7 (InfluxQL over /query, line protocol over /write) in a temp dir."""
    require(Path(INFLUXD_BIN).exists(), f"{INFLUXD_BIN} not installed (apt-get install influxdb)")
    tmp = tmp_path_factory.mktemp("influxdb")
    port = free_port()
    config = tmp / "influxdb.conf"
    config.write_text(INFLUXD_CONFIG.format(dir=tmp, rpc_port=free_port(), http_port=port), encoding="utf-8")
    log = tmp / "influxd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [INFLUXD_BIN, "-config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, log)
        yield Server(f"http://127.0.0.1:{port}", port, tmp)
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def loki() -> Iterator[LokiReceiver]:
    """Loki cannot run here: a local endpoint receives what k6 pushes to Loki."""
    receiver, server = start_loki_receiver()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
