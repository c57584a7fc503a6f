"""`monitor up|down` against the real Docker engine and docker-compose v1.

No image can be pulled here (and a test must not depend on a registry anyway), so `up`
is driven into its failure path on purpose: a copy of the shipped compose file whose
images live on a registry that cannot resolve (``.invalid``). Compose creates the
project's network and volumes before it pulls, which is exactly what a failed `up` used
to leave behind. Each test uses its own compose project name and removes what carries
that project's label, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from monitoring_support import REPO, Server, free_port, require

from novaload.errors import MonitoringError
from novaload.monitoring import ComposeStack

pytestmark = pytest.mark.docker

COMPOSE_FILE = REPO / "docker-compose.monitoring.yml"


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)


def _labelled(kind: str, project: str) -> list[str]:
    done = _docker(kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={project}")
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.split())


@pytest.fixture
def project() -> Iterator[str]:
    require(shutil.which("docker") is not None, "docker CLI not installed")
    require(_docker("info").returncode == 0, "Docker engine not reachable")
    require(shutil.which("docker-compose") is not None, "docker-compose not installed")
    name = f"nltest{uuid.uuid4().hex[:10]}"
    yield name
    for kind in ("container", "network", "volume"):
        ids = _labelled(kind, name)
        if ids:
            _docker(kind, "rm", *(["-f"] if kind == "container" else []), *ids)


@pytest.fixture
def unpullable_compose(tmp_path: Path) -> Path:
    """The shipped compose file, every image moved to a registry that never resolves."""
    spec = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    for service in spec["services"].values():
        service["image"] = "novaload-test.invalid/" + service["image"].split("/")[-1]
    (tmp_path / "monitoring").symlink_to(REPO / "monitoring")  # the relative bind mounts
    path = tmp_path / "docker-compose.monitoring.yml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _novaload(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI (its one error handler lives in ``main``)."""
    return subprocess.run(
        [sys.executable, "-m", "novaload", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env(password: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "COMPOSE_"))}
    if password is not None:
        env["GRAFANA_ADMIN_PASSWORD"] = password
    return env


def test_failed_up_removes_the_network_and_the_volumes_it_created(
    project: str, unpullable_compose: Path
) -> None:
    stack = ComposeStack(unpullable_compose, project, environ=_env("s3cret"))
    with pytest.raises(MonitoringError) as err:
        stack.up(wait_timeout=5)
    message = str(err.value)
    assert "\n" not in message and "failed (exit" in message
    assert "removed the containers, network and 5 volume(s) it had created" in message
    assert _labelled("volume", project) == [] and _labelled("network", project) == []


def test_failed_up_keeps_a_volume_that_held_data_before(project: str, unpullable_compose: Path) -> None:
    kept = f"{project}_prometheus-data"
    created = _docker(
        "volume",
        "create",
        "--label",
        f"com.docker.compose.project={project}",
        "--label",
        "com.docker.compose.volume=prometheus-data",
        kept,
    )
    assert created.returncode == 0, created.stderr
    stack = ComposeStack(unpullable_compose, project, environ=_env("s3cret"))
    with pytest.raises(MonitoringError, match="and 4 volume"):
        stack.up(wait_timeout=5)
    names = [
        json.loads(_docker("volume", "inspect", v).stdout)[0]["Name"] for v in _labelled("volume", project)
    ]
    assert names == [kept]


def test_cli_down_without_password_removes_what_a_failed_up_left(
    project: str, unpullable_compose: Path
) -> None:
    """The state the issue describes: raw compose `up` failed and left network and volumes."""
    raw = subprocess.run(
        ["docker-compose", "-f", str(unpullable_compose), "-p", project, "up", "-d"],
        env=_env("s3cret"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert raw.returncode != 0 and _labelled("network", project) and len(_labelled("volume", project)) == 5
    result = _novaload(
        "monitor",
        "down",
        "--compose-file",
        str(unpullable_compose),
        "-p",
        project,
        "--volumes",
        env=_env(None) | {"GRAFANA_ADMIN_PASSWORD": ""},
    )
    assert result.returncode == 0, result.stderr
    assert _labelled("network", project) == [] and _labelled("volume", project) == []


def test_cli_down_of_the_shipped_file_needs_no_password(project: str) -> None:
    result = _novaload("monitor", "down", "--compose-file", str(COMPOSE_FILE), "-p", project, env=_env(None))
    assert result.returncode == 0, result.stderr
    assert "monitoring stack stopped" in result.stderr


def test_cli_up_failure_is_one_line_with_exit_2(project: str, unpullable_compose: Path) -> None:
    result = _novaload(
        "monitor",
        "up",
        "--compose-file",
        str(unpullable_compose),
        "-p",
        project,
        "--wait",
        "5",
        env=_env("s3cret"),
    )
    assert result.returncode == 2, result.stderr
    # (novaload's start-up sweep of orphaned k6 containers may print lines of its own)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: `docker-compose"), result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"novaload-test\.invalid|no such host|pull", lines[0]), lines
    assert "removed the containers, network and 5 volume(s) it had created" in lines[0]
    assert _labelled("volume", project) == []


# k6 in a container plays the compose Prometheus: same kind of network (a user-defined
# bridge), same `host.docker.internal:host-gateway` mapping, one scrape of /metrics.
_SCRAPE = """
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };
export default function () {
  const r = http.get(`http://host.docker.internal:${__ENV.PORT}/metrics`, { timeout: '3s' });
  check(r, { 'metrics scraped': (x) => x.status === 200 && x.body.includes('novaload_demo_') });
}
"""


@pytest.fixture
def scraper(project: str, k6_bin: str) -> Iterator[tuple[str, str]]:
    """A k6 image and a compose-like network, both removed afterwards."""
    from novaload.runners.image import build_k6_image

    tag = build_k6_image(Path(k6_bin), tag=f"novaload/k6:{project}")
    network = f"{project}_default"
    made = _docker("network", "create", "--label", f"com.docker.compose.project={project}", network)
    assert made.returncode == 0, made.stderr
    try:
        yield tag, network
    finally:
        _docker("image", "rm", "-f", tag)


def _scrape_from_container(image: str, network: str, port: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-i",
            "--network",
            network,
            "--add-host",
            "host.docker.internal:host-gateway",
            "-e",
            f"PORT={port}",
            image,
            "run",
            "--quiet",
            "--no-usage-report",
            "-",
        ],  # fmt: skip
        input=_SCRAPE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_target_bound_for_the_stack_is_scraped_from_its_network(scraper: tuple[str, str]) -> None:
    """What `run --monitor` does for the compose Prometheus: bind the demo target to the
    Docker bridge's gateway, which `host.docker.internal` names inside the stack. The
    default 127.0.0.1 bind is what made NovaloadTargetDown fire permanently."""
    from novaload.monitoring.targets import DOCKER_HOST_ALIAS, bind_host_for
    from novaload.target.process import TargetProcess
    from novaload.target.settings import TargetSettings

    image, network = scraper
    bind = bind_host_for(DOCKER_HOST_ALIAS)
    assert bind is not None and not bind.startswith("127.")
    for host, reachable in ((bind, True), ("127.0.0.1", False)):
        with TargetProcess.start(TargetSettings(host=host)) as target:
            done = _scrape_from_container(image, network, target.url.rsplit(":", 1)[-1])
        assert (done.returncode == 0) is reachable, (host, done.stdout[-1500:] + done.stderr[-1500:])


def test_run_monitor_for_the_compose_prometheus_binds_the_demo_target_to_the_bridge(
    prometheus: Server, tmp_path: Path
) -> None:
    """Default scrape host (host.docker.internal): the entry names it, the target listens
    on the bridge's gateway, and k6 ran against that address."""
    from novaload.monitoring.targets import docker_bridge_gateway

    require(_docker("info").returncode == 0, "Docker engine not reachable")
    gateway = docker_bridge_gateway()
    assert gateway
    targets = tmp_path / "targets"
    targets.mkdir()
    script = tmp_path / "short.js"
    script.write_text(
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n"
        "export const options = { vus: 1, duration: '4s' };\n"
        "export default function () { http.get(`${__ENV.NOVALOAD_BASE_URL}/health`); sleep(0.2); }\n",
        encoding="utf-8",
    )
    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOVALOAD_", "K6_"))} | {
        "NOVALOAD_PROMETHEUS_URL": prometheus.url,
        "NOVALOAD_MONITOR_OUTPUTS": "prometheus",
        "NOVALOAD_GRAFANA_URL": dead,
        "NOVALOAD_INFLUXDB_URL": dead,
        "NOVALOAD_PROMETHEUS_TARGETS_DIR": str(targets),
        "NOVALOAD_HISTORY_DIR": str(tmp_path / "history"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--env",
            "local",
            "--monitor",
            "-o",
            str(tmp_path / "run"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    entries: list[list[dict]] = []
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        for path in targets.glob("novaload-run-*.yml"):
            with contextlib.suppress(OSError):
                entries.append(yaml.safe_load(path.read_text(encoding="utf-8")))
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout[-1500:] + stderr[-1500:]
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["target"].startswith(f"http://{gateway}:"), record["target"]
    port = record["target"].rsplit(":", 1)[-1]
    assert entries and entries[0] == [
        {
            "targets": [f"host.docker.internal:{port}"],
            "labels": {"service": "novaload-demo-target", "testid": record["run_id"]},
        }
    ]
    assert list(targets.iterdir()) == []


def test_monitor_status_of_a_stack_that_is_not_started_says_so_and_exits_6(tmp_path: Path) -> None:
    """Exit 1 means a bug in novaload; an unhealthy stack has its own documented code, and
    one that is not started gets one line saying what to do, not a table of problems."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {
        **_env("pw"),
        **{
            f"NOVALOAD_{s}_URL": dead
            for s in ("PROMETHEUS", "ALERTMANAGER", "GRAFANA", "INFLUXDB", "LOKI", "JAEGER")
        },
    }
    done = _novaload("monitor", "status", env=env)
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stdout.strip().splitlines() == [
        "the monitoring stack is not started (none of prometheus, alertmanager, grafana, influxdb, loki, "
        "jaeger answers): start it with `novaload monitor up`"
    ]
    assert "Traceback" not in done.stdout + done.stderr
