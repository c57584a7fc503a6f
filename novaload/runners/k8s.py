"""The Kubernetes runner: one k6 per execution segment in a cluster (``--runner k8s``).

Owns a distributed run's life in the cluster: connecting (kubeconfig, ``--kube-context``,
in-cluster), choosing the mode (k6-operator ``TestRun`` when the CRD is installed, else
plain Jobs, or as asked), creating the objects of :mod:`k8s_objects`, releasing the paused
runners together through k6's REST API (Jobs mode; the operator starts its own), logs and
live progress through the API server, interrupt handling, copying every runner's results
into the run folder, and deleting everything it created whatever happens. The pod log is
k6's log (stderr), streamed live; k6's stdout (its end-of-test summary) is copied with the
results and returned in ``K6Execution.stdout``, as by the local and Docker runners.

The run's exit code is the merged verdict: a runner that exits 99 only judged *its slice*
of the thresholds, so 99 is re-judged over all runners' samples by the pipeline (when every
runner's results arrived); any other failure passes through.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from novaload.errors import ExitCode, InputError, RunnerError, UsageError
from novaload.redact import Redactor, safe_url
from novaload.runfolder import K6_LOG, K8S_RUNNERS_JSON, instance_file
from novaload.runners import k8s_objects as objects
from novaload.runners.base import ExecutionPlan, K6Execution, K8sOptions, ProgressCallback, joined_stdout
from novaload.runners.console import InstanceConsole, LogCallback, print_line
from novaload.runners.k6api import combine
from novaload.runners.signals import signals_to

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

LOG_NAME = K6_LOG
RUNNERS_FILE = K8S_RUNNERS_JSON
_POLL_S = 0.5
_HOLD_S = 600  # how long a finished runner waits to be collected before it exits anyway
_DELETE_WAIT_S = 60.0
# Pod states that will not resolve by waiting: fail at once with the kubelet's reason.
_FATAL_WAITING = {
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "ImagePullBackOff",
    "ErrImagePull",
}
_LOCAL_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](?:\.{1,2}/|/|file:)|\bopen\s*\("""
)
_K8S_MEANINGS = {0: "passed", 99: "thresholds failed on its slice"}


# ---- pure helpers (unit-tested without a cluster) ------------------------------------------


def needs_archive(script_text: str) -> bool:
    """True when the script imports local modules or opens files: it then travels as a
    ``k6 archive`` (which bundles them) instead of a lone file."""
    return _LOCAL_IMPORT.search(script_text) is not None


def configmap_key(file_name: str) -> str:
    """A ConfigMap key (``[-._a-zA-Z0-9]+``) that keeps the file's extension."""
    key = re.sub(r"[^-._a-zA-Z0-9]+", "-", file_name).strip(".-")
    return key or "script.js"


def script_payload(plan: ExecutionPlan) -> objects.ScriptPayload:
    """The script, or a ``k6 archive`` of it when it has local imports or data files."""
    text = plan.script.read_text(encoding="utf-8", errors="replace")
    if not needs_archive(text):
        return objects.ScriptPayload(configmap_key(plan.script.name), plan.script.read_bytes(), False)
    with tempfile.TemporaryDirectory(prefix="novaload-archive-") as tmp:
        archive = Path(tmp) / "archive.tar"
        env = {**os.environ, **plan.env, "K6_NO_USAGE_REPORT": "true"}
        try:
            proc = subprocess.run(
                [plan.k6_binary, "archive", "--quiet", "-O", str(archive), str(plan.script)],
                cwd=plan.script.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise RunnerError(f"`k6 archive` failed: {exc}") from None
        if proc.returncode != 0 or not archive.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise InputError(
                f"{plan.script}: `k6 archive` failed: {Redactor(plan.secrets)(detail[-1] if detail else '?')}"
            )
        return objects.ScriptPayload("archive.tar", archive.read_bytes(), True)


def runner_note(index: int, count: int, code: int | None, pod: str | None) -> str:
    verdict = "no exit code (pod lost)" if code is None else _K8S_MEANINGS.get(code, f"exit code {code}")
    return f"runner {index + 1}/{count} ({pod or 'no pod'}): {verdict}"


# ---- cluster access ------------------------------------------------------------------------


@dataclass(slots=True)
class Cluster:
    """A connection to one namespace of one cluster."""

    api: ApiClient
    namespace: str
    host: str

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api)

    @property
    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    def proxy(
        self,
        method: str,
        pod: str,
        port: int,
        path: str,
        body: object | None = None,
        timeout: float | tuple[float, float] = 2.0,
    ) -> Any:
        """A raw (streaming) response from ``path`` on a pod's port via the API server's
        pod proxy, which works from outside the cluster; raises on any non-2xx answer."""
        from urllib.parse import quote

        resource = (
            f"/api/v1/namespaces/{quote(self.namespace, safe='')}/pods/"
            f"{quote(f'{pod}:{port}', safe=':')}/proxy/{path}"
        )
        method, url, headers, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=resource,
            header_params={"Content-Type": "application/json", "Accept": "*/*"},
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.api.call_api(method, url, header_params=headers, body=payload, _request_timeout=timeout)
        raw = resp.response  # urllib3's, not read yet: large results files stream to disk
        if not 200 <= raw.status < 300:
            raw.release_conn()
            from kubernetes.client.exceptions import ApiException

            raise ApiException(status=raw.status, reason=raw.reason)
        return raw

    def proxy_json(self, pod: str, port: int, path: str) -> Any:
        resp = self.proxy("GET", pod, port, path)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()


def _proxy_errors() -> tuple[type[BaseException], ...]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return (ApiException, HTTPError, OSError, ValueError, KeyError, TypeError)


def connect(options: K8sOptions) -> Cluster:
    """Kubeconfig from the usual places (``$KUBECONFIG``, ``~/.kube/config``; ``context``
    picks one), else the in-cluster service account; the API server must answer."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise RunnerError(
            "the kubernetes Python package is not installed", hint="pip install kubernetes"
        ) from None
    namespace = options.namespace
    try:
        try:
            api = config.new_client_from_config(context=options.context)
            if namespace is None:
                contexts, active = config.list_kube_config_contexts()
                chosen = next((c for c in contexts if c["name"] == options.context), active)
                namespace = (chosen or {}).get("context", {}).get("namespace")
        except (ConfigException, FileNotFoundError):
            if options.context:
                raise
            config.load_incluster_config()
            api = client.ApiClient()
            if namespace is None:
                ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                namespace = ns_file.read_text().strip() if ns_file.is_file() else None
    except (ConfigException, FileNotFoundError, OSError) as exc:
        where = os.environ.get("KUBECONFIG", "~/.kube/config")
        raise RunnerError(
            f"no usable Kubernetes configuration ({where}"
            f"{f', context {options.context}' if options.context else ''}): {str(exc).strip()[:200]}",
            hint="set KUBECONFIG or --kube-context",
        ) from None
    cluster = Cluster(api, namespace or "default", api.configuration.host)
    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable", said in one line
        raise RunnerError(
            f"Kubernetes API server unreachable at {cluster.host}: {str(exc).strip().splitlines()[0][:200]}"
        ) from None
    return cluster


def operator_installed(cluster: Cluster) -> bool:
    """Whether the API server serves k6-operator's ``testruns.k6.io`` (the CRD is installed)."""
    from kubernetes.client.exceptions import ApiException

    try:
        resources = cluster.custom.get_api_resources(objects.TESTRUN_GROUP, objects.TESTRUN_VERSION)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise RunnerError(f"cannot ask the API server for k6.io resources: {exc.reason}") from None
    return any(r.name == objects.TESTRUN_PLURAL for r in (resources.resources or []))


def choose_mode(cluster: Cluster, asked: str) -> str:
    installed = operator_installed(cluster)
    if asked == "auto":
        return "operator" if installed else "jobs"
    if asked == "operator" and not installed:
        raise RunnerError(
            f"--k8s-mode operator: the {objects.TESTRUN_CRD} CRD is not installed in the cluster at {cluster.host}",
            hint="install k6-operator, or use --k8s-mode jobs",
        )
    return asked


# ---- one runner and one run ------------------------------------------------------------------


@dataclass(slots=True)
class _Runner:
    index: int
    count: int
    job: str
    ports: objects.RunnerPorts
    pod: str | None = None
    node: str | None = None
    exit_code: int | None = None
    exited_at: float = 0.0
    collected: bool = False
    log_thread: threading.Thread | None = None
    failure: str | None = None  # why the pod cannot run (image, scheduling)
    probe: str = ""  # what the last readiness probe found
    own_log: IO[str] | None = None  # k6-<i>of<n>.log (a split run's runners only)
    stdout: list[str] = field(default_factory=list)  # k6's stdout lines, redacted

    @property
    def prefix(self) -> str:
        return f"[{self.index + 1}/{self.count}] " if self.count > 1 else ""


@dataclass(slots=True)
class _Interrupts:
    count: int = 0
    handled: int = 0

    def hit(self, *_: object) -> None:
        self.count += 1


class K8sRunner:
    """Runs k6 as ``plan.parallelism`` runner pods in a Kubernetes cluster."""

    name = "k8s"

    def __init__(self, on_log: LogCallback | None = None, *, poll_interval_s: float = 1.0) -> None:
        self.on_log = on_log or print_line
        self._poll_interval_s = poll_interval_s

    def check(self, image: str | None = None) -> None:
        """The client library is installed (the cluster itself is asked when the run starts,
        where ``--kube-context`` is known)."""
        try:
            import kubernetes  # noqa: F401
        except ImportError:
            raise RunnerError(
                "--runner k8s needs the kubernetes Python package", hint="pip install kubernetes"
            ) from None

    def run(self, plan: ExecutionPlan, progress: ProgressCallback | None = None) -> K6Execution:
        options = plan.kubernetes or K8sOptions()
        cluster = connect(options)
        mode = choose_mode(cluster, options.mode)
        if mode == "operator" and options.host_network:
            raise UsageError(
                "--host-network works in Jobs mode only (k6-operator puts every runner's API on port 6565)",
                hint="add --k8s-mode jobs",
            )
        if not options.host_network and _is_loopback(plan.env.get("NOVALOAD_BASE_URL")):
            self.on_log(
                f"warning: the target {safe_url(plan.env['NOVALOAD_BASE_URL'])} is on loopback, which runner pods on "
                "the pod network cannot reach: add --host-network"
            )
        payload = script_payload(plan)
        try:  # the size limit, before anything is created
            objects.script_configmap(payload, "check", plan.run_id, "default")
        except ValueError as exc:
            raise InputError(
                f"{plan.script}: {exc}",
                hint="keep large data files out of the script (e.g. fetch them at init)",
            ) from None
        image, pull_policy = _runner_image(plan)
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        run = _Run(self, plan, cluster, mode, payload, image, pull_policy, options, progress)
        return run.execute()


def distinct_free_ports(count: int) -> list[int]:
    """``count`` loopback ports free at the time of asking, all different: every socket stays
    bound until all are found (asking one at a time may hand out the same port twice)."""
    import socket

    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _is_loopback(url: str | None) -> bool:
    from urllib.parse import urlparse

    host = urlparse(url).hostname if url else None
    return host is not None and (host == "localhost" or host.startswith("127.") or host == "::1")


def _runner_image(plan: ExecutionPlan) -> tuple[str, str]:
    """``--image`` as given (pulled if not present), else novaload's runner image built in
    the ``DOCKER_HOST`` engine (the cluster's, on a local cluster) and never pulled."""
    if plan.image:
        return plan.image, "IfNotPresent"
    from novaload.runners.k8s_image import ensure_runner_image

    return ensure_runner_image(Path(plan.k6_binary)), "Never"


class _Run:
    """One distributed run: create, release, supervise, collect, delete."""

    def __init__(
        self,
        runner: K8sRunner,
        plan: ExecutionPlan,
        cluster: Cluster,
        mode: str,
        payload: objects.ScriptPayload,
        image: str,
        pull_policy: str,
        options: K8sOptions,
        progress: ProgressCallback | None,
    ) -> None:
        self.plan = plan
        self.cluster = cluster
        self.mode = mode
        self.payload = payload
        self.image = image
        self.pull_policy = pull_policy
        self.options = options
        self.progress = progress
        self.on_log = runner.on_log
        self.poll_interval_s = runner._poll_interval_s
        self.name = objects.object_name(plan.run_id)
        self.gzip = plan.results_name.endswith(".gz")
        self.count = max(1, plan.parallelism)
        self.redactor = Redactor(plan.secrets)
        self.errors = _proxy_errors()
        self.interrupts = _Interrupts()
        ports = self._ports()
        self.runners = [_Runner(i, self.count, f"{self.name}-{i + 1}", ports[i]) for i in range(self.count)]
        self.released = False
        self.stopping = False
        self.killed = False
        self.stage: str | None = None
        self.notes: list[str] = []
        self._stop_progress = threading.Event()

    def _ports(self) -> list[objects.RunnerPorts]:
        # With hostNetwork every runner shares the node's ports: pick free ones (the node is
        # this machine on a local cluster; elsewhere a clash fails that pod, which is reported).
        if not self.options.host_network:
            return [objects.RunnerPorts()] * self.count
        found = distinct_free_ports(2 * self.count)
        return [objects.RunnerPorts(api=found[2 * i], collect=found[2 * i + 1]) for i in range(self.count)]

    # -- the whole run --

    def execute(self) -> K6Execution:
        started_at = datetime.now(UTC)
        log_path = self.plan.run_dir.resolve() / LOG_NAME
        failure: RunnerError | None = None
        try:
            with (
                open(log_path, "w", encoding="utf-8") as combined,
                contextlib.ExitStack() as own_logs,
                signals_to(self.interrupts.hit),
            ):
                self.console = InstanceConsole(self.on_log, combined)
                if self.count > 1:  # one runner's own log is k6.log itself
                    for r in self.runners:
                        r.own_log = own_logs.enter_context(
                            open(self._local(r, LOG_NAME), "w", encoding="utf-8")
                        )
                self._create()
                self.console.line(
                    f"k8s: {self.count} runner(s) in namespace {self.cluster.namespace} "
                    f"({'k6-operator TestRun' if self.mode == 'operator' else 'Jobs'} {self.name}, image {self.image})"
                )
                poller = threading.Thread(target=self._poll_progress, args=(started_at,), daemon=True)
                poller.start()
                try:
                    self._supervise()
                except RunnerError as exc:
                    failure = exc
                finally:
                    self._stop_progress.set()
                for r in self.runners:
                    if r.exit_code is not None:
                        self._follow_logs(r)  # e.g. one that ended before the release
                self._collect_all()
                self._release_all()
                for r in self.runners:
                    if r.log_thread is not None:
                        r.log_thread.join(timeout=10)
        finally:
            self._delete_all()
        if failure is not None and not any(r.collected for r in self.runners):
            raise failure
        return self._execution(started_at, log_path)

    def _execution(self, started_at: datetime, log_path: Path) -> K6Execution:
        order = sorted(self.runners, key=lambda r: (r.exit_code is None, r.exited_at))
        codes = [r.exit_code if r.exit_code is not None else 1 for r in order]
        all_results = all(r.collected for r in self.runners)
        for r in self.runners:
            self.notes.append(runner_note(r.index, r.count, r.exit_code, r.pod))
        if self.count > 1:
            self.notes.append(
                f"setup() and teardown() ran {self.count} times, once in every runner (k6 has no "
                "coordinator): their requests are counted once per runner"
            )
        self._write_runners_file()
        files = [self._local(r, self.plan.results_name) for r in self.runners]
        return K6Execution(
            exit_codes=tuple(codes),
            thresholds_rejudged=all_results,
            started_at=started_at,
            ended_at=datetime.now(UTC),
            results_files=files,
            summary_files=[
                p
                for r in self.runners
                for p in (
                    self._local(r, self.plan.summary_name),
                    self._local(r, self.plan.summary_export_name),
                )
                if p.is_file()
            ],
            log_file=log_path,
            interrupted=self.interrupts.count > 0,
            killed=self.killed,
            instances=self.count,
            notes=self.notes,
            stdout=joined_stdout([r.stdout for r in self.runners]),
        )

    def _local(self, r: _Runner, name: str) -> Path:
        # The pipeline's own spelling of the path: it follows these files during the run.
        return self.plan.run_dir / instance_file(name, r.index, r.count)

    def _write_runners_file(self) -> None:
        from novaload.fileio import write_atomic

        data = {
            "mode": self.mode,
            "namespace": self.cluster.namespace,
            "name": self.name,
            "image": self.image,
            "runners": [
                {
                    "instance": r.index + 1,
                    "job": r.job,
                    "pod": r.pod,
                    "node": r.node,
                    "exit_code": r.exit_code,
                    "verdict": _K8S_MEANINGS.get(r.exit_code, f"exit code {r.exit_code}")
                    if r.exit_code is not None
                    else "unknown",
                    "results_collected": r.collected,
                    "failure": r.failure,
                }
                for r in self.runners
            ],
        }
        write_atomic(self.plan.run_dir / RUNNERS_FILE, json.dumps(data, indent=2) + "\n")

    # -- creating --

    def _create(self) -> None:
        from kubernetes.client.exceptions import ApiException

        ns = self.cluster.namespace
        cm_body = objects.script_configmap(self.payload, self.name, self.plan.run_id, ns)
        try:
            parent = self.cluster.core.create_namespaced_config_map(ns, cm_body)
            owner = [objects.owner_reference("ConfigMap", "v1", self.name, parent.metadata.uid)]
            secret = objects.env_secret(self.plan.env, objects.secret_name(self.name), self.plan.run_id, ns)
            secret["metadata"]["labels"] = objects.run_labels(self.name)
            secret["metadata"]["ownerReferences"] = owner
            self.cluster.core.create_namespaced_secret(ns, secret)
            if self.mode == "jobs":
                for r in self.runners:
                    job = objects.runner_job(
                        name=self.name,
                        run_id=self.plan.run_id,
                        namespace=ns,
                        index=r.index,
                        count=self.count,
                        image=self.image,
                        pull_policy=self.pull_policy,
                        k6_args=self.plan.k6_args,
                        payload=self.payload,
                        ports=r.ports,
                        host_network=self.options.host_network,
                        deadline_s=self._deadline_s(),
                        hold_s=_HOLD_S,
                        gzip=self.gzip,
                    )
                    job["metadata"]["ownerReferences"] = owner
                    self.cluster.batch.create_namespaced_job(ns, job)
            else:
                body = objects.testrun(
                    name=self.name,
                    run_id=self.plan.run_id,
                    namespace=ns,
                    parallelism=self.count,
                    image=self.image,
                    pull_policy=self.pull_policy,
                    k6_args=self.plan.k6_args,
                    payload=self.payload,
                    hold_s=_HOLD_S,
                    gzip=self.gzip,
                )
                body["metadata"]["ownerReferences"] = owner
                self.cluster.custom.create_namespaced_custom_object(
                    objects.TESTRUN_GROUP, objects.TESTRUN_VERSION, ns, objects.TESTRUN_PLURAL, body
                )
        except ApiException as exc:
            raise RunnerError(f"the API server refused a runner object: {_api_message(exc)}") from None

    def _deadline_s(self) -> int:
        planned = self.plan.planned_duration_s or 3600.0
        return int(planned + self.options.ready_timeout_s + _HOLD_S + 120)

    # -- supervising --

    def _supervise(self) -> None:
        deadline_ready = time.monotonic() + self.options.ready_timeout_s
        while not all(r.exit_code is not None for r in self.runners):
            time.sleep(_POLL_S)
            self._handle_interrupts()
            self._refresh_pods()
            if self.mode == "operator":
                self._refresh_stage()
            failed = [r for r in self.runners if r.failure]
            if failed and not self.released:
                raise RunnerError(
                    "; ".join(f"runner {r.index + 1}/{self.count}: {r.failure}" for r in failed)
                )
            self._refresh_exit_codes()
            if not self.released:
                if self.interrupts.count:
                    raise KeyboardInterrupt  # nothing ran: cleaned up, exit 130
                early = [r for r in self.runners if r.exit_code is not None]
                if early:
                    # e.g. a script error in init: the others would run with a segment missing.
                    r = early[0]
                    self.console.line(
                        f"runner {r.index + 1}/{self.count} exited before the start (exit code {r.exit_code}): "
                        "stopping the others"
                    )
                    self.released = True
                    self._stop_all()
                elif self._all_ready():
                    self._release()
                elif time.monotonic() > deadline_ready:
                    raise RunnerError(self._not_ready_reason())
                continue
            self._stop_others_on_failure()

    def _handle_interrupts(self) -> None:
        if self.interrupts.count <= self.interrupts.handled:
            return
        self.interrupts.handled = self.interrupts.count
        if self.interrupts.count == 1:
            self.console.line("interrupt: asking every runner to stop gracefully (Ctrl-C again to kill them)")
            self._stop_all()
        else:
            self.console.line("second interrupt: deleting the runner pods")
            self.killed = True
            for r in self.runners:
                if r.exit_code is None:
                    r.exit_code = 105
                    r.exited_at = time.monotonic()
                if r.pod:
                    self._delete_pod(r.pod)

    def _stop_all(self) -> None:
        """k6's graceful stop through its REST API, as k6-operator's stopper does."""
        self.stopping = True
        body = {"data": {"type": "status", "id": "default", "attributes": {"stopped": True}}}
        for r in self.runners:
            if r.exit_code is None and r.pod:
                try:
                    self.cluster.proxy("PATCH", r.pod, self._api_port(r), "v1/status", body).release_conn()
                except self.errors:
                    pass  # not up or already ended: its exit code tells

    def _stop_others_on_failure(self) -> None:
        if self.stopping:
            return
        broken = [
            r for r in self.runners if r.exit_code not in (None, ExitCode.OK, ExitCode.THRESHOLDS_FAILED)
        ]
        if broken and any(r.exit_code is None for r in self.runners):
            r = broken[0]
            self.console.line(
                f"runner {r.index + 1}/{self.count} failed (exit code {r.exit_code}): stopping the others, "
                "the merged report would miss its segment"
            )
            self._stop_all()

    def _api_port(self, r: _Runner) -> int:
        return r.ports.api if self.mode == "jobs" else objects.API_PORT

    def _collect_port(self, r: _Runner) -> int:
        return r.ports.collect if self.mode == "jobs" else objects.COLLECT_PORT

    def _pods(self) -> list[Any]:
        if self.mode == "jobs":
            selector = objects.run_selector(self.name)
        else:
            selector = f"k6_cr={self.name},runner=true"
        return list(
            self.cluster.core.list_namespaced_pod(self.cluster.namespace, label_selector=selector).items
        )

    def _runner_for(self, pod: Any) -> _Runner | None:
        labels = pod.metadata.labels or {}
        if self.mode == "jobs":
            index = labels.get(objects.INSTANCE_LABEL)
        else:
            job = labels.get("job-name", "")
            index = job.rsplit("-", 1)[-1] if job.startswith(f"{self.name}-") else None
        if index is None or not index.isdigit() or not 1 <= int(index) <= self.count:
            return None
        return self.runners[int(index) - 1]

    def _refresh_pods(self) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            pods = self._pods()
        except ApiException as exc:
            self.console.line(f"k8s: cannot list runner pods: {_api_message(exc)}")
            return
        for pod in pods:
            r = self._runner_for(pod)
            if r is None:
                continue
            if r.pod != pod.metadata.name:
                r.pod = pod.metadata.name
            r.node = pod.spec.node_name
            r.failure = _pod_failure(pod)
            state = _container_state(pod)
            if pod.status.phase in ("Running", "Succeeded", "Failed"):
                self._follow_logs(r)
            if state is not None and state.terminated is not None and r.exit_code is None:
                # The wrapper exited without novaload collecting (deadline, OOM kill, crash).
                r.exit_code = int(state.terminated.exit_code)
                r.exited_at = time.monotonic()
                r.failure = r.failure or f"container terminated: {state.terminated.reason or 'exit'}"

    def _refresh_stage(self) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            obj = self.cluster.custom.get_namespaced_custom_object(
                objects.TESTRUN_GROUP,
                objects.TESTRUN_VERSION,
                self.cluster.namespace,
                objects.TESTRUN_PLURAL,
                self.name,
            )
        except ApiException:
            return
        stage = (obj.get("status") or {}).get("stage")
        if stage != self.stage:
            self.stage = stage
            self.console.line(f"k8s: TestRun {self.name} stage {stage}")
        if stage in ("started", "stopped", "finished"):  # a quick run may skip a poll
            self.released = True
        if stage == "error" and not self.released:
            raise RunnerError(f"k6-operator put TestRun {self.name} in stage error (see its conditions)")

    def _all_ready(self) -> bool:
        if self.mode == "operator":
            return self.released  # the operator's starter releases them
        if not all(r.pod for r in self.runners):
            return False
        ready = True
        for r in self.runners:
            assert r.pod is not None
            try:
                r.probe = "k6's REST API does not answer"
                self.cluster.proxy_json(r.pod, self._api_port(r), "v1/status")
                r.probe = "the results server does not answer"
                self.cluster.proxy("GET", r.pod, self._collect_port(r), objects.READY_FILE).release_conn()
                r.probe = "ready"
            except self.errors as exc:
                r.probe += f" ({str(exc).strip().splitlines()[0][:80]})"
                ready = False
        return ready

    def _release(self) -> None:
        """Resume every paused runner, back to back (a failed PATCH is retried next turn)."""
        body = {"data": {"type": "status", "id": "default", "attributes": {"paused": False}}}
        ok = True
        for r in self.runners:
            assert r.pod is not None
            try:
                self.cluster.proxy("PATCH", r.pod, self._api_port(r), "v1/status", body).release_conn()
            except self.errors:
                ok = False
        if ok:
            self.released = True
            # Their APIs answered, so the containers run, whatever pod phase the API server
            # shows yet (the kubelet reports it late).
            for r in self.runners:
                self._follow_logs(r)
            self.console.line(f"k8s: all {self.count} runner(s) ready: released together")

    def _not_ready_reason(self) -> str:
        waiting = [
            f"runner {r.index + 1}/{self.count}: "
            + (r.failure or ("no pod yet" if r.pod is None else f"pod {r.pod}: {r.probe or 'not running'}"))
            for r in self.runners
        ]
        return f"runners not ready after {self.options.ready_timeout_s:.0f} s: " + "; ".join(waiting)

    def _refresh_exit_codes(self) -> None:
        for r in self.runners:
            if r.exit_code is not None or r.pod is None:
                continue
            try:
                resp = self.cluster.proxy("GET", r.pod, self._collect_port(r), objects.EXIT_CODE_FILE)
            except self.errors:
                continue  # 404 while k6 runs
            try:
                r.exit_code = int(resp.data.decode().strip())
                r.exited_at = time.monotonic()
            except ValueError:
                continue
            finally:
                resp.release_conn()

    # -- progress and logs --

    def _poll_progress(self, started_at: datetime) -> None:
        if self.progress is None:
            return
        while not self._stop_progress.wait(self.poll_interval_s):
            if not self.released:
                continue
            found = []
            for r in self.runners:
                if r.pod is None or r.exit_code is not None:
                    continue
                try:
                    status = self.cluster.proxy_json(r.pod, self._api_port(r), "v1/status")["data"][
                        "attributes"
                    ]
                    metrics = {
                        m["id"]: m["attributes"].get("sample", {})
                        for m in self.cluster.proxy_json(r.pod, self._api_port(r), "v1/metrics").get(
                            "data", []
                        )
                    }
                except self.errors:
                    continue
                found.append({"status": status, "metrics": metrics})
            if found:
                try:
                    self.progress(combine(found, (datetime.now(UTC) - started_at).total_seconds()))
                except Exception:  # noqa: BLE001 - a display bug must not stop the run
                    pass

    def _follow_logs(self, r: _Runner) -> None:
        if r.log_thread is None and r.pod is not None:
            r.log_thread = threading.Thread(target=self._stream_logs, args=(r,), daemon=True)
            r.log_thread.start()

    def _open_log(self, pod: str) -> Any:
        """The log stream of a pod's k6 container; the API server answers 400 ("waiting to
        start") until the kubelet has reported the container running, which can lag behind
        the container itself by seconds."""
        from kubernetes.client.exceptions import ApiException

        deadline = time.monotonic() + 60
        while True:
            try:
                return self.cluster.core.read_namespaced_pod_log(
                    pod, self.cluster.namespace, container="k6", follow=True, _preload_content=False
                )
            except ApiException as exc:
                if exc.status != 400 or time.monotonic() > deadline:
                    raise
            time.sleep(0.25)

    def _stream_logs(self, r: _Runner) -> None:
        """A runner's pod log (k6's stderr: the wrapper keeps its stdout apart) to its own
        log, ``k6.log`` and the console, as it comes."""
        assert r.pod is not None
        try:
            resp = self._open_log(r.pod)
            buffer = b""
            for chunk in resp.stream(4096):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    line = self.redactor(raw.decode("utf-8", "replace").rstrip("\r"))
                    self.console.line(line, r.prefix, r.own_log)
            if buffer:
                self.console.line(self.redactor(buffer.decode("utf-8", "replace")), r.prefix, r.own_log)
        except Exception as exc:  # noqa: BLE001 - logs are best effort; exit codes and results count
            self.console.line(f"(log stream ended: {str(exc).strip()[:120]})", r.prefix)

    # -- collecting and deleting --

    def _collect_all(self) -> None:
        for r in self.runners:
            if r.pod is None or self.killed or r.exit_code is None:
                continue
            try:
                self._download(r, objects.results_file(self.gzip), self.plan.results_name, required=True)
                self._download(r, objects.SUMMARY_EXPORT_FILE, self.plan.summary_export_name)
                self._download(r, objects.SUMMARY_FILE, self.plan.summary_name)
                r.collected = True
            except self.errors as exc:
                self.console.line(
                    f"{r.prefix}results of runner {r.index + 1}/{self.count} could not be copied: {str(exc)[:160]}"
                )
            self._collect_stdout(r)

    def _collect_stdout(self, r: _Runner) -> None:
        """k6's stdout, which the wrapper writes into the results folder, into ``r.stdout``
        and the logs (not the console: the caller prints it after the run, as k6 does)."""
        from kubernetes.client.exceptions import ApiException

        assert r.pod is not None
        try:
            resp = self.cluster.proxy(
                "GET", r.pod, self._collect_port(r), objects.STDOUT_FILE, timeout=(10, 120)
            )
            try:
                data: bytes = resp.data
            finally:
                resp.release_conn()
        except self.errors as exc:
            # 404: an --image whose wrapper predates the file; its k6 printed into the pod
            # log, which was streamed.
            if not (isinstance(exc, ApiException) and exc.status == 404):
                self.console.line(f"k6's stdout could not be copied: {str(exc)[:160]}", r.prefix)
            return
        lines = data.decode("utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()
        for raw in lines:
            line = self.redactor(raw.rstrip("\r"))
            r.stdout.append(line)
            self.console.line(line, r.prefix, r.own_log, show=False)

    def _download(self, r: _Runner, remote: str, local_name: str, *, required: bool = False) -> None:
        from kubernetes.client.exceptions import ApiException

        assert r.pod is not None
        target = self._local(r, local_name)
        try:
            resp = self.cluster.proxy("GET", r.pod, self._collect_port(r), remote, timeout=(10, 120))
        except ApiException as exc:
            if exc.status == 404 and not required:
                return
            raise
        # A named pipe (``--raw none``) is the pipeline's live scan reading: write into it.
        # A file appears whole, by a rename, so a reader following it never sees half.
        pipe = target.exists() and stat.S_ISFIFO(target.stat().st_mode)
        tmp = target if pipe else target.with_name(target.name + ".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in resp.stream(1 << 20):
                    out.write(chunk)
        finally:
            resp.release_conn()
        if not pipe:
            tmp.replace(target)

    def _release_all(self) -> None:
        for r in self.runners:
            if r.pod is None or self.killed:
                continue
            try:
                self.cluster.proxy("GET", r.pod, self._collect_port(r), objects.RELEASE_PATH).release_conn()
            except self.errors:
                pass  # it exits at its hold deadline, and is deleted below anyway

    def _delete_pod(self, pod: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.cluster.core.delete_namespaced_pod(pod, self.cluster.namespace, grace_period_seconds=0)
        except ApiException:
            pass

    def _delete_all(self) -> None:
        """Delete every object of this run and wait (bounded) until they are gone."""
        left = delete_run_objects(self.cluster, self.name, wait_s=_DELETE_WAIT_S)
        if left:
            self.console_line_safe(f"k8s: still present after {_DELETE_WAIT_S:.0f} s: {', '.join(left)}")

    def console_line_safe(self, text: str) -> None:
        self.on_log(text)  # the run's log files are closed by now


def _api_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message", exc.reason))[:300]
    except (ValueError, TypeError, AttributeError):
        return str(getattr(exc, "reason", exc))[:300]


def _container_state(pod: Any) -> Any:
    for status in pod.status.container_statuses or []:
        if status.name == "k6":
            return status.state
    return None


def _pod_failure(pod: Any) -> str | None:
    """The kubelet's or scheduler's reason a pod cannot run, when waiting will not help."""
    state = _container_state(pod)
    if state is not None and state.waiting is not None and state.waiting.reason in _FATAL_WAITING:
        return f"{state.waiting.reason}: {(state.waiting.message or '').strip()[:200]}"
    for cond in pod.status.conditions or []:
        if cond.type == "PodScheduled" and cond.status == "False" and cond.reason == "Unschedulable":
            return f"unschedulable: {(cond.message or '').strip()[:200]}"
    return None


# ---- deleting, here and in `novaload cleanup --force` -----------------------------------------


def delete_run_objects(cluster: Cluster, name: str | None, *, wait_s: float = 0.0) -> list[str]:
    """Delete the TestRun, Jobs, pods, Secrets and ConfigMaps of run ``name`` (every run's
    when None); with ``wait_s``, wait until they are gone. Returns what is still there."""
    from kubernetes.client.exceptions import ApiException

    ns = cluster.namespace
    selector = objects.run_selector(name)
    core, batch = cluster.core, cluster.batch

    def attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except ApiException as exc:
            if exc.status != 404:
                raise RunnerError(f"cannot delete novaload objects in {ns}: {_api_message(exc)}") from None

    testrun_api = (objects.TESTRUN_GROUP, objects.TESTRUN_VERSION, ns, objects.TESTRUN_PLURAL)
    if operator_installed(cluster):
        found = cluster.custom.list_namespaced_custom_object(*testrun_api, label_selector=selector)
        for item in found.get("items", []):
            attempt(
                cluster.custom.delete_namespaced_custom_object,
                *testrun_api,
                item["metadata"]["name"],
                propagation_policy="Background",
            )
    for job in batch.list_namespaced_job(ns, label_selector=selector).items:
        attempt(
            batch.delete_namespaced_job,
            job.metadata.name,
            ns,
            propagation_policy="Background",
            grace_period_seconds=0,
        )
    runner_pods = f"k6_cr={name},runner=true" if name else None
    for sel in filter(None, (selector, runner_pods)):
        for pod in core.list_namespaced_pod(ns, label_selector=sel).items:
            attempt(core.delete_namespaced_pod, pod.metadata.name, ns, grace_period_seconds=0)
    for secret in core.list_namespaced_secret(ns, label_selector=selector).items:
        attempt(core.delete_namespaced_secret, secret.metadata.name, ns)
    for cm in core.list_namespaced_config_map(ns, label_selector=selector).items:
        attempt(core.delete_namespaced_config_map, cm.metadata.name, ns, propagation_policy="Background")
    deadline = time.monotonic() + wait_s
    while True:
        left = remaining_objects(cluster, name)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def remaining_objects(cluster: Cluster, name: str | None) -> list[str]:
    """``kind/name`` of every object of run ``name`` (or of any run) still in the namespace."""
    ns = cluster.namespace
    selector = objects.run_selector(name)
    core, batch = cluster.core, cluster.batch
    found = [f"job/{j.metadata.name}" for j in batch.list_namespaced_job(ns, label_selector=selector).items]
    found += [f"pod/{p.metadata.name}" for p in core.list_namespaced_pod(ns, label_selector=selector).items]
    if name:
        found += [
            f"pod/{p.metadata.name}"
            for p in core.list_namespaced_pod(ns, label_selector=f"k6_cr={name},runner=true").items
            if f"pod/{p.metadata.name}" not in found
        ]
    found += [
        f"secret/{s.metadata.name}" for s in core.list_namespaced_secret(ns, label_selector=selector).items
    ]
    found += [
        f"configmap/{c.metadata.name}"
        for c in core.list_namespaced_config_map(ns, label_selector=selector).items
    ]
    if operator_installed(cluster):
        found += [
            f"testrun/{t['metadata']['name']}"
            for t in cluster.custom.list_namespaced_custom_object(
                objects.TESTRUN_GROUP,
                objects.TESTRUN_VERSION,
                ns,
                objects.TESTRUN_PLURAL,
                label_selector=selector,
            ).get("items", [])
        ]
    return found


def remove_leftovers(options: K8sOptions | None = None) -> int:
    """``novaload cleanup --force``: delete what any novaload run left in the namespace."""
    cluster = connect(options or K8sOptions())
    before = remaining_objects(cluster, None)
    delete_run_objects(cluster, None, wait_s=30.0)
    return len(before)


__all__ = [
    "RUNNERS_FILE",
    "Cluster",
    "K8sRunner",
    "choose_mode",
    "configmap_key",
    "connect",
    "delete_run_objects",
    "needs_archive",
    "operator_installed",
    "remaining_objects",
    "remove_leftovers",
    "script_payload",
]
