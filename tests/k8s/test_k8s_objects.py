"""The k8s runner's pure parts: names, manifests, the merged exit code, script payloads."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from support import k6_path

from novaload.run.outcome import k6_exit_code
from novaload.runners import k8s_objects as objects
from novaload.runners.base import ExecutionPlan
from novaload.runners.k8s import configmap_key, needs_archive, script_payload
from novaload.runners.segments import segment_args


def test_object_names_are_dns_labels_and_unique_per_run() -> None:
    long_a = "My_Scenario.With.Dots-20261202-090000-" + "x" * 60 + "a"
    long_b = long_a[:-1] + "b"
    for run_id in ("api-20261202-090000-abc123", long_a, "___"):
        name = objects.object_name(run_id)
        assert len(name) <= 48
        assert name == name.lower() and name[0].isalnum() and name[-1].isalnum()
        assert all(c.isalnum() or c == "-" for c in name)
    assert objects.object_name(long_a) != objects.object_name(long_b)  # the hash keeps ids apart


@pytest.mark.parametrize(
    ("codes", "all_results", "expected"),
    [
        ([0, 0, 0], True, 0),
        ([0, 99, 0], True, 0),  # a slice's verdict is judged again over the merged samples
        ([99, 99], True, 0),
        ([99, 0], False, 99),  # no merged data to judge: keep the runners' verdict
        ([0, 108, 99], True, 108),  # a real failure passes through
        ([107, 108], True, 107),  # the first to exit is the cause
    ],
)
def test_merged_exit_code(codes: list[int], all_results: bool, expected: int) -> None:
    def merged_exit_code(codes: list[int], *, all_results: bool) -> int:  # the k8s runner's rule
        return k6_exit_code(codes, rejudged=all_results)

    assert merged_exit_code(codes, all_results=all_results) == expected


@pytest.mark.parametrize(
    ("codes", "for_interrupt", "expected"),
    [
        ([103, 103], True, 105),  # novaload stopped them for a Ctrl-C: k6 run's 105
        ([99, 103], True, 105),
        ([0, 103], True, 105),  # one had finished its iterations already
        ([108, 103], True, 108),  # test.abort() came first: the cause stands
        ([103, 103], False, 103),  # stopped through the REST API by someone else
    ],
)
def test_runners_stopped_for_a_ctrl_c_exit_as_k6_run_does(
    codes: list[int], for_interrupt: bool, expected: int
) -> None:
    assert k6_exit_code(codes, rejudged=True, interrupted=for_interrupt) == expected


@pytest.mark.parametrize(
    ("script", "archive"),
    [
        ("import http from 'k6/http';\nexport default function () {}", False),
        ("import { helper } from './lib/helper.js';", True),
        ('import data from "../data.js";', True),
        ("const users = JSON.parse(open('./users.json'));", True),
        ("const m = require('./m.js');", True),
        ("import x from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';", False),
    ],
)
def test_local_imports_and_files_need_an_archive(script: str, archive: bool) -> None:
    assert needs_archive(script) is archive


def test_configmap_keys_keep_the_extension() -> None:
    assert configmap_key("my script (v2).js") == "my-script-v2-.js"
    assert configmap_key("api.js") == "api.js"


def _payload(data: bytes = b"export default function () {}", archive: bool = False) -> objects.ScriptPayload:
    return objects.ScriptPayload("archive.tar" if archive else "test.js", data, archive)


def test_configmap_carries_the_script_or_the_archive_and_refuses_above_the_limit() -> None:
    text = objects.script_configmap(_payload(), "nl-run", "run", "ns")
    assert text["data"] == {"test.js": "export default function () {}"}
    assert text["metadata"]["labels"] == objects.run_labels("nl-run")
    tar = objects.script_configmap(_payload(b"\x00\xff", archive=True), "nl-run", "run", "ns")
    assert base64.b64decode(tar["binaryData"]["archive.tar"]) == b"\x00\xff"
    with pytest.raises(ValueError, match="at most 1024 KiB"):
        objects.script_configmap(_payload(b"x" * objects.CONFIGMAP_LIMIT), "nl-run", "run", "ns")


def _job(index: int, count: int, host_network: bool = False) -> dict:
    return objects.runner_job(
        name="nl-run",
        run_id="run",
        namespace="ns",
        index=index,
        count=count,
        image="img:1",
        pull_policy="Never",
        k6_args=["--tag", "testid=run"],
        payload=_payload(),
        ports=objects.RunnerPorts(api=7001, collect=7002) if host_network else objects.RunnerPorts(),
        host_network=host_network,
        deadline_s=100,
        hold_s=60,
    )


def test_runner_job_is_a_paused_segment_with_the_docker_runners_segment_flags() -> None:
    job = _job(1, 3)
    spec = job["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"]
    assert job["metadata"]["name"] == "nl-run-2"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 100
    assert args[:2] == ["run", "--quiet"]
    assert args[2:6] == segment_args(1, 3)  # the same partition as --runner docker
    assert "--paused" in args and "/test/test.js" in args
    assert "--address=$(POD_IP):6565" in args
    # k6 writes gzip (by the name) into the pipe the wrapper makes and streams
    assert args[args.index("--out") + 1] == "json=/results/k6-results.json.gz"
    assert job["spec"]["template"]["metadata"]["labels"][objects.INSTANCE_LABEL] == "2"
    assert "hostNetwork" not in spec
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert list(env)[0] == "POD_IP"  # $(POD_IP) expands only from variables defined before
    assert env["NOVALOAD_STREAM"]["value"] == "k6-results.json.gz"


def test_host_network_runners_get_their_own_ports() -> None:
    spec = _job(0, 2, host_network=True)["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    container = spec["containers"][0]
    assert "--address=$(POD_IP):7001" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["NOVALOAD_COLLECT_ADDRESS"] == "$(POD_IP):7002"


def test_testrun_uses_args_without_the_flags_the_operator_adds() -> None:
    body = objects.testrun(
        name="nl-run",
        run_id="run",
        namespace="ns",
        parallelism=3,
        image="img:1",
        pull_policy="Never",
        k6_args=["--tag", "testid=run"],
        payload=_payload(),
        hold_s=60,
    )
    spec = body["spec"]
    assert body["apiVersion"] == "k6.io/v1alpha1" and body["kind"] == "TestRun"
    assert spec["parallelism"] == 3
    assert spec["script"] == {"configMap": {"name": "nl-run", "file": "test.js"}}
    joined = " ".join(spec["args"])
    for added_by_operator in ("--address", "--paused", "--execution-segment", "/test/"):
        assert added_by_operator not in joined
    assert spec["runner"]["volumeMounts"] == [{"name": "results", "mountPath": "/results"}]
    assert "json=/results/k6-results.json.gz" in spec["args"]  # the same stream as in Jobs mode
    assert {"name": "NOVALOAD_STREAM", "value": "k6-results.json.gz"} in spec["runner"]["env"]
    assert spec["runner"]["metadata"]["labels"] == objects.run_labels("nl-run")


def _plan(script: Path) -> ExecutionPlan:
    return ExecutionPlan(
        run_id="r",
        script=script,
        run_dir=script.parent,
        k6_args=(),
        env={},
        k6_binary=k6_path() or "k6",
    )


def test_a_script_with_a_local_import_travels_as_a_k6_archive(tmp_path: Path) -> None:
    if k6_path() is None:
        pytest.skip("k6 not installed")
    (tmp_path / "lib.js").write_text("export const n = 1;\n")
    script = tmp_path / "main.js"
    script.write_text("import { n } from './lib.js';\nexport default function () { return n; }\n")
    payload = script_payload(_plan(script))
    assert payload.archive and payload.file_name == "archive.tar"
    assert payload.data[257:262] == b"ustar"  # a tar file, which k6 runs as is
    plain = tmp_path / "plain.js"
    plain.write_text("export default function () {}\n")
    assert script_payload(_plan(plain)).data == plain.read_bytes()


def test_render_k8s_writes_manifests_without_secret_values(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from novaload.cli.app import app

    result = CliRunner().invoke(app, ["render", "api", "--k8s", "-o", str(tmp_path), "--parallelism", "3"])
    assert result.exit_code == 0, result.output
    configmap = yaml.safe_load((tmp_path / "configmap.yaml").read_text())
    testrun = yaml.safe_load((tmp_path / "testrun.yaml").read_text())
    assert configmap["data"]["api.js"] == (tmp_path / "api.js").read_text()
    assert testrun["spec"]["parallelism"] == 3
    assert testrun["spec"]["script"]["configMap"]["name"] == configmap["metadata"]["name"]
    # Applied by a GitOps tool: never labelled for `novaload cleanup --force` to delete.
    for body in (configmap, testrun):
        assert objects.MANAGED_BY_LABEL not in body["metadata"]["labels"]


def test_render_k8s_needs_a_folder() -> None:
    from typer.testing import CliRunner

    from novaload.cli.app import app

    result = CliRunner().invoke(app, ["render", "api", "--k8s"])
    assert result.exit_code != 0


def test_loopback_targets_are_recognised() -> None:
    from novaload.runners.k8s import _is_loopback

    assert _is_loopback("http://127.0.0.1:8080/api") and _is_loopback("http://localhost")
    assert not _is_loopback("https://api.example.com") and not _is_loopback(None)


_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: nowhere, context: {cluster: c, user: u, namespace: ns}}]
current-context: nowhere
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "Kubernetes API server unreachable at https://127.0.0.1:1"),
        (["--kube-context", "nope"], "no usable Kubernetes configuration"),
    ],
)
def test_an_unusable_cluster_is_one_line_and_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "kubeconfig").write_text(_KUBECONFIG)
    script = tmp_path / "t.js"
    script.write_text("export default function () {}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "novaload",
            "run",
            str(script),
            "--runner",
            "k8s",
            *extra,
            "-o",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig")},
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "secret-token" not in proc.stderr


def _pod(**status: object) -> object:
    from kubernetes import client

    return client.V1Pod(metadata=client.V1ObjectMeta(name="p"), status=client.V1PodStatus(**status))


def test_the_reason_a_runner_pod_cannot_run_comes_from_its_status() -> None:
    from kubernetes import client

    from novaload.runners.k8s import _pod_failure

    unschedulable = _pod(
        phase="Pending",
        conditions=[
            client.V1PodCondition(
                type="PodScheduled",
                status="False",
                reason="Unschedulable",
                message="0/1 nodes are available: 1 Insufficient cpu.",
            )
        ],
    )
    assert _pod_failure(unschedulable) == "unschedulable: 0/1 nodes are available: 1 Insufficient cpu."
    waiting = client.V1ContainerStatus(
        name="k6",
        image="img",
        image_id="",
        ready=False,
        restart_count=0,
        state=client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason="ErrImageNeverPull", message="image not present")
        ),
    )
    assert _pod_failure(_pod(phase="Pending", container_statuses=[waiting])) == (
        "ErrImageNeverPull: image not present"
    )
    creating = client.V1ContainerStatus(
        name="k6",
        image="img",
        image_id="",
        ready=False,
        restart_count=0,
        state=client.V1ContainerState(waiting=client.V1ContainerStateWaiting(reason="ContainerCreating")),
    )
    assert _pod_failure(_pod(phase="Pending", container_statuses=[creating])) is None  # waiting helps


def test_host_network_ports_of_one_run_are_all_different() -> None:
    from novaload.runners.ports import free_ports

    ports = free_ports(64)
    assert len(set(ports)) == 64
