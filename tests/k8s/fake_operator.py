"""A test-only stand-in for k6-operator's controller (which cannot be built here).

It reconciles ``TestRun`` objects in one namespace the way k6-operator v1.6 does, as far
as novaload depends on it: the initializer Job (``pkg/resources/jobs/initializer.go``: its
``sh -c`` script with ``k6 archive`` and ``k6 inspect --execution-requirements`` in the
initializer image, the archive arguments filtered like ``pkg/types/k6cli.go``; the TestRun
errors when the script's maxVUs is below ``parallelism``), runner Jobs built like ``pkg/resources/jobs/runner.go``
(``k6 run --quiet`` + segment fragments + ``.spec.args`` + ``/test/<file>`` +
``--address=0.0.0.0:6565 --paused`` + ``instance_id``/``testrun_name`` tags; labels
``app=k6, k6_cr=<name>, runner=true`` plus the runner's own; the runner's env, envFrom,
volumes and mounts; ``backoffLimit: 0``; a controller reference to the TestRun), the
starter's ``PATCH /v1/status {"paused": false}`` once every runner answers (through the
API server's pod proxy: Service IPs are not routed on k8s-local), and ``.status.stage``
initialization → initialized → created → started → finished, or error.

Not reproduced: the per-runner Services, the starter and stopper pods, cloud output, PLZ,
istio and ``cleanup: post``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from kubernetes import client

from novaload.runners.k8s import Cluster

GROUP, VERSION, PLURAL = "k6.io", "v1alpha1", "testruns"


def segment_fragments(index: int, total: int) -> list[str]:
    """``pkg/segmentation/segmentation.go``'s NewCommandFragments (index is 1-based)."""

    def part(i: int) -> str:
        return "0" if i == 0 else "1" if i == total else f"{i}/{total}"

    sequence = ",".join(["0", *(f"{i}/{total}" for i in range(1, total)), "1"])
    return [
        f"--execution-segment={part(index - 1)}:{part(index)}",
        f"--execution-segment-sequence={sequence}",
    ]


# initializer.go's initializerShellScript for the .spec.args flow (setup, archive, "$@").
INITIALIZER_SCRIPT = """if ! command -v k6 >/dev/null 2>&1; then
  echo 'level=error msg="k6 executable not found in PATH; initializer image must contain k6"' >&2
  exit 127
fi

logs=/tmp/k6logs
archive="$1"
shift
if ! mkdir -p "$(dirname "${archive}")"; then
  exit 1
fi

if ! "$@" 2> "${logs}"; then
  cat "${logs}"
  exit 1
fi

if ! k6 inspect --execution-requirements "${archive}" 2> "${logs}"; then
  cat "${logs}"
  exit 1
fi

if grep 'level.*error' "${logs}"; then
  exit 1
fi"""


def archive_args(argv: list[str]) -> list[str]:
    """``types.ParseCLI``'s ArchiveArgs: what ``k6 archive`` accepts of ``.spec.args``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i].startswith("-"):
            end = i + 1
            while end < len(argv) and argv[end] and not argv[end].startswith("-"):
                end += 1
            flag = argv[i]
            skipped = flag.startswith(
                ("--log-output", "--block-hostnames", "--blacklist-ip", "--user-agent")
            ) or flag in ("-o", "--out", "-l", "--linger", "--no-usage-report", "--verbose", "-v")
            if not skipped:
                out += argv[i:end]
            i = end
        else:
            i += 1
    return out


def initializer_job(testrun: dict[str, Any]) -> dict[str, Any]:
    """``NewInitializerJob`` for a ConfigMap script and ``.spec.args``."""
    meta, spec = testrun["metadata"], testrun["spec"]
    name = meta["name"]
    init = spec.get("initializer") or spec.get("runner") or {}
    script = spec["script"]["configMap"]
    archive = f"/tmp/{script['file']}.archived.tar"
    archive_cmd = ["k6", "archive", f"/test/{script['file']}"]
    for env in init.get("env") or []:
        archive_cmd += ["-e", f"{env['name']}=$({env['name']})"]
    archive_cmd += ["-O", archive, *archive_args(list(spec.get("args") or []))]
    labels = {"app": "k6", "k6_cr": name}
    for key, value in ((init.get("metadata") or {}).get("labels") or {}).items():
        labels.setdefault(key, value)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{name}-initializer",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [_controller_ref(testrun)],
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "image": init.get("image") or "grafana/k6:latest",
                            "imagePullPolicy": init.get("imagePullPolicy"),
                            "name": "k6",
                            "command": ["sh", "-c", INITIALIZER_SCRIPT, "sh", archive, *archive_cmd],
                            "env": init.get("env") or [],
                            "envFrom": init.get("envFrom") or [],
                            "volumeMounts": [
                                {"name": "k6-test-volume", "mountPath": "/test", "readOnly": True},
                                *(init.get("volumeMounts") or []),
                            ],
                            "ports": [{"containerPort": 6565}],
                        }
                    ],
                    "volumes": [
                        {"name": "k6-test-volume", "configMap": {"name": script["name"]}},
                        *(init.get("volumes") or []),
                    ],
                },
            },
        },
    }


def _controller_ref(testrun: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TestRun",
        "name": testrun["metadata"]["name"],
        "uid": testrun["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _true(value: str | None, default: bool = True) -> bool:
    return default if not value else value.lower() in ("1", "t", "true")


def runner_job(testrun: dict[str, Any], index: int) -> dict[str, Any]:
    """``NewRunnerJob`` for a ConfigMap script, without istio, cloud or PLZ."""
    meta, spec = testrun["metadata"], testrun["spec"]
    name = meta["name"]
    runner = spec.get("runner") or {}
    command = ["k6", "run"]
    if _true(spec.get("quiet")):
        command.append("--quiet")
    if int(spec.get("parallelism", 1)) > 1:
        command += segment_fragments(index, int(spec["parallelism"]))
    command += list(spec.get("args") or []) or (spec.get("arguments") or "").split()
    script = spec["script"]["configMap"]
    command += [f"/test/{script['file']}", "--address=0.0.0.0:6565"]
    if _true(spec.get("paused")):
        command.append("--paused")
    command += ["--tag", f"instance_id={index}", "--tag", f"testrun_name={name}"]
    labels = {"app": "k6", "k6_cr": name, "runner": "true"}
    for key, value in ((runner.get("metadata") or {}).get("labels") or {}).items():
        labels.setdefault(key, value)
    job_name = f"{name}-{index}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [_controller_ref(testrun)],
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": _true(runner.get("automountServiceAccountToken")),
                    "serviceAccountName": runner.get("serviceAccountName") or "default",
                    "hostname": job_name,
                    "restartPolicy": "Never",
                    "securityContext": runner.get("securityContext") or {},
                    "containers": [
                        {
                            "image": runner.get("image") or "grafana/k6:latest",
                            "imagePullPolicy": runner.get("imagePullPolicy"),
                            "name": "k6",
                            "command": command,
                            "env": runner.get("env") or [],
                            "envFrom": runner.get("envFrom") or [],
                            "resources": runner.get("resources") or {},
                            "volumeMounts": [
                                {"name": "k6-test-volume", "mountPath": "/test", "readOnly": True},
                                *(runner.get("volumeMounts") or []),
                            ],
                            "ports": [{"containerPort": 6565}],
                        }
                    ],
                    "volumes": [
                        {"name": "k6-test-volume", "configMap": {"name": script["name"]}},
                        *(runner.get("volumes") or []),
                    ],
                },
            },
        },
    }


class FakeOperator:
    """Reconciles the TestRuns of one namespace in a background thread."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.custom = client.CustomObjectsApi(cluster.api)
        self.batch = client.BatchV1Api(cluster.api)
        self.core = client.CoreV1Api(cluster.api)
        self.jobs_created: dict[str, list[dict[str, Any]]] = {}
        self.inspected: dict[str, dict[str, Any]] = {}  # `k6 inspect` output per TestRun
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="fake-k6-operator")

    def __enter__(self) -> FakeOperator:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            try:
                items = self.custom.list_namespaced_custom_object(
                    GROUP, VERSION, self.cluster.namespace, PLURAL
                ).get("items", [])
                for testrun in items:
                    try:
                        self._reconcile(testrun)
                    except client.exceptions.ApiException as exc:
                        # deleted (novaload cleans up as soon as it has the results) or changed
                        gone = isinstance(exc, client.exceptions.NotFoundException)
                        if not gone and exc.status not in (404, 409):
                            raise
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the tests
                self.errors.append(repr(exc))

    def _stage(self, testrun: dict[str, Any], stage: str) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            self.cluster.namespace,
            PLURAL,
            testrun["metadata"]["name"],
            {"status": {"stage": stage}},
        )

    def _reconcile(self, testrun: dict[str, Any]) -> None:
        if testrun["metadata"].get("deletionTimestamp"):
            return
        name = testrun["metadata"]["name"]
        stage = (testrun.get("status") or {}).get("stage")
        count = int(testrun["spec"].get("parallelism", 1))
        if stage is None:
            self._stage(testrun, "initialization")
        elif stage == "initialization":
            self._initialize(testrun, count)
        elif stage == "initialized":
            jobs = [runner_job(testrun, i) for i in range(1, count + 1)]
            for job in jobs:
                self.batch.create_namespaced_job(self.cluster.namespace, job)
            self.jobs_created[name] = jobs
            self._stage(testrun, "created")
        elif stage == "created":
            if self._all_answer(name, count):
                self._start(name, count)
                self._stage(testrun, "started")
        elif stage == "started":
            jobs = self.batch.list_namespaced_job(
                self.cluster.namespace, label_selector=f"k6_cr={name}"
            ).items
            if len(jobs) == count and all(j.status.succeeded or j.status.failed for j in jobs):
                # Open-source k6-operator ends in "finished" even when a runner failed.
                self._stage(testrun, "finished")

    def _initialize(self, testrun: dict[str, Any], count: int) -> None:
        """Run the initializer Job; read ``k6 inspect``'s JSON from its log, as the operator does."""
        name = testrun["metadata"]["name"]
        job_name = f"{name}-initializer"
        jobs = self.batch.list_namespaced_job(
            self.cluster.namespace, field_selector=f"metadata.name={job_name}"
        )
        if not jobs.items:
            self.batch.create_namespaced_job(self.cluster.namespace, initializer_job(testrun))
            return
        status = jobs.items[0].status
        if not (status.succeeded or status.failed):
            return
        (pod,) = self.core.list_namespaced_pod(
            self.cluster.namespace, label_selector=f"job-name={job_name}"
        ).items
        log = self.core.read_namespaced_pod_log(pod.metadata.name, self.cluster.namespace)
        if status.failed:
            self.errors.append(f"initializer failed: {log}")
            self._stage(testrun, "error")
            return
        inspected = json.loads(log)
        self.inspected[name] = inspected
        # k6_initialize.go: parallelism above the script's maxVUs is an error
        self._stage(testrun, "error" if int(inspected["maxVUs"]) < count else "initialized")

    def _pods(self, name: str) -> list[Any]:
        return self.core.list_namespaced_pod(
            self.cluster.namespace, label_selector=f"k6_cr={name},runner=true"
        ).items

    def _all_answer(self, name: str, count: int) -> bool:
        pods = [p for p in self._pods(name) if p.status.phase == "Running"]
        if len(pods) != count:
            return False
        try:
            for pod in pods:
                self.cluster.proxy("GET", pod.metadata.name, 6565, "v1/status").release_conn()
        except Exception:  # noqa: BLE001 - not up yet: the next turn retries
            return False
        return True

    def _start(self, name: str, count: int) -> None:
        body = {"data": {"type": "status", "id": "default", "attributes": {"paused": False}}}
        for pod in self._pods(name):
            self.cluster.proxy("PATCH", pod.metadata.name, 6565, "v1/status", body).release_conn()
