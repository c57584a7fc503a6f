"""The Kubernetes runner: one k6 per execution segment in a cluster (``--runner k8s``).

Owns a distributed run's life in the cluster: choosing the mode (k6-operator ``TestRun``
when the CRD is installed, else plain Jobs, or as asked), creating the objects of
:mod:`k8s_objects`, releasing the paused runners together through k6's REST API (Jobs
mode; the operator starts its own), logs and live progress through the API server,
interrupt handling, copying every runner's results into the run folder, and deleting
everything it created whatever happens. In Jobs mode a split run's setup() and teardown()
run once for all runners (:mod:`setup_once`), through the same pod proxy; under k6-operator,
whose starter releases the runners as soon as they are ready, every runner runs its own. The connection, the pod proxy and deleting by
label are :mod:`k8s_cluster`'s. The pod log is k6's log (stderr), streamed live; k6's
stdout (its end-of-test summary) is copied with the results and returned in
``K6Execution.stdout``, as by the local and Docker runners.

The run's exit code is the merged verdict: a runner that exits 99 only judged *its slice*
of the thresholds, so 99 is re-judged over all runners' samples by the pipeline (when every
runner's results arrived); any other failure passes through.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from novaload.errors import ExitCode, InputError, RunnerError, UsageError
from novaload.redact import Redactor, safe_url
from novaload.runfolder import K6_LOG, K8S_RUNNERS_JSON, instance_file
from novaload.runners import k8s_objects as objects
from novaload.runners import setup_once
from novaload.runners.base import (
    SETUP_ONCE,
    SETUP_PER_RUNNER,
    ExecutionPlan,
    K6Execution,
    K8sOptions,
    ProgressCallback,
    SetupTeardown,
    joined_stdout,
)
from novaload.runners.console import InstanceConsole, LogCallback, print_line
from novaload.runners.k6api import combine
from novaload.runners.k8s_cluster import (
    Cluster,
    api_message,
    choose_mode,
    connect,
    delete_run_objects,
    operator_installed,
    proxy_errors,
    remaining_objects,
    remove_leftovers,
)
from novaload.runners.k8s_stream import QUIET_S, ResultsStream, StreamState, copy_file
from novaload.runners.ports import free_ports
from novaload.runners.signals import signals_to

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
# The wrapper's SIGINT to k6 (k8s_image.WRAPPER): ends the coordinator's --linger.
_INTERRUPT_PATH = "cgi-bin/interrupt"


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


def runner_note(index: int, count: int, code: int | None, pod: str | None, failure: str | None = None) -> str:
    if code is None:
        verdict = (
            f"its exit code is unknown ({failure or 'its pod was lost'}): exit {ExitCode.K6_EXIT_UNKNOWN}"
        )
    else:
        verdict = _K8S_MEANINGS.get(code, f"exit code {code}")
        if failure and code not in _K8S_MEANINGS:
            verdict += f" ({failure})"
    return f"runner {index + 1}/{count} ({pod or 'no pod'}): {verdict}"


def terminated_exit_code(terminated: Any) -> int:
    """k6's exit code from its container's terminated state, as a shell reports a process:
    OOMKilled is SIGKILL (137, whatever code the kubelet gives it), a container ended by
    signal N is 128+N, else the container's exit code."""
    if (terminated.reason or "") == "OOMKilled":
        return 128 + 9
    if terminated.signal:
        return 128 + int(terminated.signal)
    return int(terminated.exit_code)


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
    collected: bool = False  # all its results are in the run folder (its stream completed)
    lost: bool = False  # its pod disappeared before an exit code was known
    terminated: bool = False  # its container (the wrapper and its results server) has exited
    stream: ResultsStream | None = None
    results: StreamState | None = None
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
        switches = self._setup_once(plan, mode)
        image, pull_policy = _runner_image(plan)
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        run = _Run(self, plan, cluster, mode, payload, image, pull_policy, options, progress, switches)
        return run.execute()

    def _setup_once(self, plan: ExecutionPlan, mode: str) -> setup_once.Switches | None:
        """The user's setup()/teardown() switches when they run once for all runners, else
        None. k6-operator's starter releases its runners as soon as they are ready, so nobody
        can hand them setup()'s data first: there every runner runs its own."""
        if not setup_once.wanted(plan):
            return None
        if mode == "operator":
            if plan.setup == SETUP_ONCE:
                raise UsageError(
                    "--setup once needs --k8s-mode jobs: k6-operator starts the runners itself, "
                    "before setup()'s data could be handed to them",
                    hint="add --k8s-mode jobs, or --setup per-runner",
                )
            self.on_log(
                "k8s: k6-operator starts the runners itself: setup() and teardown() run in every "
                "runner (--k8s-mode jobs runs them once)"
            )
            return None
        return setup_once.switches_for(plan)


def declared_host_ports(cluster: Cluster) -> set[int]:
    """The host ports that pods not yet ended claim. The scheduler refuses a pod asking for
    one of them on the same node ("didn't have free ports"), and a port is claimed from the
    moment its pod is bound, while the OS still calls it free until the pod's process
    listens on it: another run's paused runners, say. Cluster-wide when allowed, else this
    namespace's pods; nothing when pods cannot be listed (a clash is then reported)."""
    from kubernetes.client.exceptions import ApiException

    running = "status.phase!=Succeeded,status.phase!=Failed"
    try:
        pods = cluster.core.list_pod_for_all_namespaces(field_selector=running).items
    except ApiException:
        try:
            pods = cluster.core.list_namespaced_pod(cluster.namespace, field_selector=running).items
        except ApiException:
            return set()
    ports: set[int] = set()
    for pod in pods:
        spec = pod.spec
        for container in [*(spec.init_containers or []), *(spec.containers or [])]:
            for p in container.ports or []:
                # With hostNetwork the API server sets hostPort to containerPort.
                port = p.host_port or (p.container_port if spec.host_network else None)
                if port:
                    ports.add(int(port))
    return ports


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
        switches: setup_once.Switches | None = None,
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
        self.count = max(1, plan.parallelism)
        self.redactor = Redactor(plan.secrets)
        self.errors = proxy_errors()
        self.interrupts = _Interrupts()
        ports = self._ports()
        self.runners = [_Runner(i, self.count, f"{self.name}-{i + 1}", ports[i]) for i in range(self.count)]
        self.released = False
        self.stopping = False
        self.killed = False
        self.stage: str | None = None
        self.notes: list[str] = []
        self._stop_progress = threading.Event()
        self.coordination = (
            setup_once.Coordination(
                [_PodApi(self, r) for r in self.runners], switches, self._line, self.redactor
            )
            if switches is not None
            else None
        )

    def _line(self, text: str) -> None:
        self.console.line(self.redactor(text))

    def _ports(self) -> list[objects.RunnerPorts]:
        # With hostNetwork every runner shares the node's ports: pick ones free on this
        # machine (the node, on a local cluster) that no other pod claims (a concurrent
        # run's paused runners are not listening yet). Elsewhere a clash fails that pod,
        # which is reported.
        if not self.options.host_network:
            return [objects.RunnerPorts()] * self.count
        found = free_ports(2 * self.count, taken=declared_host_ports(self.cluster))
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
                self._finish_streams()
                self._collect_all()
                self._release_all()
                for r in self.runners:
                    if r.log_thread is not None:
                        r.log_thread.join(timeout=10)
        finally:
            for r in self.runners:  # nothing writes into the run folder once run() returns
                if r.stream is not None:
                    r.stream.stop()
            self._delete_all()
        if failure is not None and not any(r.collected for r in self.runners):
            raise failure
        return self._execution(started_at, log_path)

    def _execution(self, started_at: datetime, log_path: Path) -> K6Execution:
        # In the order they ended: a runner lost first is the cause, the others' 103 (stopped
        # because of it) followed; one that never ended (exited_at 0) comes last.
        order = sorted(self.runners, key=lambda r: (r.exited_at == 0, r.exited_at))
        # A runner whose end is unknown (its pod deleted or evicted first) is never a made-up 1.
        codes = [r.exit_code if r.exit_code is not None else ExitCode.K6_EXIT_UNKNOWN for r in order]
        all_results = all(r.collected for r in self.runners)
        for r in self.runners:
            self.notes.append(runner_note(r.index, r.count, r.exit_code, r.pod, r.failure))
            if not r.collected and not self.killed:
                self.notes.append(self._results_note(r))
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
            image=self.image,
            notes=self.notes,
            stdout=joined_stdout([r.stdout for r in self.runners]),
            setup_teardown=(
                self.coordination.report(self.runners[self.coordination.index].exit_code)
                if self.coordination is not None
                else SetupTeardown(mode=SETUP_PER_RUNNER)
                if self.count > 1
                else None
            ),
        )

    def _results_note(self, r: _Runner) -> str:
        """Why a runner's results are not all in the report (what it sent is)."""
        where = self._local(r, self.plan.results_name).name
        head = f"runner {r.index + 1}/{self.count}"
        if r.results is None or not r.results.received:
            return f"{head}: none of its results arrived: the merged figures miss its segment"
        return (
            f"{head}: its results stream ended early ({r.results.broke}) after "
            f"{r.results.received / 1e6:.1f} MB: the report holds what it sent (kept in {where}), "
            "not the rest of its segment"
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
                    "results": r.results.record() if r.results is not None else None,
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
                        k6_args=(
                            *self.plan.k6_args,
                            *(setup_once.instance_args(r.index, self.count) if self.coordination else ()),
                        ),
                        payload=self.payload,
                        ports=r.ports,
                        host_network=self.options.host_network,
                        deadline_s=self._deadline_s(),
                        hold_s=_HOLD_S,
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
                )
                body["metadata"]["ownerReferences"] = owner
                self.cluster.custom.create_namespaced_custom_object(
                    objects.TESTRUN_GROUP, objects.TESTRUN_VERSION, ns, objects.TESTRUN_PLURAL, body
                )
        except ApiException as exc:
            raise RunnerError(f"the API server refused a runner object: {api_message(exc)}") from None

    def _deadline_s(self) -> int:
        planned = self.plan.planned_duration_s or 3600.0
        return int(planned + self.options.ready_timeout_s + _HOLD_S + 120)

    # -- supervising --

    def _supervise(self) -> None:
        deadline_ready = time.monotonic() + self.options.ready_timeout_s
        while not all(r.exit_code is not None or r.lost for r in self.runners):
            time.sleep(_POLL_S)
            self._handle_interrupts()
            self._refresh_pods()
            if self.mode == "operator":
                self._refresh_stage()
                self._start_streams_of_ready_runners()
            failed = [r for r in self.runners if r.failure]
            if failed and not self.released:
                raise RunnerError(
                    "; ".join(f"runner {r.index + 1}/{self.count}: {r.failure}" for r in failed)
                )
            self._refresh_exit_codes()
            if not self.released:
                if self.interrupts.count:
                    raise KeyboardInterrupt  # nothing ran: cleaned up, exit 130
                early = [r for r in self.runners if r.exit_code is not None or r.lost]
                if early:
                    # e.g. a script error in init: the others would run with a segment missing.
                    r = early[0]
                    how = "was lost" if r.lost else f"exited (exit code {r.exit_code})"
                    self.console.line(
                        f"runner {r.index + 1}/{self.count} {how} before the start: stopping the others"
                    )
                    self.released = True
                    self._stop_all()
                elif (self.coordination is not None and self.coordination.setup_started) or self._all_ready():
                    self._start()
                elif time.monotonic() > deadline_ready:
                    raise RunnerError(self._not_ready_reason())
                continue
            self._stop_others_on_failure()
            self._advance()

    def _handle_interrupts(self) -> None:
        if self.interrupts.count <= self.interrupts.handled:
            return
        self.interrupts.handled = self.interrupts.count
        if self.interrupts.count == 1:
            self.console.line("interrupt: asking every runner to stop gracefully (Ctrl-C again to kill them)")
            self._stop_all(for_interrupt=True)
        else:
            self.console.line("second interrupt: deleting the runner pods")
            self.killed = True
            if self.coordination is not None:
                self.coordination.abandon()
            for r in self.runners:
                if r.exit_code is None:
                    r.exit_code = 105
                    r.exited_at = time.monotonic()
                if r.pod:
                    self._delete_pod(r.pod)

    def _stop_all(self, *, for_interrupt: bool = False) -> None:
        """k6's graceful stop through its REST API, as k6-operator's stopper does. The
        coordinator of setup() and teardown() is the coordination's to stop (it lingers for
        teardown()); before the release it gets a SIGINT, since nothing follows its setup()."""
        self.stopping = True
        spared = None
        if self.coordination is not None:
            spared = self.runners[self.coordination.index]
            if not self.coordination.stop(for_interrupt=for_interrupt):
                self._interrupt(spared)
        body = {"data": {"type": "status", "id": "default", "attributes": {"stopped": True}}}
        for r in self.runners:
            if r.exit_code is None and r.pod and r is not spared:
                try:
                    self.cluster.proxy("PATCH", r.pod, self._api_port(r), "v1/status", body).release_conn()
                except self.errors:
                    pass  # not up or already ended: its exit code tells

    def _stop_others_on_failure(self) -> None:
        if self.stopping:
            return
        broken = [
            r
            for r in self.runners
            if r.lost or r.exit_code not in (None, ExitCode.OK, ExitCode.THRESHOLDS_FAILED)
        ]
        if broken and any(r.exit_code is None and not r.lost for r in self.runners):
            r = broken[0]
            how = "was lost" if r.lost else f"failed (exit code {r.exit_code})"
            self.console.line(
                f"runner {r.index + 1}/{self.count} {how}: stopping the others, "
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
            self.console.line(f"k8s: cannot list runner pods: {api_message(exc)}")
            return
        listed = set()
        for pod in pods:
            r = self._runner_for(pod)
            if r is None:
                continue
            if r.pod is not None and r.pod != pod.metadata.name:
                # The Job replaced a runner pod that was deleted: a second k6 for its
                # segment, paused and never released (its Job is stopped below).
                continue
            listed.add(r.index)
            r.pod = pod.metadata.name
            r.node = pod.spec.node_name
            r.failure = _pod_failure(pod)
            state = _container_state(pod)
            if pod.status.phase in ("Running", "Succeeded", "Failed"):
                self._follow_logs(r)
            if state is not None and state.terminated is not None:
                r.terminated = True
            if state is not None and state.terminated is not None and r.exit_code is None:
                # The wrapper exited without novaload collecting (deadline, OOM kill, crash).
                r.exit_code = terminated_exit_code(state.terminated)
                r.exited_at = time.monotonic()
                r.failure = (
                    r.failure
                    or self._job_failure(r)
                    or f"container terminated: {state.terminated.reason or 'exit'}"
                )
            elif pod.status.phase in ("Failed", "Succeeded") and r.exit_code is None and not r.lost:
                # Ended without a container status to read (evicted, its node lost): k6's
                # exit code is gone with it.
                r.lost = True
                r.exited_at = time.monotonic()
                reason = ": ".join(
                    x for x in (pod.status.reason, (pod.status.message or "").strip()[:160]) if x
                )
                r.failure = (
                    r.failure
                    or self._job_failure(r)
                    or f"its pod ended without a container status ({reason or pod.status.phase})"
                )
                self.console.line(
                    f"{r.prefix}k8s: runner {r.index + 1}/{self.count}'s pod {r.pod} ended: {r.failure}"
                )
        for r in self.runners:
            if r.pod is not None and r.index not in listed and r.exit_code is None and not r.lost:
                # Deleted (by someone, an eviction, the Job's activeDeadlineSeconds) before
                # its exit code was read: what its stream sent is kept.
                r.lost = True
                r.exited_at = time.monotonic()
                r.failure = r.failure or self._job_failure(r) or "its pod was deleted"
                self.console.line(
                    f"{r.prefix}k8s: runner {r.index + 1}/{self.count}'s pod {r.pod} is gone: {r.failure}"
                )
                self._stop_job(r)

    def _stop_job(self, r: _Runner) -> None:
        """No more pods for a lost runner's Job: a Job replaces a deleted pod (backoffLimit
        counts failures, not deletions), and a second k6 must not run its segment again."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.cluster.batch.patch_namespaced_job(
                r.job, self.cluster.namespace, {"spec": {"parallelism": 0}}
            )
        except ApiException:
            pass  # already gone (deadline, operator): deleted with the run anyway

    def _job_failure(self, r: _Runner) -> str | None:
        """Why the runner's Job failed, as its conditions say (e.g. DeadlineExceeded)."""
        from kubernetes.client.exceptions import ApiException

        try:
            job = self.cluster.batch.read_namespaced_job(r.job, self.cluster.namespace)
        except ApiException:
            return None
        for cond in job.status.conditions or []:
            if cond.type == "Failed" and cond.status == "True":
                return f"its Job failed: {cond.reason or '?'}: {(cond.message or '').strip()[:160]}"
        return None

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
                self._start_stream(r)
            except self.errors as exc:
                r.probe += f" ({str(exc).strip().splitlines()[0][:80]})"
                ready = False
        return ready

    def _start(self) -> None:
        """Every runner is ready: release them, after setup() once when it is coordinated;
        a setup() that fails releases nobody."""
        if self.coordination is not None:
            try:
                step = self.coordination.before_release()
            except setup_once.CoordinationError as exc:
                raise RunnerError(str(exc)) from None
            if step == setup_once.WAIT:
                return
            if step == setup_once.FAILED:
                self.released = True  # nobody was: done with releasing
                self._stop_all()
                return
        self._release()

    def _advance(self) -> None:
        """After the release: teardown() once the others are done, then the coordinator's end."""
        if self.coordination is None or self.killed:
            return
        coordinator = self.runners[self.coordination.index]
        others_exited = all(r.exit_code is not None or r.lost for r in self.runners if r is not coordinator)
        action = self.coordination.after_release(others_exited, coordinator.exit_code is not None)
        if action == setup_once.STOP_OTHERS:
            self.console.line(
                f"{self.coordination.label} stopped its test (test.abort()?): stopping the others gracefully"
            )
            self._stop_all()
        elif action == setup_once.END:
            self._interrupt(coordinator)

    def _interrupt(self, r: _Runner) -> None:
        """SIGINT to a runner's k6 (its wrapper's cgi-bin/interrupt): a Ctrl-C, which also
        ends a --linger; a failed request is sent again by the caller's next turn."""
        if r.pod is None or r.exit_code is not None:
            return
        try:
            self.cluster.proxy("GET", r.pod, self._collect_port(r), _INTERRUPT_PATH).release_conn()
        except self.errors:
            pass

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
        """What a runner leaves once k6 has exited: its summaries and stdout (and its
        results, from an image that does not stream them)."""
        for r in self.runners:
            if r.pod is None or self.killed or r.exit_code is None:
                continue
            try:
                if r.stream is None or r.stream.unsupported:
                    r.results = copy_file(
                        self.cluster,
                        r.pod,
                        self._collect_port(r),
                        objects.STREAM_FILE,
                        self._local(r, self.plan.results_name),
                    )
                self._download(r, objects.SUMMARY_EXPORT_FILE, self.plan.summary_export_name)
                self._download(r, objects.SUMMARY_FILE, self.plan.summary_name)
            except self.errors as exc:
                self.console.line(
                    f"{r.prefix}results of runner {r.index + 1}/{self.count} could not be copied: {str(exc)[:160]}"
                )
            r.collected = r.results is not None and r.results.complete
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

    def _download(self, r: _Runner, remote: str, local_name: str) -> None:
        """A small file of the runner's results folder (a summary), if it wrote one."""
        from kubernetes.client.exceptions import ApiException

        assert r.pod is not None
        target = self._local(r, local_name)
        try:
            resp = self.cluster.proxy("GET", r.pod, self._collect_port(r), remote, timeout=(10, 120))
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        # A file appears whole, by a rename: a reader never sees half of it.
        tmp = target.with_name(target.name + ".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in resp.stream(1 << 20):
                    out.write(chunk)
        finally:
            resp.release_conn()
        tmp.replace(target)

    def _start_stream(self, r: _Runner) -> None:
        """Read the runner's results as k6 writes them (before the release: k6 waits on a
        full pipe, so nothing is lost by starting early or late)."""
        if r.stream is None and r.pod is not None:
            label = f"runner {r.index + 1}/{self.count}"
            target = self._local(r, self.plan.results_name)
            r.stream = ResultsStream(
                self.cluster, r.pod, self._collect_port(r), target, self.console.line, label
            )
            r.stream.start()

    def _start_streams_of_ready_runners(self) -> None:
        """Operator mode: the operator's starter releases the runners, so each stream
        starts once its runner's results server answers."""
        for r in self.runners:
            if r.stream is not None or r.pod is None or r.lost:
                continue
            try:
                self.cluster.proxy("GET", r.pod, self._collect_port(r), objects.READY_FILE).release_conn()
            except self.errors:
                continue
            self._start_stream(r)

    def _finish_streams(self) -> None:
        """Every runner's stream to its end (k6 closed it when it exited); a runner killed
        or lost is not waited for."""
        for r in self.runners:
            gone = self.killed or r.lost or r.terminated  # nothing more will come
            if r.stream is None and r.exit_code is not None and not gone:
                self._start_stream(r)  # it ended before its stream started: what it wrote waits
            if r.stream is None:
                continue
            r.results = r.stream.finish(quiet_s=1.0 if gone else QUIET_S)
            if r.stream.unsupported:
                r.results = None

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


def _is_k6_error(body: bytes) -> bool:
    """k6's REST API answers errors as ``{"errors": [...]}``; the API server as a Status."""
    try:
        return isinstance(json.loads(body).get("errors"), list)
    except (ValueError, AttributeError):
        return False


class _PodApi:
    """A runner's k6 REST API through the API server's pod proxy (setup_once.K6Api)."""

    def __init__(self, run: _Run, runner: _Runner) -> None:
        self.run = run
        self.runner = runner

    def call(
        self, method: str, path: str, body: bytes | None = None, timeout: float | None = 2.0
    ) -> tuple[int, bytes]:
        from kubernetes.client.exceptions import ApiException

        pod = self.runner.pod
        if pod is None:
            raise OSError(f"runner {self.runner.index + 1}/{self.runner.count} has no pod")
        try:
            resp = self.run.cluster.proxy(
                method, pod, self.run._api_port(self.runner), path, body, timeout=(10, timeout)
            )
        except ApiException as exc:
            if exc.status and isinstance(exc.body, bytes) and _is_k6_error(exc.body):
                return int(exc.status), exc.body  # k6's own answer (setup() failed), not the proxy's
            raise
        try:
            return int(resp.status), resp.data
        finally:
            resp.release_conn()


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
    "terminated_exit_code",
]
