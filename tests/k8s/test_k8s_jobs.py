"""``--runner k8s`` in Jobs mode on a real cluster: one exact merged report, the merged
verdict, a failing runner, Ctrl-C, runners that never start, and nothing left behind.

Runner pods use the node's network (``--host-network``), so they reach a target on this
machine's loopback where the node is this machine (k8s-local), or where the node reaches
this machine (kind); every run is bounded (a fixed number of iterations or seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import FAILING_RUNNER, Target, cluster_for, host_ip

from novaload.run.pipeline import RunOutcome, SilentObserver, run_test
from novaload.run.prepare import RunRequest
from novaload.runners.base import K8sOptions, LiveStats
from novaload.runners.k8s import remaining_objects

pytestmark = [pytest.mark.k8s, pytest.mark.k6, pytest.mark.slow, pytest.mark.xdist_group("k8s")]

SHARED_ITERATIONS = """
import http from 'k6/http';
export const options = {
  scenarios: { s: { executor: 'shared-iterations', vus: 6, iterations: 60, maxDuration: '60s' } },
  thresholds: THRESHOLDS,
};
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""


def _script(
    tmp_path: Path, thresholds: dict[str, list[str]] | None = None, body: str = SHARED_ITERATIONS
) -> Path:
    path = tmp_path / "script.js"
    path.write_text(body.replace("THRESHOLDS", json.dumps(thresholds or {})), encoding="utf-8")
    return path


def _run(
    script: Path, target: Target, out: Path, namespace: str | None, runner: str = "k8s", n: int = 3
) -> RunOutcome:
    return run_test(
        RunRequest(
            target=str(script),
            runner=runner,
            parallelism=n if runner == "k8s" else 1,
            out_dir=out,
            extra_k6_args=("-e", f"TARGET={target.url}"),
            kubernetes=K8sOptions(namespace=namespace, mode="jobs", host_network=True)
            if runner == "k8s"
            else None,
            record_history=False,
        )
    )


def _counts(outcome: RunOutcome) -> dict[str, float]:
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    metrics = summary["metrics"]
    return {name: metrics[name]["count"] for name in ("http_reqs", "iterations")}


def _assert_nothing_left(namespace: str) -> None:
    assert remaining_objects(cluster_for(namespace), None) == []


def test_three_runners_merge_into_the_exact_counts_of_one_run(
    tmp_path: Path, namespace: str, node_target: Target
) -> None:
    script = _script(tmp_path)
    single = _run(script, node_target, tmp_path / "single", None, runner="local")
    assert single.exit_code == 0
    served_single = node_target.requests

    split = _run(script, node_target, tmp_path / "split", namespace)

    assert split.exit_code == 0, split.warnings
    assert _counts(split) == _counts(single) == {"http_reqs": 60, "iterations": 60}
    assert node_target.requests - served_single == 60  # every request reached the target once
    runners = json.loads((split.run_dir / "k8s-runners.json").read_text())
    assert runners["mode"] == "jobs"
    assert [r["exit_code"] for r in runners["runners"]] == [0, 0, 0]
    assert all(r["results_collected"] for r in runners["runners"])
    # Each runner ran its own segment: 20 of the 60 iterations.
    for i in (1, 2, 3):
        lines = (split.run_dir / f"k6-results-{i}of3.json").read_text().splitlines()
        iterations = [x for x in lines if '"metric":"iterations"' in x and '"type":"Point"' in x]
        assert len(iterations) == 20
        assert "iterations" in (split.run_dir / f"k6-{i}of3.log").read_text()  # k6's end-of-test summary
    # setup() and teardown() once for the three runners (--setup once, the default).
    lifecycle = json.loads((split.run_dir / "summary.json").read_text())["novaload"]["setup_teardown"]
    assert (lifecycle["mode"], lifecycle["runner"]) == ("once", 3)
    _assert_nothing_left(namespace)


@pytest.mark.parametrize(
    ("threshold", "slice_code", "merged_code"),
    [
        ("count<25", 0, 99),  # 20 per runner passes; 60 merged fails
        ("count>50", 99, 0),  # 20 per runner fails; 60 merged passes
    ],
)
def test_thresholds_are_judged_over_the_merged_data(
    tmp_path: Path, namespace: str, node_target: Target, threshold: str, slice_code: int, merged_code: int
) -> None:
    outcome = _run(_script(tmp_path, {"http_reqs": [threshold]}), node_target, tmp_path / "run", namespace)

    runners = json.loads((outcome.run_dir / "k8s-runners.json").read_text())["runners"]
    assert [r["exit_code"] for r in runners] == [slice_code] * 3
    assert outcome.exit_code == merged_code
    assert outcome.verdict == ("failed" if merged_code else "passed")
    _assert_nothing_left(namespace)


def test_a_failing_runner_fails_the_run_and_stops_the_others(
    tmp_path: Path, namespace: str, node_target: Target
) -> None:
    outcome = _run(_script(tmp_path, body=FAILING_RUNNER), node_target, tmp_path / "run", namespace)

    runners = json.loads((outcome.run_dir / "k8s-runners.json").read_text())["runners"]
    codes = [r["exit_code"] for r in runners]
    assert codes.count(108) == 1, codes  # test.abort() in exactly one runner
    assert outcome.exit_code == 108
    assert outcome.verdict.startswith("error")
    assert (outcome.run_dir / "summary.json").exists()  # what was collected is still reported
    _assert_nothing_left(namespace)


LONG_RUN = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '60s' };
export default function () { http.get(`${__ENV.TARGET}/item`); sleep(0.2); }
"""


def test_ctrl_c_stops_every_runner_and_still_reports(
    tmp_path: Path, namespace: str, node_target: Target
) -> None:
    script = _script(tmp_path, body=LONG_RUN.replace("${__ENV.TARGET}", node_target.url))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--runner",
            "k8s",
            "--parallelism",
            "2",
            "--k8s-mode",
            "jobs",
            "--host-network",
            "--namespace",
            namespace,
            "-o",
            str(out),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            seen.append(line)
            if "released together" in line or time.monotonic() > deadline:
                break
        assert any("released together" in line for line in seen), "".join(seen)
        time.sleep(3)  # let the runners send some requests
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(seen) + rest
    assert "asking every runner to stop gracefully" in output
    record = json.loads((out / "run.json").read_text())
    assert record["interrupted"] is True and record["verdict"] == "interrupted"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["http_reqs"]["count"] > 0
    # k6 run's code for a Ctrl-C, as the local and Docker runners give it (the runners,
    # stopped through their REST API, exited 103 each)
    assert proc.returncode == 105, output
    runners = json.loads((out / "k8s-runners.json").read_text())["runners"]
    assert [r["exit_code"] for r in runners] == [103, 103], runners
    _assert_nothing_left(namespace)


def test_runners_that_cannot_start_fail_in_bounded_time_with_the_reason(
    tmp_path: Path, namespace: str, node_target: Target
) -> None:
    script = _script(tmp_path)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--runner",
            "k8s",
            "--parallelism",
            "2",
            "--k8s-mode",
            "jobs",
            "--namespace",
            namespace,
            "--image",
            "novaload/no-such-image:0",
            "-o",
            str(tmp_path / "run"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ErrImagePull" in proc.stderr or "ImagePullBackOff" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 150
    _assert_nothing_left(namespace)


def test_cleanup_force_deletes_what_a_killed_run_left(namespace: str) -> None:
    """A novaload killed with SIGKILL cleans nothing up: ``cleanup --force`` does, by label."""
    from kubernetes import client

    from novaload.runners import k8s_objects as objects
    from novaload.runners.k8s import remove_leftovers

    cluster = cluster_for(namespace)
    core = client.CoreV1Api(cluster.api)
    payload = objects.ScriptPayload("test.js", b"export default function () {}", False)
    core.create_namespaced_config_map(
        namespace, objects.script_configmap(payload, "nl-killed", "killed", namespace)
    )
    secret = objects.env_secret({"A": "1"}, objects.secret_name("nl-killed"), "killed", namespace)
    secret["metadata"]["labels"] = objects.run_labels("nl-killed")
    core.create_namespaced_secret(namespace, secret)
    unrelated = {"metadata": {"name": "not-novaloads", "labels": {"app": "other"}}, "data": {"k": "v"}}
    core.create_namespaced_config_map(namespace, unrelated)
    assert sorted(remaining_objects(cluster, None)) == ["configmap/nl-killed", "secret/nl-killed-env"]

    assert remove_leftovers(K8sOptions(namespace=namespace)) == 2

    assert remaining_objects(cluster, None) == []
    assert core.read_namespaced_config_map("not-novaloads", namespace).data == {"k": "v"}


class _Recorder(SilentObserver):
    def __init__(self) -> None:
        self.stats: list[LiveStats] = []

    def progress(self, stats: LiveStats) -> None:
        self.stats.append(stats)


def test_progress_sums_every_runners_rest_api(tmp_path: Path, namespace: str, node_target: Target) -> None:
    body = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 4, duration: '6s' };
export default function () { http.get(`${__ENV.TARGET}/item`); sleep(0.1); }
"""
    observer = _Recorder()
    outcome = run_test(
        RunRequest(
            target=str(_script(tmp_path, body=body)),
            runner="k8s",
            parallelism=2,
            out_dir=tmp_path / "run",
            extra_k6_args=("-e", f"TARGET={node_target.url}"),
            kubernetes=K8sOptions(namespace=namespace, mode="jobs", host_network=True),
            record_history=False,
        ),
        observer,
    )
    assert outcome.exit_code == 0
    running = [s for s in observer.stats if s.running and s.requests > 0]
    assert running, observer.stats
    # Two runners of 2 VUs each: the display shows the whole test, not one runner.
    assert max(s.vus for s in running) == 4
    assert max(s.requests for s in running) <= node_target.requests
    _assert_nothing_left(namespace)


def test_a_script_with_local_imports_and_data_files_runs_as_a_k6_archive(
    tmp_path: Path, namespace: str, node_target: Target
) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "paths.js").write_text("export function itemPath(id) { return `/item/${id}`; }\n")
    (tmp_path / "ids.json").write_text(json.dumps(list(range(30))))
    script = tmp_path / "main.js"
    script.write_text(
        """
import http from 'k6/http';
import { itemPath } from './lib/paths.js';
const ids = JSON.parse(open('./ids.json'));
export const options = {
  scenarios: { s: { executor: 'shared-iterations', vus: 3, iterations: ids.length, maxDuration: '60s' } },
};
export default function () { http.get(`${__ENV.TARGET}${itemPath(ids[__ITER % ids.length])}`); }
""",
        encoding="utf-8",
    )
    outcome = _run(script, node_target, tmp_path / "run", namespace, n=3)

    assert outcome.exit_code == 0, outcome.warnings
    # A lone script could neither import ./lib/paths.js nor open ./ids.json in the pod.
    assert _counts(outcome) == {"http_reqs": 30, "iterations": 30}
    assert "log stream ended" not in (outcome.run_dir / "k6.log").read_text()
    _assert_nothing_left(namespace)


def test_a_script_above_the_configmap_limit_is_refused_before_anything_is_created(
    tmp_path: Path, namespace: str
) -> None:
    script = tmp_path / "big.js"
    script.write_text("// " + "x" * (1100 * 1024) + "\nexport default function () {}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--runner",
            "k8s",
            "--k8s-mode",
            "jobs",
            "--namespace",
            namespace,
            "-o",
            str(tmp_path / "run"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "a ConfigMap holds at most 1024 KiB" in proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_nothing_left(namespace)


HANDLE_SUMMARY_STDOUT = """
export const options = { vus: 2, iterations: 2 };  // one VU and one iteration per runner of two
export default function () {}
export function handleSummary(data) {
  return { stdout: 'STDOUT-MARKER ' + data.metrics.iterations.values.count + ' ' + __ENV.NOVALOAD_BASE_URL + '\\n' };
}
"""


@pytest.mark.parametrize("n", [1, 2], ids=["one-runner", "two-runners"])
def test_run_prints_k6s_stdout_as_k6_does_with_secrets_masked(tmp_path: Path, namespace: str, n: int) -> None:
    """handleSummary's stdout is printed once, after the run, as by the local and Docker
    runners: a split run prints each runner's in turn, every line labelled ``[i/N]``."""
    password = f"pw-{uuid.uuid4().hex[:10]}"
    script = _script(tmp_path, body=HANDLE_SUMMARY_STDOUT)
    out = tmp_path / "run"
    # Nothing is requested: the URL only carries a secret into the script's environment.
    target = f"http://probe:{password}@{host_ip()}:9"
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(script), "--runner", "k8s", "--parallelism", str(n),
         "--k8s-mode", "jobs", "--namespace", namespace, "--target", target, "-o", str(out)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    masked = f"http://***@{host_ip()}:9"
    expected = (
        [f"STDOUT-MARKER 2 {masked}"] if n == 1 else [f"[{i}/2] STDOUT-MARKER 1 {masked}" for i in (1, 2)]
    )
    # Printed once (not also streamed with the runners' logs), the run's verdict after it.
    assert [line for line in proc.stdout.splitlines() if "STDOUT-MARKER" in line] == expected
    assert "STDOUT-MARKER" not in proc.stderr
    assert proc.stdout.rindex("STDOUT-MARKER") < proc.stdout.index("exit 0")
    log = (out / "k6.log").read_text()
    assert expected[-1] in log.splitlines()  # the logs keep it too
    # One runner's own log is k6.log itself, written once (not through a second handle
    # that overwrote novaload's lines).
    assert log.startswith("k8s: ") and "\0" not in log, log
    assert password not in proc.stdout + proc.stderr + log
    _assert_nothing_left(namespace)


def test_the_loopback_warning_names_the_target_without_its_credentials(
    tmp_path: Path, namespace: str
) -> None:
    """The warning comes before anything is created; a script above the ConfigMap limit
    then ends the run right there."""
    from novaload.errors import InputError
    from novaload.runners.base import ExecutionPlan
    from novaload.runners.k8s import K8sRunner

    password = f"pw-{uuid.uuid4().hex[:10]}"
    script = tmp_path / "big.js"
    script.write_text("// " + "x" * (1100 * 1024) + "\nexport default function () {}\n")
    plan = ExecutionPlan(
        run_id="loopback-warning",
        script=script,
        run_dir=tmp_path / "run",
        k6_args=(),
        env={"NOVALOAD_BASE_URL": f"http://probe:{password}@127.0.0.1:9"},
        k6_binary="k6",
        secrets=(password,),
        kubernetes=K8sOptions(namespace=namespace, mode="jobs"),
    )
    lines: list[str] = []
    with pytest.raises(InputError, match="ConfigMap"):
        K8sRunner(on_log=lines.append).run(plan)
    assert lines == [
        "warning: the target http://127.0.0.1:9 is on loopback, which runner pods on the pod network "
        "cannot reach: add --host-network"
    ]
    _assert_nothing_left(namespace)


FOO_SCRIPT = """
import { check } from 'k6';
export const options = { thresholds: { checks: ['rate==1'] } };
export default function () { check(__ENV.FOO, { 'FOO is bar': (v) => v === 'bar' }); }
"""


def test_k6_users_line_on_runner_jobs(tmp_path: Path, namespace: str) -> None:
    """``novaload run p.js --runner k8s -- -e FOO=bar --tag team=perf --iterations 8 --vus 2``:
    the flags reach every runner's k6 as written (split in two: 4 + 4 iterations)."""
    script = tmp_path / "p.js"
    script.write_text(FOO_SCRIPT, encoding="utf-8")
    k6_line = ("-e", "FOO=bar", "--tag", "team=perf", "--iterations", "8", "--vus", "2")
    outcome = run_test(
        RunRequest(
            target=str(script),
            runner="k8s",
            parallelism=2,
            out_dir=tmp_path / "run",
            extra_k6_args=k6_line,
            kubernetes=K8sOptions(namespace=namespace, mode="jobs"),
            record_history=False,
        )
    )
    assert outcome.exit_code == 0, outcome.warnings
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["metrics"]["iterations"]["count"] == 8
    assert summary["metrics"]["checks"]["passes"] == 8  # FOO reached every runner's VUs
    assert json.loads((outcome.run_dir / "run.json").read_text())["image"].startswith("novaload/k6-k8s:")
    for i in (1, 2):
        with (outcome.run_dir / f"k6-results-{i}of2.json").open() as f:
            assert {json.loads(x)["data"]["tags"].get("team") for x in f if '"type":"Point"' in x} == {"perf"}
    _assert_nothing_left(namespace)


def test_host_network_ports_pass_over_the_ports_other_pods_claim(namespace: str) -> None:
    """A pod on the node's network claims its ports once it is bound, before (and after) its
    process listens on them: a port free for the OS may still be refused by the scheduler
    ("didn't have free ports": a runner of a CI run met it). The ports a run picks are the
    OS's free ones minus the claimed ones."""
    from kubernetes import client

    from novaload.runners.k8s import declared_host_ports
    from novaload.runners.ports import free_ports

    core = client.CoreV1Api(cluster_for(namespace).api)
    (port,) = free_ports(1)

    def claim(name: str) -> None:
        # An image the node never pulls: the pod is bound and claims the port, nothing listens.
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": name, "labels": {"novaload.test": "claim"}},
                "spec": {
                    "hostNetwork": True,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "c",
                            "image": "novaload/never-pulled:0",
                            "imagePullPolicy": "Never",
                            "ports": [{"containerPort": port}],
                        }
                    ],
                },
            },
        )

    def scheduled(name: str) -> client.V1PodCondition | None:
        for cond in core.read_namespaced_pod(name, namespace).status.conditions or []:
            if cond.type == "PodScheduled" and (cond.status == "True" or cond.reason == "Unschedulable"):
                return cond
        return None

    def wait_scheduled(name: str) -> client.V1PodCondition:
        deadline = time.monotonic() + 60
        while (cond := scheduled(name)) is None:
            assert time.monotonic() < deadline, f"{name} was never considered by the scheduler"
            time.sleep(0.2)
        return cond

    claim("holder")
    assert wait_scheduled("holder").status == "True"
    claim("second")  # the clash a run's runner met
    second = wait_scheduled("second")
    assert second.reason == "Unschedulable" and "free ports" in (second.message or ""), second

    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as k6's Go listener does
        s.bind(("127.0.0.1", port))  # free for the OS all along
    assert port in declared_host_ports(cluster_for(namespace))

    # Passing over claimed ports: with 600 ports the kernel may hand out again claimed
    # (asked for and let go, as other pods' are), 200 asks meet some.
    held = [socket.socket() for _ in range(600)]
    try:
        for h in held:
            h.bind(("127.0.0.1", 0))
        claimed = {h.getsockname()[1] for h in held} | {port}
    finally:
        for h in held:
            h.close()
    picked = free_ports(200, taken=claimed)
    assert len(set(picked)) == 200 and not claimed & set(picked)
