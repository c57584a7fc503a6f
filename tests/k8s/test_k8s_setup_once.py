"""setup() and teardown() once across Kubernetes runners (Jobs mode, the default for split
runs), on a real cluster, counted at a server the runner pods reach (``lifecycle_server``).

Runner pods on the node's network reach the server on loopback; on the pod network they
reach it on the host's address there. Under k6-operator (the fake controller of
``fake_operator.py``) every runner runs its own, as the operator starts them itself.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import cluster_for, host_ip
from lifecycle_server import SCRIPT, Calls, lifecycle_server

from novaload.run.pipeline import RunOutcome, run_test
from novaload.run.prepare import RunRequest
from novaload.runners.base import K8sOptions
from novaload.runners.k8s import remaining_objects

pytestmark = [pytest.mark.k8s, pytest.mark.k6, pytest.mark.slow, pytest.mark.xdist_group("k8s")]

ITERATIONS = 12  # lifecycle_server.SCRIPT: 6 VUs x 2 iterations


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "lifecycle.js"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def _run(
    tmp_path: Path, url: str, namespace: str, *, host_network: bool = True, env: dict[str, str] | None = None
) -> RunOutcome:
    extra = [arg for k, v in {"LIFECYCLE_URL": url, **(env or {})}.items() for arg in ("-e", f"{k}={v}")]
    return run_test(
        RunRequest(
            target=str(_script(tmp_path)),
            runner="k8s",
            parallelism=3,
            out_dir=tmp_path / "run",
            extra_k6_args=tuple(extra),
            kubernetes=K8sOptions(namespace=namespace, mode="jobs", host_network=host_network),
            record_history=False,
        )
    )


def _group_requests(run_dir: Path, group: str) -> int:
    found = 0
    for path in sorted(run_dir.glob("k6-results-*of3.json")):
        for line in path.read_text().splitlines():
            point = json.loads(line)
            found += (
                point["type"] == "Point"
                and point["metric"] == "http_reqs"
                and point["data"]["tags"].get("group") == group
            )
    return found


@pytest.mark.parametrize("host_network", [True, False], ids=["node-network", "pod-network"])
def test_three_runners_call_setup_and_teardown_once_and_every_vu_sees_its_data(
    tmp_path: Path, namespace: str, host_network: bool
) -> None:
    with lifecycle_server("127.0.0.1" if host_network else host_ip()) as (url, calls):
        outcome = _run(tmp_path, url, namespace, host_network=host_network)
    assert outcome.exit_code == 0, outcome.warnings
    assert len(calls.setup_tokens) == 1, calls.setup_tokens
    token = calls.setup_tokens[0]
    assert calls.teardown_tokens == [token]
    assert Counter(calls.seen) == {token: ITERATIONS}
    assert (
        _group_requests(outcome.run_dir, "::setup") == 1
        and _group_requests(outcome.run_dir, "::teardown") == 1
    )
    assert outcome.results is not None
    assert outcome.results.metrics["http_reqs"].values["count"] == ITERATIONS + 2
    record = json.loads((outcome.run_dir / "run.json").read_text())
    assert (record["setup"], record["setup_runner"]) == ("once", 3)
    assert "setup() and teardown() once, in runner 3/3" in (outcome.run_dir / "report.md").read_text()
    runners = json.loads((outcome.run_dir / "k8s-runners.json").read_text())["runners"]
    assert [r["exit_code"] for r in runners] == [0, 0, 0]  # the coordinator's --linger ended cleanly
    assert remaining_objects(cluster_for(namespace), None) == []


def test_a_setup_that_throws_releases_nobody_and_exits_107(tmp_path: Path, namespace: str) -> None:
    with lifecycle_server() as (url, calls):
        outcome = _run(tmp_path, url, namespace, env={"SETUP_FAILS": "throw"})
    assert outcome.exit_code == 107, outcome.verdict
    assert len(calls.setup_tokens) == 1 and calls.seen == [] and calls.teardown_tokens == []
    lifecycle = json.loads((outcome.run_dir / "summary.json").read_text())["novaload"]["setup_teardown"]
    assert lifecycle["setup"] == "failed" and "setup broke on purpose" in lifecycle["error"]
    assert remaining_objects(cluster_for(namespace), None) == []


def test_ctrl_c_still_runs_teardown_once(tmp_path: Path, namespace: str) -> None:
    """k6 runs teardown() after its first Ctrl-C: once here, after every runner stopped."""
    out = tmp_path / "run"
    with lifecycle_server() as (url, calls):
        script = tmp_path / "long.js"
        script.write_text(
            SCRIPT.replace("__ENV.LIFECYCLE_URL", json.dumps(url)).replace(
                "__ENV.ITERATION_SLEEP || '0'", "'60'"
            )
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "novaload", "run", str(script), "--runner", "k8s", "--parallelism", "2",
             "--k8s-mode", "jobs", "--host-network", "--namespace", namespace, "-o", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            _wait_for(calls, proc)
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert len(calls.setup_tokens) == 1 and calls.teardown_tokens == calls.setup_tokens, output
    record = json.loads((out / "run.json").read_text())
    assert record["interrupted"] is True
    assert proc.returncode == 105, output  # as k6 run on Ctrl-C, though each runner exited 103
    assert remaining_objects(cluster_for(namespace), None) == []


def _wait_for(calls: Calls, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while not calls.seen:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "no iteration started"
        time.sleep(0.2)
