"""The Docker runner: k6 in containers, one per execution segment (``--runner docker``).

Owns the containers of a run from creation to removal: mounts (script folder
read-only, run folder read-write, both at their host paths), per-instance k6
arguments and outputs, live logs (redacted) and live progress from each
instance's REST API, k6's stdout (its end-of-test summary) kept for the caller
as the local runner keeps it, interrupt forwarding (first Ctrl-C/SIGTERM = graceful
SIGINT to every k6, second = kill) and removal of every container whatever
happens.

Containers cannot die with novaload by themselves, so each carries its owner (PID,
start time, boot id: :class:`novaload.lifetime.Owner`) as labels, and two things
remove them when novaload is killed (even by SIGKILL): a watchdog process
(``novaload.runners.watchdog``) started for the run, which outlives novaload only
to remove its containers, and the reaper, which every novaload command
runs and which removes containers whose owner is gone. :func:`remove_leftovers`
(``cleanup --force``) removes them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from novaload.errors import ExitCode, RunnerError
from novaload.lifetime import Owner
from novaload.redact import Redactor
from novaload.runfolder import K6_LOG, create_new_file, instance_file
from novaload.runners import setup_once
from novaload.runners.base import (
    SETUP_PER_RUNNER,
    ExecutionPlan,
    K6Execution,
    ProgressCallback,
    SetupTeardown,
    joined_stdout,
)
from novaload.runners.console import InstanceConsole, LogCallback, print_line
from novaload.runners.health import ContainerProbe, sampling
from novaload.runners.image import (
    BUILD_HINT,
    DEFAULT_IMAGE,
    DEFAULT_LOCAL_IMAGE,
    build_k6_image,
    docker_client,
)
from novaload.runners.k6api import K6ApiPoller
from novaload.runners.labels import (
    INSTANCE_LABEL,
    MANAGED_LABEL,
    OWNER_BOOT_LABEL,
    OWNER_PID_LABEL,
    OWNER_START_LABEL,
    RUN_ID_LABEL,
    owner_labels,
    owner_of,
)
from novaload.runners.ports import free_port
from novaload.runners.segments import segment_args
from novaload.runners.signals import signals_to
from novaload.runners.watchdog import start_watchdog

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

_API_PORT_IN_CONTAINER = 6565  # only on a named network, where ports are published
_API_TIMEOUT_S = 1.0


# ---- pure helpers (unit-tested without Docker) -------------------------------------------


def container_name(run_id: str, index: int, count: int) -> str:
    safe = re.sub(r"[^a-zA-Z0-9_.-]", "-", run_id)
    return f"novaload-{safe}-{index + 1}of{count}"


@dataclass(frozen=True, slots=True)
class InstanceFiles:
    """Where instance ``index`` of ``count`` writes (host paths = container paths)."""

    results: Path
    summary: Path  # handleSummary's file, via NOVALOAD_K6_SUMMARY
    summary_export: Path
    log: Path

    @classmethod
    def for_instance(cls, plan: ExecutionPlan, index: int, count: int) -> InstanceFiles:
        run_dir = plan.run_dir.resolve()
        return cls(
            results=run_dir / instance_file(plan.results_name, index, count),
            summary=run_dir / instance_file(plan.summary_name, index, count),
            summary_export=run_dir / instance_file(plan.summary_export_name, index, count),
            log=run_dir / instance_file(K6_LOG, index, count),
        )


def k6_command(
    plan: ExecutionPlan, files: InstanceFiles, index: int, count: int, api_address: str
) -> list[str]:
    """Arguments after the image's ``k6`` entrypoint for one instance."""
    return [
        "run",
        str(plan.script.resolve()),
        *plan.k6_args,
        "--out",
        f"json={files.results}",
        "--summary-export",
        str(files.summary_export),
        "--address",
        api_address,
        "--quiet",  # no progress bar in the log stream: progress comes from the REST API
        # A split run starts paused and is released once every instance is ready,
        # as the k6-operator does, so segments do not start container-start-time apart.
        *(["--paused"] if count > 1 else []),
        *segment_args(index, count),
        *(setup_once.instance_args(index, count) if setup_once.wanted(plan) else []),
    ]


def volume_binds(plan: ExecutionPlan) -> dict[str, dict[str, str]]:
    """Script folder (and the folders it imports from, ``plan.source_dirs``) read-only, run
    folder (and k6's working directory) read-write, each at its host path.

    Same paths inside and out, so every path in k6's arguments and output means
    the same file on both sides. Docker mounts nested paths parent-first, so a run
    folder inside the script folder (or the reverse) keeps its own mode.
    """
    run_dir = str(plan.run_dir.resolve())
    binds = {run_dir: {"bind": run_dir, "mode": "rw"}}
    for folder in (plan.script.resolve().parent, *plan.source_dirs):
        source = str(folder.resolve())
        if source != run_dir:
            binds[source] = {"bind": source, "mode": "ro"}
    if plan.working_dir is not None:
        # k6 works in the user's directory, as `k6 run` does: handleSummary writes there.
        work = str(plan.working_dir.resolve())
        binds[work] = {"bind": work, "mode": "rw"}
    return binds


def instance_env(plan: ExecutionPlan, files: InstanceFiles, index: int = 0, count: int = 1) -> dict[str, str]:
    env = {"K6_NO_USAGE_REPORT": "true", "HOME": "/tmp"}  # no phone-home; HOME writable as any uid
    env.update(plan.env)
    env["NOVALOAD_K6_SUMMARY"] = str(files.summary)
    if plan.dashboard is not None:
        # Off the host network k6 listens on every interface of its container (the
        # container's loopback is not what Docker publishes); the host side is the one asked.
        inside = None if plan.network is None else "0.0.0.0"
        env.update(plan.dashboard.env(plan.run_dir, index, count, listen_host=inside))
    return env


def published_ports(plan: ExecutionPlan, index: int, api_port: int) -> dict[str, object] | None:
    """A named network's published ports for instance ``index``: k6's REST API on host
    loopback, the dashboard (``--dashboard``) on the host address asked for, at the same
    port number inside and out. None on the host network (nothing to publish)."""
    if plan.network is None:
        return None
    ports: dict[str, object] = {f"{_API_PORT_IN_CONTAINER}/tcp": ("127.0.0.1", api_port)}
    if plan.dashboard is not None:
        port = plan.dashboard.port_of(index)
        host = plan.dashboard.host
        ports[f"{port}/tcp"] = (host, port) if host else port  # "": every interface
    return ports


# ---- the runner ------------------------------------------------------------------------


@dataclass(slots=True)
class _Instance:
    index: int
    files: InstanceFiles
    api_url: str
    container: Container
    exit_code: int | None = None
    exited_at: float = 0.0  # monotonic; orders failures by when they happened
    own_log: IO[str] | None = None  # k6-<i>of<n>.log (a split run's instances only)
    stdout: list[str] = field(default_factory=list)  # k6's stdout lines, redacted
    log_threads: list[threading.Thread] = field(default_factory=list)
    wait_thread: threading.Thread | None = None


@dataclass(slots=True)
class _Interrupts:
    """Signals seen during a run; the handler only counts, the main loop acts."""

    count: int = 0
    handled: int = 0
    wake: threading.Event = field(default_factory=threading.Event)

    def hit(self, *_: object) -> None:
        self.count += 1
        self.wake.set()


class DockerRunner:
    """Runs k6 in ``plan.parallelism`` containers and supervises them to the end.

    Every k6 output line goes to ``k6.log`` (all instances, prefixed ``[i/n]`` for a
    split run) and ``k6-<i>of<n>.log`` (one instance), secrets redacted. k6's log
    (stderr) goes to ``on_log`` (default: stdout) as it comes, with the same prefix; its
    stdout (the end-of-test summary) is returned in ``K6Execution.stdout``, as by the
    local runner.
    """

    name = "docker"

    def __init__(
        self,
        on_log: LogCallback | None = None,
        *,
        poll_interval_s: float = 1.0,
        client_factory: Callable[[], docker.DockerClient] = docker_client,
    ) -> None:
        self.on_log = on_log or print_line
        self._poll_interval_s = poll_interval_s
        self._client_factory = client_factory

    def check(self, image: str | None = None) -> None:
        """Engine reachable and ``image``, if asked for, usable, before anything starts.

        The default image is found, pulled or built when the run starts (it needs the run's k6).
        """
        client = self._client_factory()
        if image is not None:
            resolve_image(client, image)

    def run(self, plan: ExecutionPlan, progress: ProgressCallback | None = None) -> K6Execution:
        client = self._client_factory()
        k6_binary = Path(shutil.which(plan.k6_binary) or plan.k6_binary)
        image = resolve_image(client, plan.image, build_from=k6_binary, on_log=self.on_log)
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        count = max(1, plan.parallelism)
        instances: list[_Instance] = []
        interrupts = _Interrupts()
        log_path = plan.run_dir.resolve() / K6_LOG
        switches = setup_once.switches_for(plan, str(k6_binary)) if setup_once.wanted(plan) else None
        coordination: setup_once.Coordination | None = None
        started_at = datetime.now(UTC)
        watchdog = start_watchdog(plan.run_id)
        try:
            with (
                create_new_file(log_path) as combined,
                contextlib.ExitStack() as own_logs,
                signals_to(interrupts.hit),
            ):
                console = InstanceConsole(self.on_log, combined)
                redactor = Redactor(plan.secrets)
                for index in range(count):  # create all, then start all back to back
                    instances.append(_create(client, image, plan, index, count))
                if switches is not None:
                    coordination = setup_once.Coordination(
                        [setup_once.HttpK6Api(inst.api_url) for inst in instances],
                        switches,
                        lambda text: console.line(redactor(text)),
                        redactor,
                    )
                _start_all(instances, redactor, console, interrupts, own_logs)
                poller = (
                    K6ApiPoller(
                        [inst.api_url for inst in instances], progress, started_at, self._poll_interval_s
                    )
                    if progress
                    else None
                )
                if poller:
                    poller.start()
                probes = [ContainerProbe(inst.container, inst.index + 1) for inst in instances]
                try:
                    with sampling(probes, plan.run_dir):
                        killed = _supervise(instances, interrupts, console, coordination)
                finally:
                    if poller:
                        poller.stop()
                for thread in [t for inst in instances for t in inst.log_threads]:
                    thread.join(timeout=10)
        finally:
            try:
                _remove_all(instances)
            finally:
                watchdog.release()
        # In exit order: the instance that failed first is the cause, the others followed.
        codes = [
            inst.exit_code if inst.exit_code is not None else ExitCode.K6_EXIT_UNKNOWN
            for inst in sorted(instances, key=lambda i: i.exited_at)
        ]
        return K6Execution(
            exit_codes=tuple(codes),
            started_at=started_at,
            ended_at=datetime.now(UTC),
            results_files=[inst.files.results for inst in instances],
            summary_files=[
                p
                for inst in instances
                for p in (inst.files.summary, inst.files.summary_export)
                if p.is_file()
            ],
            log_file=log_path,
            interrupted=interrupts.count > 0,
            killed=killed,
            instances=count,
            # Every instance's results land in the run folder, so a split run's thresholds are
            # judged again over the merged samples (as on Kubernetes): one slice's 99 is no verdict.
            thresholds_rejudged=count > 1 and all(inst.files.results.exists() for inst in instances),
            stdout=joined_stdout([inst.stdout for inst in instances]),
            setup_teardown=(
                coordination.report(instances[coordination.index].exit_code)
                if coordination is not None
                else SetupTeardown(mode=SETUP_PER_RUNNER)
                if count > 1
                else None
            ),
            image=image,
        )


def _supervise(
    instances: list[_Instance],
    interrupts: _Interrupts,
    console: InstanceConsole,
    coordination: setup_once.Coordination | None = None,
) -> bool:
    """Wait for every container to exit, forwarding interrupts; True if k6 was killed.

    Signals are only counted by the handler and acted on here, so no Docker API
    call ever runs inside a signal handler (it could interrupt another one). With
    ``coordination`` (``--setup once``) the coordinator is stopped through k6's REST API
    instead of a signal, so that teardown() still runs once the others are done.
    """
    killed = False
    stopped_for_failure = False
    released = len(instances) == 1  # one instance is not started paused
    while any(inst.exit_code is None for inst in instances):
        interrupts.wake.wait(timeout=0.1 if not released else 0.25)
        interrupts.wake.clear()
        if not released and interrupts.count == 0:
            outcome = _release_when_ready(instances, console, coordination)
            released = outcome is not None
            stopped_for_failure = outcome is False  # stopped before the start: said so already
        crashed = [i for i in instances if i.exit_code not in (None, ExitCode.OK, ExitCode.THRESHOLDS_FAILED)]
        if released and crashed and not stopped_for_failure and interrupts.count == 0:
            # A split run with a dead segment is failed already: the others would only go
            # on sending load (a killed container, an OOM-killed k6) until the end.
            stopped_for_failure = True
            first = crashed[0]
            console.line(
                f"k6 instance {first.index + 1}/{len(instances)} exited with {first.exit_code}: "
                "stopping the others gracefully"
            )
            _stop_all(instances, coordination, for_interrupt=False)
        if interrupts.count > interrupts.handled:
            interrupts.handled = interrupts.count
            if interrupts.count == 1:
                # k6 stops gracefully on SIGINT: teardown runs, summaries are written.
                console.line("interrupt: asking k6 to stop gracefully (press Ctrl-C again to kill it)")
                _stop_all(instances, coordination, for_interrupt=True)
            else:
                console.line("second interrupt: killing k6")
                killed = True
                if coordination is not None:
                    coordination.abandon()
                _signal_all(instances, "SIGKILL")
        if coordination is not None and released and not killed:
            _advance(instances, coordination, console)
    return killed


def _stop_all(
    instances: list[_Instance], coordination: setup_once.Coordination | None, *, for_interrupt: bool
) -> None:
    """Every running k6 gracefully: SIGINT, except a coordinator stopped through its REST API."""
    spared = coordination is not None and coordination.stop(for_interrupt=for_interrupt)
    for inst in instances:
        if spared and coordination is not None and inst.index == coordination.index:
            continue
        _signal(inst, "SIGINT")


def _advance(
    instances: list[_Instance], coordination: setup_once.Coordination, console: InstanceConsole
) -> None:
    """After the release: teardown() once the others are done, then the coordinator's end."""
    coordinator = instances[coordination.index]
    others_exited = all(i.exit_code is not None for i in instances if i is not coordinator)
    action = coordination.after_release(others_exited, coordinator.exit_code is not None)
    if action == setup_once.STOP_OTHERS:
        console.line(f"{coordination.label} stopped its test (test.abort()?): stopping the others gracefully")
        _signal_all(instances, "SIGINT")
    elif action == setup_once.END:
        _signal(coordinator, "SIGINT")  # ends its --linger: it judges its thresholds and exits


def resolve_image(
    client: docker.DockerClient,
    requested: str | None,
    build_from: Path | None = None,
    on_log: LogCallback | None = None,
) -> str:
    """The image to run: ``requested``, else the pinned official one, else novaload's own build.

    A missing image is pulled once. Without ``requested``, when the official image cannot be
    pulled (no registry access), novaload's own is built from ``build_from`` (the local k6
    binary, as ``novaload image build`` does; ``on_log`` is told), and later runs find it.
    A requested image that cannot be had is an error that says how to build one.
    """
    import docker

    candidates = [requested] if requested else [DEFAULT_IMAGE, DEFAULT_LOCAL_IMAGE]
    for image in candidates:
        try:
            client.images.get(image)
            return image
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            raise RunnerError(f"Docker engine error looking up image {image}: {exc.explanation}") from None
    wanted = candidates[0]
    try:
        client.images.pull(wanted)
        return wanted
    except docker.errors.DockerException:
        pass
    if requested is None and build_from is not None:
        if on_log is not None:
            on_log(
                f"{wanted} cannot be pulled: building {DEFAULT_LOCAL_IMAGE} from the local k6 ({build_from})"
            )
        return build_k6_image(build_from, DEFAULT_LOCAL_IMAGE, client)
    hint = BUILD_HINT if requested is None else f"{BUILD_HINT}, or pass an image that exists"
    raise RunnerError(f"Docker image {wanted} is not available locally and could not be pulled", hint=hint)


def _create(
    client: docker.DockerClient, image: str, plan: ExecutionPlan, index: int, count: int
) -> _Instance:
    import docker

    files = InstanceFiles.for_instance(plan, index, count)
    port = free_port()
    host_network = plan.network is None
    # On the host network k6 binds loopback directly; on a named network its API
    # listens on all interfaces in the container and is published to host loopback.
    address = f"127.0.0.1:{port}" if host_network else f"0.0.0.0:{_API_PORT_IN_CONTAINER}"
    ports = published_ports(plan, index, port)
    try:
        container = client.containers.create(
            image,
            command=k6_command(plan, files, index, count, address),
            name=container_name(plan.run_id, index, count),
            environment=instance_env(plan, files, index, count),
            volumes=volume_binds(plan),
            working_dir=str((plan.working_dir or plan.run_dir).resolve()),
            user=f"{os.getuid()}:{os.getgid()}",  # results owned by the user, not root
            network_mode="host" if host_network else None,
            network=None if host_network else plan.network,
            ports=ports,
            labels={
                MANAGED_LABEL: "true",
                RUN_ID_LABEL: plan.run_id,
                INSTANCE_LABEL: str(index + 1),
                **owner_labels(Owner.current()),
            },
        )
    except docker.errors.DockerException as exc:
        raise RunnerError(
            f"cannot create k6 container {index + 1}/{count} from {image}: {_explain(exc)}"
        ) from None
    return _Instance(index, files, f"http://127.0.0.1:{port}", container)


def _start_all(
    instances: list[_Instance],
    redactor: Redactor,
    console: InstanceConsole,
    interrupts: _Interrupts,
    own_logs: contextlib.ExitStack,
) -> None:
    """Start every container back to back (all were created first), then attach logs and waits.

    A split run's instances get their own log each (closed with ``own_logs``); a single
    instance's own log is the combined k6.log (one file, written once).
    """
    import docker

    count = len(instances)
    for inst in instances:
        try:
            inst.container.start()
        except docker.errors.DockerException as exc:
            raise RunnerError(
                f"cannot start k6 container {inst.index + 1}/{count}: {_explain(exc)}"
            ) from None
    for inst in instances:
        prefix = f"[{inst.index + 1}/{count}] " if count > 1 else ""
        if count > 1:
            with contextlib.suppress(OSError):  # no own log (disk full, ...): k6.log still has it
                # never through a planted symlink
                inst.own_log = own_logs.enter_context(create_new_file(inst.files.log))
        inst.log_threads = [
            threading.Thread(target=_stream_logs, daemon=True, args=(inst, prefix, redactor, console, stdout))
            for stdout in (False, True)
        ]
        inst.wait_thread = threading.Thread(target=_wait_exit, args=(inst, interrupts), daemon=True)
        for thread in (*inst.log_threads, inst.wait_thread):
            thread.start()


def _release_when_ready(
    instances: list[_Instance], console: InstanceConsole, coordination: setup_once.Coordination | None = None
) -> bool | None:
    """Resume every paused instance once all REST APIs answer: True when released, False
    when all were stopped instead, None while waiting.

    If an instance exits before the release (e.g. a script error in init), the
    others are stopped instead of run with a missing segment. With ``coordination``,
    setup() runs first and its data goes to every instance; if it fails, nobody is released.
    """
    if any(inst.exit_code is not None for inst in instances):
        console.line("a k6 instance exited before the start: stopping the others")
        _signal_all(instances, "SIGINT")
        return False
    started = coordination is not None and coordination.setup_started
    if not started and not all(_api_answers(inst.api_url) for inst in instances):
        return None
    if coordination is not None:
        try:
            step = coordination.before_release()
        except setup_once.CoordinationError as exc:
            raise RunnerError(str(exc)) from None
        if step == setup_once.WAIT:
            return None
        if step == setup_once.FAILED:
            _signal_all(instances, "SIGINT")
            return False
    # Resuming is idempotent: if one PATCH fails, all are retried on the next turn.
    resumed = all([_set_paused(inst.api_url, paused=False) for inst in instances])  # noqa: C419 (PATCH every instance, no short-circuit)
    return True if resumed else None


def _api_answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(api_url + "/v1/status", timeout=_API_TIMEOUT_S):
            return True
    except OSError:
        return False


def _set_paused(api_url: str, *, paused: bool) -> bool:
    body = json.dumps({"data": {"type": "status", "id": "default", "attributes": {"paused": paused}}})
    request = urllib.request.Request(
        api_url + "/v1/status",
        data=body.encode(),
        method="PATCH",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_API_TIMEOUT_S):
            return True
    except OSError:
        return False


def _wait_exit(inst: _Instance, interrupts: _Interrupts) -> None:
    try:
        code = int(inst.container.wait()["StatusCode"])
    except Exception:  # noqa: BLE001 - the engine went away: report a failure rather than hang
        code = ExitCode.K6_EXIT_UNKNOWN
    inst.exited_at = time.monotonic()
    inst.exit_code = code
    interrupts.wake.set()


def _stream_logs(
    inst: _Instance, prefix: str, redactor: Redactor, console: InstanceConsole, stdout: bool
) -> None:
    """Follow one of a container's streams to its own log and ``k6.log``: stderr (k6's log)
    also to the console as it comes, stdout (the end-of-test summary) into ``inst.stdout``.

    A line that cannot be written or shown is dropped, never the stream: the reader
    must follow the container to its end whatever k6 prints.
    """
    try:
        chunks = inst.container.logs(stream=True, follow=True, stdout=stdout, stderr=not stdout)
        for line in _lines(chunks):
            try:
                line = redactor(line)
                if stdout:
                    inst.stdout.append(line)
                console.line(line, prefix, inst.own_log, show=not stdout)
            except Exception:  # noqa: BLE001 - a lost line beats a lost stream
                continue
    except Exception as exc:  # noqa: BLE001 - logs are best effort; the exit code is what counts
        with contextlib.suppress(Exception):
            console.line(f"(log stream ended: {exc})", prefix)


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace")


def _signal_all(instances: list[_Instance], sig: str) -> None:
    for inst in instances:
        _signal(inst, sig)


def _signal(inst: _Instance, sig: str) -> None:
    import docker

    if inst.exit_code is None:
        try:
            inst.container.kill(signal=sig)
        except docker.errors.APIError:
            pass  # it exited in the meantime


def _remove_all(instances: list[_Instance]) -> None:
    import docker

    for inst in instances:
        try:
            inst.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise


def remove_leftovers(run_id: str | None = None, client: docker.DockerClient | None = None) -> int:
    """Remove every container novaload created (only ``run_id``'s if given); return how many."""
    import docker

    client = client or docker_client()
    removed = 0
    # ignore_removed: the list is inspected container by container, and one may go (its
    # own run's cleanup, a watchdog) between the listing and its inspection
    for container in client.containers.list(
        all=True, filters={"label": label_filters(run_id)}, ignore_removed=True
    ):
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue
        removed += 1
    return removed


def label_filters(run_id: str | None) -> list[str]:
    filters = [f"{MANAGED_LABEL}=true"]
    if run_id is not None:
        filters.append(f"{RUN_ID_LABEL}={run_id}")
    return filters


def _explain(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__


__all__ = [
    "INSTANCE_LABEL",
    "MANAGED_LABEL",
    "OWNER_BOOT_LABEL",
    "OWNER_PID_LABEL",
    "OWNER_START_LABEL",
    "RUN_ID_LABEL",
    "DockerRunner",
    "InstanceFiles",
    "k6_command",
    "published_ports",
    "label_filters",
    "owner_labels",
    "owner_of",
    "remove_leftovers",
    "resolve_image",
    "volume_binds",
]
