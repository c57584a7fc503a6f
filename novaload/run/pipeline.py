"""One load test from request to exit code: the spine of novaload.

    prepare (config → script, k6 args)  →  demo target (local env)  →  runner (k6)
      →  ingest results  →  analyses  →  reports + summary.json + run.json  →  exit code

The CLI calls :func:`run_test` and prints; everything here is usable from
Python. Whatever fails after k6 has run, the files already written stay, and
``run.json`` is written last with what is known.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar, cast

from novaload import __version__
from novaload.errors import ExitCode, InputError, NovaloadError, RunFolderError, UsageError
from novaload.fileio import write_atomic
from novaload.redact import Redactor
from novaload.run.outcome import crash_meaning, exit_code_for, k6_crashed, k6_exit_code, meaning, verdict_for
from novaload.run.prepare import RAW_RESULTS, PreparedRun, RunRequest, prepare
from novaload.runfolder import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    K6_LOG,
    K6_SUMMARY_EXPORT,
    REPORT_MD,
    RUN_JSON,
    SUMMARY_JSON,
    GitInfo,
    RunFolder,
    RunRecord,
    claim_new_run_folder,
    claim_run_folder,
    git_info,
    instance_file,
    is_k6_summary,
    new_run_id,
    run_folder_path,
    safe_url,
)
from novaload.runners import get_runner
from novaload.runners.base import ExecutionPlan, K6Execution, LiveStats, Runner
from novaload.runners.k6binary import K6Binary, find_k6
from novaload.thresholds import Threshold
from novaload.urls import ws_url_for

if TYPE_CHECKING:
    from novaload.compare import Comparison, RunSnapshot
    from novaload.config.models import GeneratorCriteria
    from novaload.monitoring.outputs import OutputErrorFilter
    from novaload.monitoring.settings import MonitoringSettings
    from novaload.monitoring.targets import ScrapePlan
    from novaload.reports.base import ExtraSection
    from novaload.reports.exemplars import TraceLinks
    from novaload.results.completeness import Arrived
    from novaload.results.live import LiveScan
    from novaload.results.model import RunResults


T = TypeVar("T")


class RunObserver(Protocol):
    """What the pipeline tells its caller while it works (the CLI prints it)."""

    def start(self, plan: ExecutionPlan) -> None: ...

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def progress(self, stats: LiveStats) -> None: ...


class SilentObserver:
    def start(self, plan: ExecutionPlan) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def progress(self, stats: LiveStats) -> None:
        pass


@dataclass(slots=True)
class RunOutcome:
    run_id: str
    run_dir: Path
    exit_code: int
    verdict: str
    k6_exit_code: int | None
    results: RunResults | None
    execution: K6Execution | None
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # A user script's k6 stdout (its end-of-test summary or handleSummary's `stdout`),
    # for the CLI to show as k6 would; empty for rendered scenarios.
    k6_stdout: str = ""
    record: RunRecord | None = None  # what run.json says (the final record once it is written)
    baseline: str | None = None  # the run compared with (--baseline), when there was one


@contextlib.contextmanager
def demo_target_for(
    prepared: PreparedRun,
    observer: RunObserver,
    scrape: ScrapePlan | None = None,
    run_id: str = "",
    otlp_endpoint: str | None = None,
) -> Iterator[str | None]:
    """Start the demo target for the `local` environment unless one already runs.

    ``scrape``: the target started here listens where a Prometheus can reach it and is
    announced to it for the run (a service-discovery entry, removed before it stops).
    ``otlp_endpoint``: it exports its spans there (a traced run: Jaeger's receiver, or
    ``OTEL_EXPORTER_OTLP_ENDPOINT``).
    """
    env = prepared.environment
    if env is None or not env.uses_demo_target:
        yield None
        return
    from novaload.scenario.render import DEMO_DEFAULT_URL
    from novaload.target.process import TargetProcess, is_target_running
    from novaload.target.settings import TargetSettings

    if is_target_running(DEMO_DEFAULT_URL):
        observer.info(f"using the demo target already running at {DEMO_DEFAULT_URL}")
        if otlp_endpoint:
            observer.warn(
                f"its spans do not go to {otlp_endpoint}: start it with "
                f"`novaload target serve --otlp-endpoint {otlp_endpoint}`, or stop it"
            )
        yield DEMO_DEFAULT_URL
        return
    settings = TargetSettings(host=scrape.bind_host) if scrape else TargetSettings()
    if otlp_endpoint:
        settings = dataclasses.replace(settings, otlp_endpoint=otlp_endpoint)
    target = TargetProcess.start(settings)
    observer.info(
        f"demo target started at {target.url}" + (f", its spans to {otlp_endpoint}" if otlp_endpoint else "")
    )
    try:
        if scrape and run_id:
            with scrape.entry(run_id, target.url.rsplit(":", 1)[-1]):
                yield target.url
        else:
            yield target.url
    finally:
        target.stop()


def run_test(request: RunRequest, observer: RunObserver | None = None) -> RunOutcome:
    """Run one load test end to end and return its outcome.

    Everything that can be checked is checked before anything starts (config, script,
    k6, runner): bad input raises a NovaloadError and leaves no trace. Then the run folder
    is claimed (refused if it holds another run). From there on the run is on record:
    whatever ends it, ``run.json`` says how, and a failure on the run folder's file system
    (read-only, full) is a :class:`~novaload.errors.RunFolderError` naming the path.
    """
    observer = observer or SilentObserver()
    # `k6 version` and git answer from child processes (most of it k6's start, tens of ms):
    # they run while the rest is checked, not one after the other on the way to k6.
    k6_probe, git_probe = _Pending(find_k6, request.k6), _Pending(git_info)
    try:
        monitoring = _monitoring_settings() if request.monitor else None  # bad settings: nothing written yet
        name = Path(request.target).stem if request.is_script else request.target
        output_errors = None
        if request.monitor:
            from novaload.monitoring.outputs import OutputErrorFilter

            output_errors = OutputErrorFilter(observer.info)
        runner = get_runner(request.runner, on_log=output_errors or observer.info)
        run_id = new_run_id(name)
        # k6's version decides which of the user's k6 flags are valid: without any, prepare
        # does not wait for `k6 version` (reading the script and the config meanwhile).
        k6_version = k6_probe.result().version if request.extra_k6_args else None
        prepared = prepare(request, run_id, run_folder_path(request.out_dir, run_id), k6_version)
        if prepared.tracing is not None:  # a malformed trace UI URL is found now, not after the run
            from novaload.run import tracelinks

            tracelinks.check()
        if request.baseline:  # an invalid compare.yaml is found now, not after the run
            from novaload.compare import load_compare_config

            load_compare_config(None, request.config_dir)
        runner.check(request.image)
    except BaseException as exc:
        git_probe.wait()
        if isinstance(exc, Exception):
            k6_probe.result()  # a k6 that cannot run is the first thing said, as before
        k6_probe.wait()
        raise
    k6, git = k6_probe.result(), git_probe.result()
    record = _first_record(request, prepared, run_id, k6, git)
    if request.out_dir is not None:
        folder = claim_run_folder(
            run_folder_path(request.out_dir, run_id), record, overwrite=request.overwrite
        )
    else:

        def record_for(new_id: str) -> RunRecord:
            # The run id is in the script: a new one (a clash) means preparing again.
            nonlocal prepared, record
            if new_id != record.run_id:
                prepared = prepare(request, new_id, run_folder_path(None, new_id), k6.version)
                record = _first_record(request, prepared, new_id, k6, git)
            return record

        folder = claim_new_run_folder(name, record_for, run_id)
    with folder:
        try:
            return _run_in(folder, request, prepared, record, runner, k6, observer, output_errors, monitoring)
        except BaseException as exc:
            if folder.ended:  # finish_run recorded the end itself
                raise
            # The run is on record however it ends: a failed run says so in run.json.
            ended = record.ended(
                status=FAILED,
                ended_at=datetime.now(UTC).isoformat(),
                exit_code=int(getattr(exc, "exit_code", ExitCode.INTERNAL))
                if isinstance(exc, NovaloadError)
                else (130 if isinstance(exc, KeyboardInterrupt) else ExitCode.INTERNAL),
                verdict="error",
                error=str(exc) or type(exc).__name__,
                files=_files(folder.path),
            )
            with contextlib.suppress(OSError, NovaloadError):
                folder.write_record(ended)
            raise


class _Pending(Generic[T]):
    """``fn(*args)`` running in a thread; :meth:`result` waits for it and returns its
    value or raises its exception."""

    def __init__(self, fn: Callable[..., T], *args: object) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None

        def work() -> None:
            try:
                self._value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by result()
                self._error = exc

        self._thread = threading.Thread(target=work, name="novaload-probe", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)


def _first_record(
    request: RunRequest, prepared: PreparedRun, run_id: str, k6: K6Binary, git: GitInfo
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        scenario=prepared.scenario_name,
        script=prepared.script_copy.name,
        environment=prepared.environment.name if prepared.environment else None,
        profile=prepared.profile.name if prepared.profile else None,
        target=safe_url(prepared.env.get("NOVALOAD_BASE_URL")),
        target_id="demo"
        if prepared.environment is not None and prepared.environment.uses_demo_target
        else safe_url(prepared.env.get("NOVALOAD_BASE_URL")),
        runner=request.runner,
        parallelism=request.parallelism,
        k6_version=k6.version,
        k6_binary=k6.path,
        k6_args=tuple(Redactor(prepared.secrets)(a) for a in prepared.k6_args),
        novaload_version=__version__,
        git_commit=git.commit,
        git_branch=git.branch,
        started_at=datetime.now(UTC).isoformat(),
        warnings=tuple(prepared.warnings),
    )


def _run_in(
    folder: RunFolder,
    request: RunRequest,
    prepared: PreparedRun,
    record: RunRecord,
    runner: Runner,
    k6: K6Binary,
    observer: RunObserver,
    output_errors: OutputErrorFilter | None = None,
    monitoring: MonitoringSettings | None = None,
) -> RunOutcome:
    """The run itself, in its claimed folder: script, demo target, k6, then the end."""
    run_dir = folder.path
    for path, content in ((prepared.script_copy, prepared.script_content), *prepared.extra_files):
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise RunFolderError(f"{path}: cannot write the script: {exc.strerror}") from None
    for warning in prepared.warnings:
        observer.warn(warning)
    for note in prepared.notes:
        observer.info(note)
    env = dict(prepared.env)
    monitor_args: tuple[str, ...] = ()
    scrape: ScrapePlan | None = None
    loki_url: str | None = None
    # a traced run's demo target exports its spans: where the user's OpenTelemetry setting
    # says, else to the monitoring stack's Jaeger when --monitor found it
    otlp = (request.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None) if prepared.tracing else None
    testid = record.run_id
    if monitoring is not None:
        # A script's own testid tag (or a --tag testid=...) wins, as it would in k6:
        # dashboards and alerts then filter on it, and run.json says which it was.
        testid = _own_testid(prepared, k6, env, observer) or record.run_id
        record = record.ended(testid=testid)
        if testid != record.run_id:
            observer.info(f"testid {testid} (the script's own tag) marks this run in the monitoring stack")
        monitor_args, monitor_env, scrape, loki_url, stack_otlp = _monitoring(
            monitoring,
            testid,
            observer,
            request.monitor_native_histograms,
            traced=prepared.tracing is not None,
        )
        env.update(monitor_env)
        otlp = otlp or stack_otlp
    with demo_target_for(prepared, observer, scrape, record.run_id, otlp) as demo_url:
        if demo_url:
            env["NOVALOAD_BASE_URL"] = demo_url
            env["NOVALOAD_WS_URL"] = ws_url_for(demo_url)
            record = record.ended(target=safe_url(demo_url))
        plan = ExecutionPlan(
            run_id=record.run_id,
            script=prepared.script,
            run_dir=run_dir,
            k6_args=_with_run_tag(testid, _merged_args(prepared.k6_args, monitor_args)),
            env=env,
            k6_binary=k6.path,
            parallelism=request.parallelism,
            planned_duration_s=prepared.planned_duration_s,
            secrets=prepared.secrets,
            image=request.image,
            network=request.network,
            results_name=RAW_RESULTS.get(request.raw, RAW_RESULTS["json"]),
            kubernetes=request.kubernetes,
            working_dir=prepared.working_dir,
            source_dirs=prepared.source_dirs,
            setup=request.setup,
            dashboard=prepared.dashboard,
        )
        observer.info(
            f"run {record.run_id}: k6 {k6.version}, {prepared.scenario_name} → "
            f"{record.target or 'script defaults'} (runner {request.runner})"
        )
        if prepared.dashboard is not None:
            observer.info(prepared.dashboard.describe(request.parallelism))
        observer.start(plan)
        windowed = sorted({t.parsed_metric.metric for t in windowed_thresholds(prepared)})
        live = _follow_results(plan, request.raw, observer, windowed)
        progress = _once_k6_runs(_import_in_background, _with_live_p95(observer, live))
        try:
            with _forward_logs(loki_url, record.run_id, run_dir, observer):
                execution = runner.run(plan, progress)
        except BaseException as exc:
            if live is not None:
                live.abandon()
            if isinstance(exc, OSError):  # the run folder's file system: k6.log could not be created
                raise _folder_error(exc, run_dir) from None
            raise
        finally:
            _remove_pipes(plan)
    for line in output_errors.summary() if output_errors else ():
        observer.warn(line)
    if prepared.summary_export is not None:
        _copy_summary_export(prepared, plan, observer)
    return finish_run(request, prepared, record, execution, folder, observer, live)


def _own_testid(
    prepared: PreparedRun, k6: K6Binary, env: dict[str, str], observer: RunObserver
) -> str | None:
    """The testid the run's k6 arguments or the script's ``options.tags`` set, if any
    (``k6 inspect`` evaluates the options as k6 will); a rendered scenario sets none."""
    from novaload.monitoring.outputs import given_testid

    given = given_testid(prepared.k6_args)
    if given is not None or prepared.scenario is not None:
        return given
    import subprocess

    try:
        done = subprocess.run(
            [k6.path, "inspect", str(prepared.script)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
            cwd=prepared.working_dir,
            stdin=subprocess.DEVNULL,
        )
        options = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        observer.warn(f"the script's testid tag could not be read (k6 inspect: {exc}); using the run id")
        return None
    tags = options.get("tags") if isinstance(options, dict) else None
    testid = tags.get("testid") if isinstance(tags, dict) else None
    return str(testid) if testid else None


def _copy_summary_export(prepared: PreparedRun, plan: ExecutionPlan, observer: RunObserver) -> None:
    """The user's ``--summary-export FILE``: k6 wrote the run folder's (novaload reads it),
    a copy goes where they asked, secrets masked like every file novaload writes."""
    assert prepared.summary_export is not None
    source = plan.run_dir / plan.summary_export_name
    if not source.is_file():
        return  # k6 wrote none (it failed before the end): neither would `k6 run`
    try:
        write_atomic(prepared.summary_export, Redactor(prepared.secrets)(source.read_text(encoding="utf-8")))
    except OSError as exc:
        observer.warn(
            f"--summary-export {prepared.summary_export}: {exc.strerror}; the run folder has {source.name}"
        )


def _merged_args(user: tuple[str, ...], monitor: tuple[str, ...]) -> tuple[str, ...]:
    """The run's k6 arguments and the monitoring outputs, without an output given twice
    (a user's own ``--out experimental-prometheus-rw`` beside --monitor's)."""
    outs = {user[i + 1] for i, a in enumerate(user[:-1]) if a in ("--out", "-o")}
    pairs = [monitor[i : i + 2] for i in range(0, len(monitor), 2)]
    return (*user, *(t for pair in pairs if not (pair[0] == "--out" and pair[1] in outs) for t in pair))


def _with_run_tag(run_id: str, k6_args: tuple[str, ...]) -> tuple[str, ...]:
    from novaload.monitoring.outputs import run_tag_args

    return (*k6_args, *run_tag_args(run_id, k6_args))


def _folder_error(exc: OSError, run_dir: Path) -> RunFolderError:
    where = exc.filename if isinstance(exc.filename, str) else str(run_dir)
    return RunFolderError(f"{where}: cannot write: {exc.strerror or type(exc).__name__}")


def _files(run_dir: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(p.name for p in run_dir.iterdir() if p.is_file() and not p.name.startswith(".")))
    except OSError:
        return ()


def _with_live_p95(observer: RunObserver, live: LiveScan | None) -> Callable[[LiveStats], None]:
    """Progress with the p95 of the last seconds' samples from the live scan (k6's REST
    API is asked for counters only: its p95 sorts every sample of the run each time)."""
    if live is None:
        return observer.progress

    def progress(stats: LiveStats) -> None:
        p95 = live.recent_p95()
        observer.progress(stats if p95 is None else dataclasses.replace(stats, p95_ms=p95))

    return progress


def _once_k6_runs(
    start: Callable[[], None], progress: Callable[[LiveStats], None]
) -> Callable[[LiveStats], None]:
    """``progress``, calling ``start`` first on the first report: a runner reports progress
    from k6's REST API, so k6 is running by then. Work started earlier (the report
    modules' imports) would delay k6's start and take CPU from its init."""
    started = threading.Event()

    def first(stats: LiveStats) -> None:
        if not started.is_set():
            started.set()
            start()
        progress(stats)

    return first


def _results_paths(plan: ExecutionPlan) -> list[Path]:
    return [
        plan.run_dir / instance_file(plan.results_name, i, plan.parallelism) for i in range(plan.parallelism)
    ]


def _follow_results(
    plan: ExecutionPlan, raw: str, observer: RunObserver, windowed: Sequence[str] = ()
) -> LiveScan | None:
    """Read k6's output while k6 writes it (the report is then ready as k6 ends); with
    ``--raw none`` through named pipes in the run folder, so no raw output is kept."""
    from novaload.results.live import LiveScan

    paths = _results_paths(plan)
    if not LiveScan.available():
        if raw == "none":
            raise UsageError("--raw none needs the results scanner's C extension (reinstall novaload)")
        return None  # the results files are read once k6 has ended
    if raw == "none":
        for path in paths:
            path.unlink(missing_ok=True)
            os.mkfifo(path, 0o600)
    return LiveScan(paths, windowed=windowed).start()


# What finish_run imports once k6 has ended: importing it while k6 runs takes ~0.3 s
# (more on a busy machine) off the time from k6's exit to the report. None of it may be
# imported before k6 starts (tests/test_startup.py).
_AFTER_K6 = (
    "novaload.config.models",
    "novaload.results.ingest",
    "novaload.results.summary",
    "novaload.results.generator",
    "novaload.reports",
    "novaload.compare",
    "novaload.compare.inputs",
    "novaload.compare.record",
    "novaload.history",
)


def _import_in_background() -> None:
    import importlib

    def work() -> None:
        from novaload.sched import yield_to_k6

        yield_to_k6()  # k6 has just started: it goes first
        for name in _AFTER_K6:
            with contextlib.suppress(Exception):  # the real import later reports any error
                importlib.import_module(name)

    threading.Thread(target=work, name="novaload-preimport", daemon=True).start()


def _remove_pipes(plan: ExecutionPlan) -> None:
    for path in _results_paths(plan):
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(path.lstat().st_mode):
                path.unlink()


@contextlib.contextmanager
def _forward_logs(loki_url: str | None, run_id: str, run_dir: Path, observer: RunObserver) -> Iterator[None]:
    """k6's log lines to Loki while k6 runs (from k6.log, which keeps them all)."""
    if loki_url is None:
        yield
        return
    from novaload.monitoring.logs import forward_k6_logs

    with forward_k6_logs(loki_url, run_id, run_dir / K6_LOG) as forwarder:
        yield
    lost = forwarder.summary() if forwarder else None
    if lost:
        observer.warn(lost)


def _monitoring_settings() -> MonitoringSettings:
    from novaload.monitoring.settings import MonitoringSettings

    return MonitoringSettings.from_env()


def _monitoring(
    settings: MonitoringSettings, run_id: str, observer: RunObserver, native_histograms: bool, *, traced: bool
) -> tuple[tuple[str, ...], dict[str, str], ScrapePlan | None, str | None, str | None]:
    """k6 arguments and environment for the outputs that answered, how the demo target
    is announced when Prometheus is one of them, Loki's URL when it answered, and (a
    traced run) Jaeger's OTLP receiver when it answered."""
    from novaload.monitoring.outputs import outputs_for_run
    from novaload.monitoring.targets import scrape_plan

    wired = outputs_for_run(run_id, native_histograms, settings, traced=traced)
    for line in wired.problems:
        observer.warn(line)
    for line in wired.notes:
        observer.info(line)
    scrape = None
    if "prometheus" in wired.outputs:
        scrape, why_not = scrape_plan(wired.settings)
        if scrape is None:
            observer.warn(why_not)
    return wired.args, wired.env, scrape, wired.loki_url, wired.otlp_url


def finish_run(
    request: RunRequest,
    prepared: PreparedRun,
    record: RunRecord,
    execution: K6Execution,
    folder: RunFolder,
    observer: RunObserver,
    live: LiveScan | None = None,
) -> RunOutcome:
    """Ingest, analyse, report; decide the exit code; write the final ``run.json``.

    ``live``: the scan that followed k6's output during the run (finished here).

    Every file written stays written. A report that cannot be written because the run
    folder's file system fails (read-only, full) ends the run as failed (exit 2, the path
    named), never as passed; ``run.json`` still records it when the disk allows.
    """
    run_dir = folder.path
    record = _with_load(record, request, prepared, run_dir)
    warnings = list(record.warnings)
    results: RunResults | None = None
    files: list[Path] = []
    k6_exit = _k6_exit(execution)
    exit_code = k6_exit
    verdict = "error"
    error: NovaloadError | None = None
    failure: BaseException | None = None
    if execution.interrupted:
        warnings.append("run interrupted: the report covers what k6 collected until it stopped")
    elif k6_crashed(k6_exit):
        _report_crash(k6_exit, execution, run_dir, warnings, observer)
    elif k6_exit == ExitCode.K6_EXIT_UNKNOWN:
        # The runner's own notes name the instance and how it was lost.
        lost = [n for n in execution.notes if "exit code is unknown" in n]
        line = f"{meaning(k6_exit)}: exit {k6_exit}" + (f"; {'; '.join(lost)}" if lost else "")
        warnings.append(line)
        observer.warn(line)
    outcome = RunOutcome(
        run_id=record.run_id,
        run_dir=run_dir,
        exit_code=exit_code,
        verdict=verdict,
        k6_exit_code=k6_exit,
        results=None,
        execution=execution,
        files=files,
        warnings=warnings,
        k6_stdout=execution.stdout if prepared.scenario is None else "",
    )
    try:
        try:
            results = _ingest(execution, prepared, live, observer)
            # What the runner knows about a split run (e.g. per-runner verdicts) goes
            # into the report next to the results' own warnings.
            results.warnings.extend(execution.notes)
        except InputError as exc:
            warnings.append(f"no report: {exc}")
            observer.warn(f"no report: {exc}")
        if k6_exit in (ExitCode.OK, ExitCode.THRESHOLDS_FAILED):
            # k6 says it finished: every sample it counted must be in what was read.
            lost = _incomplete(execution, results.arrived if results is not None else {}, run_dir)
            for line in lost:
                warnings.append(line)
                observer.warn(line)
            if results is not None:
                results.incomplete = lost
                k6_exit = _k6_exit(execution, results)
                outcome.k6_exit_code = k6_exit
        criteria = _generator_criteria(request, prepared)
        if results is not None:
            _judge_generator(results, run_dir, criteria, observer)
        comparison, snapshot = _compare_with_baseline(request, results, record, run_dir, observer)
        outcome.baseline = (comparison.baseline.run_id or comparison.baseline.label) if comparison else None
        exit_code = exit_code_for(
            k6_exit,
            results,
            regressed=bool(comparison and comparison.regressed),
            strict_generator=criteria.strict,
        )
        verdict = verdict_for(exit_code, results, execution.interrupted)
        outcome.exit_code, outcome.verdict, outcome.results = exit_code, verdict, results
        record = _ended(record, execution, exit_code, verdict, results, warnings)
        outcome.record = record
        trend = None
        if request.record_history:
            # Registered before the reports are written, so the report's trend chart
            # includes this run.
            _record_history(outcome, request, observer, snapshot)
            if comparison is None:  # a comparison brings its own trend section
                trend = _trend_section(record, request, observer)
        if results is not None:
            files += _write_reports(
                results,
                record,
                execution,
                prepared,
                run_dir,
                exit_code,
                verdict,
                warnings,
                observer,
                comparison,
                trend,
            )
            if request.monitor:
                _publish_history(results, record, exit_code, verdict, observer)
    except (OSError, NovaloadError) as exc:
        # The run folder's disk failed under the reports (or a --baseline could not be
        # judged): the run is not judged "passed" on reports that are not there.
        error = exc if isinstance(exc, NovaloadError) else _folder_error(exc, run_dir)
        exit_code, verdict = int(error.exit_code), "error"
        outcome.exit_code, outcome.verdict = exit_code, verdict
    except BaseException as exc:  # a bug or a third Ctrl-C: on record, then on its way
        exit_code, verdict = (130 if isinstance(exc, KeyboardInterrupt) else ExitCode.INTERNAL), "error"
        failure = exc
        raise
    finally:
        # Written even when a bug escapes above: the run happened and must be on record.
        ended_by = error or failure
        record = _ended(record, execution, exit_code, verdict, results, warnings).ended(
            status=FAILED if ended_by else (INTERRUPTED if execution.interrupted else FINISHED),
            error=(str(ended_by) or type(ended_by).__name__) if ended_by else None,
            files=tuple(sorted({*_files(run_dir), RUN_JSON})),
        )
        outcome.record = record
        folder.ended = True
        try:
            files.append(folder.write_record(record))
        except RunFolderError as exc:
            error = error or exc
    if error is not None:
        raise error
    return outcome


def _report_crash(
    k6_exit: int, execution: K6Execution, run_dir: Path, warnings: list[str], observer: RunObserver
) -> None:
    """k6 died (a Go crash, a signal): say so, with what k6 said last (k6.log)."""
    from novaload.run.aborts import k6_crash_lines

    logs = [p for p in [execution.log_file, *sorted(run_dir.glob("k6-*of*.log"))] if p is not None]
    lines = k6_crash_lines(logs)
    headline = f"{crash_meaning(k6_exit)} (k6 exit {k6_exit})" + ("; its last lines:" if lines else "")
    warnings.append(headline + (" " + " | ".join(lines[-3:]) if lines else ""))
    observer.warn(headline)
    for line in lines:
        observer.warn(f"  k6: {line}")


def _generator_criteria(request: RunRequest, prepared: PreparedRun) -> GeneratorCriteria:
    """The scenario's ``generator:`` criteria (defaults for a script); --strict-generator wins."""
    from novaload.config.models import GeneratorCriteria

    criteria = prepared.scenario.generator if prepared.scenario is not None else GeneratorCriteria()
    return criteria.model_copy(update={"strict": True}) if request.strict_generator else criteria


def _judge_generator(
    results: RunResults, run_dir: Path, criteria: GeneratorCriteria, observer: RunObserver
) -> None:
    """Attach the load-generator verdict to the results and say it when it is bad."""
    from novaload.results.generator import assess_run_folder

    results.load_generator = assess_run_folder(
        run_dir,
        dropped_iterations=int(results.value("dropped_iterations", "count", 0) or 0),
        origin_s=results.started_at.timestamp() if results.started_at else None,
        criteria=criteria,
    )
    if not results.load_generator.trustworthy:
        observer.warn(results.load_generator.summary_line())


def _ended(
    record: RunRecord,
    execution: K6Execution,
    exit_code: int,
    verdict: str,
    results: RunResults | None,
    warnings: list[str],
) -> RunRecord:
    return record.ended(
        ended_at=execution.ended_at.isoformat(),
        exit_code=exit_code,
        k6_exit_code=_k6_exit(execution, results),
        k6_exit_codes=tuple(execution.exit_codes),
        setup=execution.setup_teardown.mode if execution.setup_teardown else None,
        setup_runner=execution.setup_teardown.runner if execution.setup_teardown else None,
        verdict=verdict,
        interrupted=execution.interrupted,
        duration_s=results.duration_s if results else None,
        warnings=tuple(warnings),
        image=execution.image,
    )


def _with_load(record: RunRecord, request: RunRequest, prepared: PreparedRun, run_dir: Path) -> RunRecord:
    """The record with the load k6 ran (``k6 inspect`` of the script with the run's
    arguments and environment, after the run: k6 starts without waiting for it), part of
    the run's identity for baselines and trends. Unknown (None) when k6 cannot tell."""
    from novaload.runners.k6binary import inspect_scenarios
    from novaload.scenario.load import load_of

    # A local k6 inherits this environment; a container gets only the run's own.
    base = dict(os.environ) if request.runner == "local" else {"PATH": os.environ.get("PATH", "")}
    scenarios = inspect_scenarios(
        record.k6_binary,
        prepared.script,
        k6_args=prepared.k6_args,
        env={**base, **prepared.env},
        cwd=prepared.working_dir or run_dir,
    )
    if scenarios is None:
        return record
    load = load_of(scenarios)
    return record.ended(load=load.text, load_key=load.key)


def _k6_exit(execution: K6Execution, results: RunResults | None = None) -> int:
    """k6's exit code for the run; a split run's 99s are judged again over the merged
    samples only when every instance's results arrived whole."""
    complete = results is None or not results.incomplete
    return k6_exit_code(
        execution.exit_codes,
        rejudged=execution.thresholds_rejudged and complete,
        setup_teardown=execution.setup_teardown,
        interrupted=execution.interrupted,
    )


def _incomplete(execution: K6Execution, arrived: Mapping[Path, Arrived], run_dir: Path) -> list[str]:
    """One line for each k6 instance whose results did not all arrive (against the
    ``--summary-export`` every runner has k6 write for each instance)."""
    from novaload.results.completeness import Instance, gaps

    count = len(execution.results_files)
    instances = [
        Instance(
            label=f"runner {i + 1}/{count}" if count > 1 else "k6",
            results=path,
            summary=run_dir / instance_file(K6_SUMMARY_EXPORT, i, count),
        )
        for i, path in enumerate(execution.results_files)
    ]
    return gaps(instances, arrived)


def _trend_section(record: RunRecord, request: RunRequest, observer: RunObserver) -> ExtraSection | None:
    """The last runs of this test (scenario, environment, target, load, runner; this one
    included) as a chart: never a mix of targets, loads or runners."""
    from novaload.compare import load_compare_config
    from novaload.compare.identity import RunIdentity
    from novaload.compare.trend import trend_section
    from novaload.history import HistoryStore

    try:
        limit = load_compare_config(None, request.config_dir).trend_runs
        entries = HistoryStore(request.history_dir).list(
            scenario=record.scenario,
            environment=record.environment,
            limit=limit,
            same_as=RunIdentity.of(record).columns(),
        )
    except Exception as exc:  # noqa: BLE001 - a chart must not cost the run its report
        observer.warn(f"no trend chart: {exc}")
        return None
    return trend_section(list(reversed(entries))) if len(entries) >= 2 else None


def _compare_with_baseline(
    request: RunRequest, results: RunResults | None, record: RunRecord, run_dir: Path, observer: RunObserver
) -> tuple[Comparison | None, RunSnapshot | None]:
    """``--baseline``: compare with an earlier run. Returns the comparison (None when not
    asked or no baseline yet) and this run's snapshot, which the history then reuses."""
    if not request.baseline or results is None:
        return None, None
    from novaload.compare import gate_against_baseline, load_compare_config
    from novaload.compare.inputs import snapshot_of
    from novaload.history import HistoryStore

    config = load_compare_config(None, request.config_dir)
    try:
        # From the record in hand: run.json on disk does not have the run's load yet.
        current = snapshot_of(results, results.sources, label=record.run_id, record=record, config=config)
    except NovaloadError as exc:
        observer.warn(f"no baseline comparison: {exc}")
        return None, None
    comparison = gate_against_baseline(
        results,
        run_dir,
        request.baseline,
        HistoryStore(request.history_dir),
        config,
        baseline_branch=request.baseline_branch,
        warn=observer.warn,
        current=current,
    )
    if comparison is not None:
        picked = comparison.baseline.run_id or comparison.baseline.label
        asked = f" ({request.baseline})" if request.baseline != picked else ""
        observer.info(
            f"compared with baseline {picked}{asked}: "
            + ("REGRESSION" if comparison.regressed else "no regression")
        )
        if (differs := comparison.differs_line()) is not None:
            observer.warn(differs)
    return comparison, current


def _record_history(
    outcome: RunOutcome, request: RunRequest, observer: RunObserver, snapshot: RunSnapshot | None
) -> None:
    """Register the run in the local history store (a failure is only a warning).

    ``snapshot``: the one the baseline gate built, so a run is not reduced twice.
    Otherwise it is built here with the project's compare settings (``max_samples``
    decides how many latencies the store keeps); an invalid ``compare.yaml`` is the
    gate's error to report, the history then uses the defaults.
    """
    from novaload.compare import load_compare_config, record_run

    try:
        config = None if snapshot is not None else load_compare_config(None, request.config_dir)
    except NovaloadError:
        config = None  # record_run's defaults
    try:
        record_run(outcome, request.history_dir, config=config, snapshot=snapshot)
    except Exception as exc:  # noqa: BLE001 - history must never cost the run its exit code
        observer.warn(f"run not recorded in history: {exc}")


def _publish_history(
    results: RunResults, record: RunRecord, exit_code: int, verdict: str, observer: RunObserver
) -> None:
    """Send the run's summary to InfluxDB for the run-history dashboard (warning on failure)."""
    from novaload.monitoring.publish import publish_run_history
    from novaload.monitoring.settings import MonitoringSettings

    publish_run_history(
        results,
        MonitoringSettings.from_env(),
        run_id=record.run_id,
        scenario=record.scenario,
        environment=record.environment or "",
        verdict=verdict,
        exit_code=exit_code,
        git_commit=record.git_commit,
        on_failure=observer.warn,
    )


def _write_reports(
    results: RunResults,
    record: RunRecord,
    execution: K6Execution,
    prepared: PreparedRun,
    run_dir: Path,
    exit_code: int,
    verdict: str,
    warnings: list[str],
    observer: RunObserver,
    comparison: object | None = None,
    trend: object | None = None,
) -> list[Path]:
    from novaload.reports import ReportContext, append_step_summary, write_all
    from novaload.results.summary import write_summary

    redact = Redactor(prepared.secrets)
    warnings.extend(redact(w) for w in results.warnings)
    analyses = _analyses(results, prepared, observer)
    logs = [p for p in [execution.log_file, *sorted(run_dir.glob("k6-*of*.log"))] if p is not None]
    from novaload.run.aborts import k6_threshold_abort

    k6_abort = k6_threshold_abort(logs, execution.started_at)
    if k6_abort:
        observer.warn(k6_abort)
    lifecycle = execution.setup_teardown
    setup_line = redact(lifecycle.describe(execution.instances)) if lifecycle is not None else None
    context = ReportContext(
        run_id=record.run_id,
        scenario=record.scenario,
        verdict=verdict,
        environment=record.environment,
        profile=record.profile,
        k6_version=record.k6_version,
        git_commit=record.git_commit,
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        exit_code=exit_code,
        target_url=record.target,
        redact=redact,
        comparison=comparison,
        analyses=[a.to_section() for a in analyses] + ([trend] if trend is not None else []),
        k6_abort=k6_abort,
        setup_teardown=setup_line,
        trace_links=_links_for(results, prepared, observer),
    )
    extra = (
        {
            "analyses": {
                a.name: {"verdict": a.verdict, "flagged": a.flagged, "figures": a.figures} for a in analyses
            }
        }
        if analyses
        else None
    )
    notes: dict[str, object] = {"k6_abort": k6_abort}
    if lifecycle is not None:
        notes["setup_teardown"] = {**lifecycle.to_json(), "summary": setup_line}
    files = [write_summary(results, run_dir / SUMMARY_JSON, extra, notes=notes)]
    try:
        files += write_all(results, context, run_dir)
    except OSError:
        raise  # the run folder's disk: the run ends as failed, not with a warning
    except Exception as exc:  # noqa: BLE001 - the other reports are already written
        warnings.append(f"a report could not be written: {exc}")
        observer.warn(f"a report could not be written: {exc}")
    # Endpoint names, URLs and tags come from the script and may carry a secret in any
    # report (a query-string token keys Apdex in summary.json): write_atomic masks every
    # file with the secrets prepare() remembered.
    md = run_dir / REPORT_MD
    if md.exists():
        append_step_summary(md.read_text(encoding="utf-8"))
    return files


def _links_for(results: RunResults, prepared: PreparedRun, observer: RunObserver) -> TraceLinks | None:
    """Where the exemplars link (a script that traces itself has them without --traces)."""
    if not results.exemplars:
        return None
    from novaload.run.tracelinks import trace_links

    try:
        return trace_links(prepared.tracing)
    except NovaloadError as exc:  # the environment changed under the run: reports without links
        observer.warn(f"exemplars without links: {exc}")
        return None


def _ingest(
    execution: K6Execution, prepared: PreparedRun, live: LiveScan | None, observer: RunObserver
) -> RunResults:
    from novaload.config.models import DEFAULT_APDEX_T_MS
    from novaload.results.ingest import ingest

    # k6's --summary-export first: summary.json's metrics are that file, key for key (the
    # handleSummary data also lists submetrics k6 does not export).
    found = [p for p in execution.summary_files if is_k6_summary(p.name) and p.exists()]
    summary = next(iter(sorted(found, key=lambda p: "export" not in p.name)), None)
    scenario = prepared.scenario
    # k6's --no-thresholds: k6 judges none and exits 0 on them; neither does novaload.
    windowed = [] if prepared.no_thresholds else windowed_thresholds(prepared)
    no_thresholds = prepared.no_thresholds
    no_data: Literal["pass", "fail"] = "fail" if prepared.no_data == "fail" else "pass"
    apdex_targets = scenario.apdex_targets if scenario else None
    apdex_t_ms = scenario.apdex_t_ms if scenario else DEFAULT_APDEX_T_MS
    if live is not None and live.paths == list(execution.results_files):
        try:
            # A split run has one summary per instance; the duration of any one is the run's.
            return ingest(
                live.paths,
                k6_summary=summary,
                live=live.finish(),
                extra_thresholds=windowed or None,
                thresholds_replace=no_thresholds,
                apdex_targets=apdex_targets,
                apdex_t_ms=apdex_t_ms,
                trend_stats=prepared.trend_stats,
                no_data=no_data,
                max_endpoints=prepared.max_endpoints,
            )
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - the files are still there to be read
            observer.warn(f"reading k6's output during the run failed ({exc}); reading the results files")
    elif live is not None:
        live.abandon()
    # An empty file (a split run's instance with no VUs) is the ingest's to judge: it is
    # skipped with a warning while another instance has samples.
    sources = [p for p in execution.results_files if p.is_file()]
    if not sources:
        raise InputError(f"k6 wrote no results (see {K6_LOG})")
    return ingest(
        sources,
        k6_summary=summary,
        extra_thresholds=windowed or None,
        thresholds_replace=no_thresholds,
        apdex_targets=apdex_targets,
        apdex_t_ms=apdex_t_ms,
        trend_stats=prepared.trend_stats,
        no_data=no_data,
        max_endpoints=prepared.max_endpoints,
    )


def windowed_thresholds(prepared: PreparedRun) -> list[Threshold]:
    """The scenario's windowed thresholds: k6 never saw them (it has none), they are
    judged offline from the results."""
    scenario = prepared.scenario
    if scenario is None:
        return []
    return [t for items in scenario.all_thresholds.values() for t in items if not t.for_k6]


def _analyses(results: RunResults, prepared: PreparedRun, observer: RunObserver) -> list:
    """Scenario analyses (stress, soak, spike, capacity) as report sections."""
    if prepared.scenario is None or not prepared.scenario.analyses:
        return []
    try:
        from novaload.analysis import run_analyses
    except ImportError:
        return []
    try:
        return run_analyses(prepared.scenario.analyses, results, prepared)
    except Exception as exc:  # noqa: BLE001 - an analysis bug must not cost the report
        observer.warn(f"analysis failed: {exc}")
        return []


__all__ = ["RunObserver", "RunOutcome", "SilentObserver", "finish_run", "run_test"]
