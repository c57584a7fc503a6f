"""Run a suite: each entry through :func:`run_test`, sequentially or in parallel, into one
suite folder, then the index reports and one exit code.

The suite folder (``reports/suite-<name>-<time>-<hex>/`` or ``--out-dir``) holds one run
folder per entry (``01-api/``, ``02-database/``, …, each exactly what ``novaload run``
writes), ``index.html``, ``index.md``, ``junit.xml`` and ``suite.json``. An ``--out-dir``
that already holds a suite (those files, or a run in one of the entries' folders) is
refused before anything runs unless ``overwrite``: then each run replaces its earlier run
folder as ``novaload run --overwrite`` does, and the index files are replaced.

Everything the suite names (scenarios, environments, profiles, scripts) is checked before
the first run starts, so a typo costs nothing. A run that cannot start or breaks does not
stop the others; its row says why. The suite's exit code is the worst of its runs' by
:data:`SEVERITY_ORDER`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from novaload.config.loader import load_project
from novaload.config.models import ProjectConfig
from novaload.config.suite import RunSettings, Suite, SuiteRun
from novaload.errors import ConfigError, ExitCode, NovaloadError, RunFolderError
from novaload.redact import remember, url_credentials
from novaload.runfolder import SUMMARY_JSON, earlier_run_files, new_reports_folder

# Worst first. A run that could not be judged is worse than one that was judged and failed.
SEVERITY_ORDER: tuple[tuple[str, str], ...] = (
    ("1", "internal error (a bug in novaload)"),
    ("2", "the run could not start: configuration, usage or input error"),
    (
        "other",
        "any other k6 exit code: the run broke or was aborted (e.g. 105 interrupted, 107 script error)",
    ),
    ("5", "the load generator was not trustworthy (--strict-generator): the figures cannot be judged"),
    ("99", "thresholds failed"),
    ("3", "regression against the baseline"),
    ("0", "passed"),
)
_RANK = {key: i for i, (key, _) in enumerate(SEVERITY_ORDER)}

EventCallback = Callable[[str], None]


def severity(code: int) -> int:
    """Rank of an exit code in :data:`SEVERITY_ORDER` (0 = worst)."""
    return _RANK.get(str(code), _RANK["other"])


def worst_exit_code(codes: list[int]) -> int:
    """The suite's exit code: the worst by :data:`SEVERITY_ORDER`; the first wins a tie."""
    if not codes:
        return int(ExitCode.OK)
    return min(codes, key=severity)  # min() keeps the first of equal ranks


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run of a suite as the index shows it."""

    index: int
    label: str
    target: str  # scenario name or script path
    settings: dict[str, Any]
    folder: str  # relative to the suite folder
    exit_code: int
    verdict: str  # passed / failed / regressed / error / not run
    run_id: str | None = None
    message: str = ""  # why it could not run / broke
    duration_s: float | None = None
    figures: dict[str, float | None] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SuiteOutcome:
    suite: Suite
    suite_dir: Path
    rows: tuple[RunRow, ...]
    exit_code: int
    verdict: str
    started_at: str
    duration_s: float
    files: tuple[Path, ...] = ()


def check_suite(
    suite: Suite, file: Path, project: ProjectConfig, overrides: RunSettings | None = None
) -> None:
    """Every name a suite uses exists (scenarios, scripts, environments, profiles): before anything runs."""
    overrides = overrides or RunSettings()

    def fail(i: int, key: str, value: str, what: str, known: list[str]) -> None:
        raise ConfigError(
            f"unknown {what}",
            file=file,
            key=f"runs.{i}.{key}",
            value=value,
            hint=f"known: {', '.join(sorted(known))}",
        )

    for i, run in enumerate(suite.runs):
        settings = run.settings.over(overrides).over(suite.defaults)
        if run.scenario is not None and run.scenario not in project.scenarios:
            fail(i, "scenario", run.scenario, "scenario", list(project.scenarios))
        if run.script is not None and not _script_path(run.script, file).is_file():
            raise ConfigError("script not found", file=file, key=f"runs.{i}.script", value=run.script)
        if settings.env is not None and settings.env not in project.environments:
            fail(i, "env", settings.env, "environment", list(project.environments))
        if settings.profile is not None and settings.profile not in project.profiles:
            fail(i, "profile", settings.profile, "profile", list(project.profiles))


def _run_folder_name(index: int, run: SuiteRun) -> str:
    """The folder of the suite's ``index``-th run (0-based) in the suite folder: ``01-api``."""
    return f"{index + 1:02d}-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", run.label).strip("-") or "run")


def _refuse_earlier_suite(suite: Suite, suite_dir: Path) -> None:
    """Raise :class:`RunFolderError` when ``suite_dir`` holds an earlier suite: its index
    files, or a run in the folder of one of ``suite``'s entries. Other files don't count."""
    from novaload.suite.index import SUITE_FILES

    folders = [_run_folder_name(i, run) for i, run in enumerate(suite.runs)]
    found = [f"{name}/" for name in folders if earlier_run_files(suite_dir / name)]
    found += [name for name in SUITE_FILES if os.path.lexists(suite_dir / name)]
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise RunFolderError(
            f"{suite_dir}: already holds a suite ({shown})",
            hint="pass --overwrite to replace its runs and index, or choose another --out-dir",
        )


def _script_path(script: str, suite_file: Path) -> Path:
    """A script path as written: relative to the current folder, else to the suite file's."""
    path = Path(script)
    if path.is_absolute() or path.is_file():
        return path.resolve()
    return (suite_file.parent / path).resolve()


def _figures(summary: Mapping[str, Any]) -> dict[str, float | None]:
    metrics = summary.get("metrics") if isinstance(summary.get("metrics"), dict) else {}

    def value(metric: str, key: str) -> float | None:
        entry = metrics.get(metric) if isinstance(metrics, dict) else None
        got = entry.get(key) if isinstance(entry, dict) else None
        return float(got) if isinstance(got, (int, float)) and not isinstance(got, bool) else None

    return {
        "requests": value("http_reqs", "count"),
        "rps": value("http_reqs", "rate"),
        "p95_ms": value("http_req_duration", "p(95)"),
        "p99_ms": value("http_req_duration", "p(99)"),
        "failed_rate": value("http_req_failed", "value"),
        "checks_rate": value("checks", "value"),
        "iterations": value("iterations", "count"),
    }


def _verdict_for(code: int, reported: str | None) -> str:
    if reported:
        return reported
    return {0: "passed", 99: "failed", 3: "regressed", 5: "untrustworthy"}.get(code, "error")


@dataclass
class _Context:
    suite: Suite
    suite_file: Path
    suite_dir: Path
    overrides: RunSettings
    k6: str | None
    config_dir: Path | None
    scenarios_dir: Path | None
    history_dir: Path | None
    environ: Mapping[str, str]
    on_event: EventCallback
    overwrite: bool = False  # each run replaces the earlier run in its folder
    interrupts: int = 0  # parallel suites: Ctrl-C/SIGTERM seen by the suite


def _k6_children() -> list[int]:
    """PIDs of the k6 processes this process started (Linux /proc; runs' own k6 only)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if comm == "k6" and len(fields) > 1 and fields[1] == str(me):
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def _parallel_interrupts(ctx: _Context) -> Iterator[None]:
    """Runs on worker threads get no signals (each k6 has its own session): the suite
    forwards them. First Ctrl-C/SIGTERM: every running k6 stops gracefully and no new run
    starts; second: they are killed. Only the k6 processes of this process are signalled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, _frame: object) -> None:
        ctx.interrupts += 1
        graceful = ctx.interrupts == 1
        ctx.on_event(
            "interrupt: stopping the running k6 processes gracefully (again to kill them)"
            if graceful
            else "second interrupt: killing the running k6 processes"
        )
        for pid in _k6_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT if graceful else signal.SIGKILL)

    saved = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _run_one(ctx: _Context, index: int, run: SuiteRun) -> RunRow:
    if ctx.interrupts:
        return _not_run(index, run, "interrupted")
    if run.only_if_env and ctx.environ.get(run.only_if_env, "").strip().lower() not in ("1", "true", "yes"):
        return _not_run(index, run, f"{run.only_if_env} is not true")

    from novaload.run.pipeline import run_test
    from novaload.run.prepare import RunRequest

    settings = run.settings.over(ctx.overrides).over(ctx.suite.defaults)
    folder = _run_folder_name(index, run)
    target = str(_script_path(run.script, ctx.suite_file)) if run.script else str(run.scenario)
    shown = settings.model_dump(exclude_none=True)
    request = RunRequest(
        target=target,
        environment=settings.env,
        profile=settings.profile,
        runner=settings.runner or "local",
        parallelism=settings.parallelism or 1,
        vus=settings.vus,
        duration=settings.duration,
        target_url=settings.target,
        out_dir=ctx.suite_dir / folder,
        overwrite=ctx.overwrite,
        k6=ctx.k6,
        config_dir=ctx.config_dir,
        scenarios_dir=ctx.scenarios_dir,
        baseline=settings.baseline,
        history_dir=ctx.history_dir,
        environ=ctx.environ,
    )
    ctx.on_event(f"[{index + 1}/{len(ctx.suite.runs)}] {run.label}: started")
    started = time.monotonic()
    try:
        outcome = run_test(request)
    except NovaloadError as exc:
        ctx.on_event(f"[{index + 1}/{len(ctx.suite.runs)}] {run.label}: could not run: {exc}")
        return RunRow(index, run.label, target, shown, folder, int(exc.exit_code), "error", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken run must not take the suite's report with it
        message = f"internal error: {type(exc).__name__}: {exc}"
        ctx.on_event(f"[{index + 1}/{len(ctx.suite.runs)}] {run.label}: {message}")
        return RunRow(
            index, run.label, target, shown, folder, int(ExitCode.INTERNAL), "error", message=message
        )
    summary_path = outcome.run_dir / SUMMARY_JSON
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    figures = _figures(summary if isinstance(summary, dict) else {})
    verdict = _verdict_for(outcome.exit_code, outcome.verdict)
    # On a worker thread the pipeline cannot see the interrupt the suite forwarded to k6.
    interrupted = bool(outcome.execution is not None and outcome.execution.interrupted) or (
        ctx.interrupts > 0 and outcome.exit_code == ExitCode.K6_EXTERNAL_ABORT
    )
    message = "interrupted" if interrupted else ""
    if interrupted:
        verdict = "interrupted"
    elapsed = time.monotonic() - started
    ctx.on_event(
        f"[{index + 1}/{len(ctx.suite.runs)}] {run.label}: {verdict} (exit {outcome.exit_code}) in {elapsed:.1f} s"
    )
    return RunRow(
        index=index,
        label=run.label,
        target=target,
        settings=shown,
        folder=folder,
        exit_code=outcome.exit_code,
        verdict=verdict,
        run_id=outcome.run_id,
        message=message,
        duration_s=round(elapsed, 3),
        figures=figures,
        files=tuple(sorted(p.name for p in outcome.run_dir.iterdir() if p.is_file())),
    )


def _not_run(index: int, run: SuiteRun, reason: str) -> RunRow:
    return RunRow(index, run.label, run.scenario or str(run.script), {}, "", -1, "not run", message=reason)


def run_suite(
    suite: Suite,
    suite_file: Path,
    *,
    out_dir: Path | None = None,
    overwrite: bool = False,
    overrides: RunSettings | None = None,
    mode: str | None = None,
    max_parallel: int | None = None,
    k6: str | None = None,
    config_dir: Path | None = None,
    scenarios_dir: Path | None = None,
    history_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    on_event: EventCallback | None = None,
) -> SuiteOutcome:
    """Run every entry of ``suite`` and write the suite folder; never raises after the first run started.

    An ``out_dir`` that holds an earlier suite raises :class:`RunFolderError` before anything
    runs, unless ``overwrite``: then each run replaces the run in its folder (as a whole, as
    ``novaload run --overwrite``) and the index files are rewritten; other files stay.
    """
    from novaload.suite.index import write_index

    overrides = overrides or RunSettings()
    environ = dict(os.environ) if environ is None else environ
    on_event = on_event or (lambda message: None)
    # The suite's own targets may carry credentials: no suite file may show them.
    remember(c for r in [overrides, *suite.runs] for c in url_credentials(r.target))
    project = load_project(config_dir, scenarios_dir)
    check_suite(suite, suite_file, project, overrides)
    if out_dir is not None and not overwrite:
        _refuse_earlier_suite(suite, out_dir.resolve())
    _, suite_dir = new_reports_folder(f"suite-{suite.name}", out_dir)
    ctx = _Context(
        suite,
        suite_file,
        suite_dir,
        overrides,
        k6,
        config_dir,
        scenarios_dir,
        history_dir,
        environ,
        on_event,
        overwrite=overwrite,
    )
    mode = mode or suite.mode
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    rows: list[RunRow] = []
    if mode == "parallel":
        workers = max(1, min(max_parallel or suite.max_parallel or len(suite.runs), len(suite.runs)))
        with (
            _parallel_interrupts(ctx),
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suite-run") as pool,
        ):
            rows = list(pool.map(lambda item: _run_one(ctx, *item), enumerate(suite.runs)))
    else:
        for i, run in enumerate(suite.runs):
            last = rows[-1] if rows else None
            if last is not None and last.message == "interrupted":
                why = "interrupted"
            # A run left out by only_if_env did not fail: fail_fast looks at judged runs only.
            elif last is not None and suite.fail_fast and last.verdict != "not run" and last.exit_code != 0:
                why = f"fail_fast after {last.label}"
            else:
                rows.append(_run_one(ctx, i, run))
                continue
            rows += [_not_run(j, r, why) for j, r in enumerate(suite.runs[i:], start=i)]
            break
    judged = [r for r in rows if r.verdict != "not run"]
    exit_code = worst_exit_code([r.exit_code for r in judged])
    # The suite's verdict is its worst run's (the first of the worst, as for the code).
    worst = next((r for r in judged if r.exit_code == exit_code), None)
    verdict = "passed" if exit_code == 0 else (worst.verdict if worst else _verdict_for(exit_code, None))
    outcome = SuiteOutcome(
        suite=suite,
        suite_dir=suite_dir,
        rows=tuple(rows),
        exit_code=exit_code,
        verdict=verdict,
        started_at=started_at.isoformat(),
        duration_s=round(time.monotonic() - clock, 3),
    )
    files = write_index(outcome, environ=environ)
    return dataclasses.replace(outcome, files=files)


__all__ = [
    "SEVERITY_ORDER",
    "RunRow",
    "SuiteOutcome",
    "check_suite",
    "run_suite",
    "severity",
    "worst_exit_code",
]
