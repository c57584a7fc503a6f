"""The Kubernetes objects of a distributed run, as plain manifests (no cluster needed).

Owns names, labels and the shape of everything ``--runner k8s`` creates: the script
ConfigMap (the parent every other object of a run is owned by), the Secret with k6's
environment, one paused runner Job per execution segment (Jobs mode) or one k6-operator
``TestRun`` (operator mode). The same builders serve ``novaload run`` and manifests written
for GitOps, so what a cluster receives can be read and tested without one.

Every runner writes its raw results (gzip) into a named pipe in an ``emptyDir`` at
:data:`RESULTS_DIR`, which the image's ``k6`` wrapper (:mod:`k8s_image`) streams over HTTP
as k6 writes (:data:`STREAM_PATH`, read by :mod:`k8s_stream` through the API server's pod
proxy): nothing of it stays on the pod's disk. Its summaries and exit code land in that
folder, served until novaload has copied them and released the runner (or a hold deadline
passes). Pod logs are size-limited and are not a transport for samples. k6's stdout (its
end-of-test summary, handleSummary's ``stdout``) goes into that folder too: the pod log API
mixes a container's stdout and stderr, so the log then carries k6's log (stderr) alone.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from novaload.runfolder import K6_RESULTS, K6_SUMMARY, K6_SUMMARY_EXPORT
from novaload.runners.segments import segment_args

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "novaload"
RUN_LABEL = "novaload.io/run"  # the run's object name (a valid label value)
INSTANCE_LABEL = "novaload.io/instance"  # 1-based runner index (Jobs mode)
RUN_ID_ANNOTATION = "novaload.io/run-id"  # the run id exactly as in the run folder

RESULTS_DIR = "/results"
SCRIPT_DIR = "/test"  # where k6-operator mounts a ConfigMap script; Jobs mode does the same
API_PORT = 6565  # k6's REST API on the pod network (k6-operator's fixed port)
COLLECT_PORT = 6566  # the results server of novaload's k6 wrapper on the pod network
RESULTS_FILE = K6_RESULTS
# k6 compresses by the name (``--out json=….gz``): the stream is the gzip k6 writes, ~30x
# smaller over the API server than its JSON, and ends with gzip's trailer, so a stream cut
# short is told from a finished one.
STREAM_FILE = f"{RESULTS_FILE}.gz"  # the named pipe k6 writes into (NOVALOAD_STREAM)
STREAM_PATH = "cgi-bin/results"  # streams the pipe while k6 writes; one reader at a time
SUMMARY_FILE = K6_SUMMARY  # handleSummary's file (NOVALOAD_K6_SUMMARY)
SUMMARY_EXPORT_FILE = K6_SUMMARY_EXPORT
EXIT_CODE_FILE = "exit-code"  # written by the wrapper once k6 has exited
STDOUT_FILE = "stdout"  # k6's stdout, kept out of the pod log by the wrapper
READY_FILE = "ready"  # served from the start: the results server is up
RELEASE_PATH = "cgi-bin/release"  # the wrapper stops holding once this is requested

# A ConfigMap's data may not exceed 1 MiB (the API server's limit, for data + binaryData).
CONFIGMAP_LIMIT = 1024 * 1024
_CONFIGMAP_SLACK = 4096  # keys and metadata count too

TESTRUN_GROUP = "k6.io"
TESTRUN_VERSION = "v1alpha1"
TESTRUN_PLURAL = "testruns"
TESTRUN_CRD = f"{TESTRUN_PLURAL}.{TESTRUN_GROUP}"


def object_name(run_id: str) -> str:
    """A DNS-1123 name (and label value) for a run's objects: ``nl-<run id>``, at most 52
    characters so ``<name>-<index>`` Jobs and their pods' generated names stay valid."""
    safe = re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-") or "run"
    name = f"nl-{safe}"
    if len(name) > 48:
        # Keep the start (scenario, date) readable and the whole id's identity in a hash.
        name = f"{name[:39].rstrip('-')}-{hashlib.sha1(run_id.encode()).hexdigest()[:8]}"
    return name


def run_labels(name: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: name}


def run_selector(name: str | None = None) -> str:
    """Label selector for one run's objects, or every object novaload created."""
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    return selector if name is None else f"{selector},{RUN_LABEL}={name}"


def _metadata(name: str, run_name: str, run_id: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": run_labels(run_name),
        "annotations": {RUN_ID_ANNOTATION: run_id},
    }


def owner_reference(kind: str, api_version: str, name: str, uid: str) -> dict[str, Any]:
    """Makes the garbage collector delete an object with its parent (after a crash too)."""
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "blockOwnerDeletion": False}


@dataclass(frozen=True, slots=True)
class ScriptPayload:
    """What goes into the script ConfigMap: the script itself, or a ``k6 archive``."""

    file_name: str  # the key, and the file name under SCRIPT_DIR
    data: bytes
    archive: bool

    @property
    def path(self) -> str:
        return f"{SCRIPT_DIR}/{self.file_name}"


def script_configmap(payload: ScriptPayload, name: str, run_id: str, namespace: str) -> dict[str, Any]:
    """The script ConfigMap; raises ValueError above the API server's 1 MiB limit."""
    if len(payload.data) + _CONFIGMAP_SLACK > CONFIGMAP_LIMIT:
        raise ValueError(
            f"{'the k6 archive' if payload.archive else 'the script'} is {len(payload.data) / 1024:.0f} KiB; "
            f"a ConfigMap holds at most {CONFIGMAP_LIMIT // 1024} KiB"
        )
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(name, name, run_id, namespace),
    }
    if payload.archive:
        body["binaryData"] = {payload.file_name: base64.b64encode(payload.data).decode()}
    else:
        body["data"] = {payload.file_name: payload.data.decode("utf-8")}
    return body


def env_secret(env: Mapping[str, str], name: str, run_id: str, namespace: str) -> dict[str, Any]:
    """k6's environment (it may hold secrets: never in a ConfigMap, a manifest or a log)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _metadata(name, name, run_id, namespace),
        "stringData": dict(env),
    }


def secret_name(name: str) -> str:
    return f"{name}-env"


@dataclass(frozen=True, slots=True)
class RunnerPorts:
    """Where runner ``index`` listens: fixed ports on the pod network; with
    ``hostNetwork`` every runner on a node needs its own pair."""

    api: int = API_PORT
    collect: int = COLLECT_PORT


def results_args() -> list[str]:
    """k6 outputs every runner writes into its results folder (the same in both modes)."""
    return [
        "--out",
        f"json={RESULTS_DIR}/{STREAM_FILE}",
        "--summary-export",
        f"{RESULTS_DIR}/{SUMMARY_EXPORT_FILE}",
    ]


def wrapper_env(collect_address: str, hold_s: int) -> list[dict[str, Any]]:
    """What novaload's k6 wrapper reads (see ``k8s_image``), plus k6's own settings."""
    return [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NOVALOAD_RESULTS_DIR", "value": RESULTS_DIR},
        {"name": "NOVALOAD_STREAM", "value": STREAM_FILE},
        {"name": "NOVALOAD_COLLECT_ADDRESS", "value": collect_address},
        {"name": "NOVALOAD_HOLD_S", "value": str(hold_s)},
        {"name": "NOVALOAD_K6_SUMMARY", "value": f"{RESULTS_DIR}/{SUMMARY_FILE}"},
        {"name": "K6_NO_USAGE_REPORT", "value": "true"},
        {"name": "HOME", "value": "/tmp"},
    ]


def runner_job(
    *,
    name: str,
    run_id: str,
    namespace: str,
    index: int,
    count: int,
    image: str,
    pull_policy: str,
    k6_args: Sequence[str],
    payload: ScriptPayload,
    ports: RunnerPorts,
    host_network: bool,
    deadline_s: int,
    hold_s: int,
) -> dict[str, Any]:
    """Runner ``index`` (0-based) of ``count``: ``k6 run`` on its execution segment, paused.

    The command follows k6-operator's runner (``pkg/resources/jobs/runner.go``): quiet,
    segment flags, the user's arguments, the script, the API address, ``--paused`` and an
    ``instance_id`` tag. The API binds the pod's own IP, which is the node's with
    ``hostNetwork``: the API server's pod proxy reaches it, other local processes see no
    new wildcard listener.
    """
    job_name = f"{name}-{index + 1}"
    labels = {**run_labels(name), INSTANCE_LABEL: str(index + 1)}
    command = [
        "run",
        "--quiet",
        *segment_args(index, count),
        *k6_args,
        *results_args(),
        payload.path,
        f"--address=$(POD_IP):{ports.api}",
        "--paused",
        "--tag",
        f"instance_id={index + 1}",
    ]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 5,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "k6",
                "image": image,
                "imagePullPolicy": pull_policy,
                "command": ["k6"],
                "args": command,
                "env": wrapper_env(f"$(POD_IP):{ports.collect}", hold_s),
                "envFrom": [{"secretRef": {"name": secret_name(name)}}],
                "ports": [
                    {"name": "k6-api", "containerPort": ports.api},
                    {"name": "results", "containerPort": ports.collect},
                ],
                "volumeMounts": [
                    {"name": "k6-test-volume", "mountPath": SCRIPT_DIR, "readOnly": True},
                    {"name": "results", "mountPath": RESULTS_DIR},
                ],
            }
        ],
        "volumes": [
            {"name": "k6-test-volume", "configMap": {"name": name}},
            {"name": "results", "emptyDir": {}},
        ],
    }
    if host_network:
        pod_spec["hostNetwork"] = True
        pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**_metadata(job_name, name, run_id, namespace), "labels": labels},
        "spec": {
            "backoffLimit": 0,
            # Bounds a runner's life even when novaload is killed and cleans nothing up.
            "activeDeadlineSeconds": deadline_s,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def gitops_testrun(
    *,
    name: str,
    run_id: str,
    namespace: str,
    parallelism: int,
    image: str,
    k6_args: Sequence[str],
    payload: ScriptPayload,
    env: Mapping[str, str],
    secret_names: Sequence[str],
) -> dict[str, Any]:
    """A TestRun for teams that apply manifests themselves (``render --k8s``): no novaload
    wrapper, plain env values, secrets only as references to a Secret they create."""
    # Not labelled managed-by novaload: `novaload cleanup --force` must not delete what a
    # GitOps tool owns.
    labels = {RUN_LABEL: name}
    runner: dict[str, Any] = {
        "image": image,
        "metadata": {"labels": labels},
        "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
    }
    if secret_names:
        runner["envFrom"] = [{"secretRef": {"name": secret_name(name)}}]
    return {
        "apiVersion": f"{TESTRUN_GROUP}/{TESTRUN_VERSION}",
        "kind": "TestRun",
        "metadata": {**_metadata(name, name, run_id, namespace), "labels": labels},
        "spec": {
            "parallelism": parallelism,
            "script": {"configMap": {"name": name, "file": payload.file_name}},
            "args": list(k6_args),
            "runner": runner,
        },
    }


def testrun(
    *,
    name: str,
    run_id: str,
    namespace: str,
    parallelism: int,
    image: str,
    pull_policy: str,
    k6_args: Sequence[str],
    payload: ScriptPayload,
    hold_s: int,
    with_env_secret: bool = True,
) -> dict[str, Any]:
    """A k6-operator ``TestRun`` (v1alpha1) for the same run.

    ``args`` carries only the user's arguments and the result outputs: the operator adds
    ``--quiet``, the segments, the script, ``--address``, ``--paused`` and the instance tags
    itself. Runner pods get the run's labels, an ``emptyDir`` for results and novaload's
    wrapper settings.
    """
    runner: dict[str, Any] = {
        "image": image,
        "imagePullPolicy": pull_policy,
        "metadata": {"labels": run_labels(name)},
        "env": wrapper_env(f"$(POD_IP):{COLLECT_PORT}", hold_s),
        "volumes": [{"name": "results", "emptyDir": {}}],
        "volumeMounts": [{"name": "results", "mountPath": RESULTS_DIR}],
    }
    if with_env_secret:
        runner["envFrom"] = [{"secretRef": {"name": secret_name(name)}}]
    return {
        "apiVersion": f"{TESTRUN_GROUP}/{TESTRUN_VERSION}",
        "kind": "TestRun",
        "metadata": _metadata(name, name, run_id, namespace),
        "spec": {
            "parallelism": parallelism,
            "script": {"configMap": {"name": name, "file": payload.file_name}},
            "args": [*k6_args, *results_args()],
            "runner": runner,
            # The initializer runs `k6 archive` and `k6 inspect` under `sh -c`: novaload's
            # image has a shell for it.
            "initializer": {
                "image": image,
                "imagePullPolicy": pull_policy,
                "metadata": {"labels": run_labels(name)},
            },
        },
    }


__all__ = [
    "API_PORT",
    "COLLECT_PORT",
    "CONFIGMAP_LIMIT",
    "EXIT_CODE_FILE",
    "INSTANCE_LABEL",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "READY_FILE",
    "RELEASE_PATH",
    "RESULTS_DIR",
    "RESULTS_FILE",
    "RUN_ID_ANNOTATION",
    "RUN_LABEL",
    "STDOUT_FILE",
    "STREAM_FILE",
    "STREAM_PATH",
    "SUMMARY_EXPORT_FILE",
    "SUMMARY_FILE",
    "TESTRUN_CRD",
    "RunnerPorts",
    "ScriptPayload",
    "env_secret",
    "gitops_testrun",
    "object_name",
    "owner_reference",
    "run_labels",
    "run_selector",
    "runner_job",
    "script_configmap",
    "secret_name",
    "testrun",
]
