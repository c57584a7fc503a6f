"""Turn a run request into an execution plan: pick config, render or adopt the
script, decide k6's arguments and environment, and check the safety rules
(production needs ``--yes``; secrets only through the environment).

Preparing writes nothing: everything k6 would reject at start is found here, before a
run folder is claimed or the demo target starts. The pipeline then writes the script
(``PreparedRun.script_content``) into the claimed folder."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.config.durations import K6_MAX_INT, parse_duration
from novaload.errors import UsageError, quoted
from novaload.redact import environment_secrets, is_secret_variable, remember, secret_values, url_credentials
from novaload.results.endpoint_cap import DEFAULT_MAX_ENDPOINTS, check_max_endpoints
from novaload.runfolder import RAW_RESULTS_NAMES, script_name
from novaload.runners import dashboard as k6_dashboard
from novaload.runners import k6args
from novaload.runners.base import SETUP_MODES, K8sOptions
from novaload.runners.dashboard import Dashboard

if TYPE_CHECKING:
    # Imported where a run needs them: a user's script without --env/--target reads no
    # configuration, and only a scenario is rendered (tests/test_startup.py).
    from novaload.config.models import Environment, Profile, Scenario, Tracing
    from novaload.scenario.tracing import TracedScript

RAW_RESULTS = RAW_RESULTS_NAMES  # --raw → k6's results file name (novaload.runfolder owns them)


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What the user asked for (CLI flags or library arguments)."""

    target: str  # a scenario name, or a path to a k6 script (.js/.mjs/.ts)
    environment: str | None = None
    profile: str | None = None
    runner: str = "local"
    parallelism: int = 1
    vus: int | None = None
    duration: str | None = None
    target_url: str | None = None
    out_dir: Path | None = None
    k6: str | None = None  # explicit k6 binary
    yes: bool = False  # confirmed a run against an environment that requires it
    monitor: bool = False
    monitor_native_histograms: bool = False  # trends as Prometheus native histograms
    image: str | None = None
    network: str | None = None
    kubernetes: K8sOptions | None = None  # --runner k8s: namespace, context, mode
    config_dir: Path | None = None
    scenarios_dir: Path | None = None
    # k6 run's own flags, handed to k6 as written (`novaload run SCRIPT -- K6_ARGS`), after
    # a check against k6's flag table and against what novaload passes itself
    # (novaload.runners.k6args). k6's --vus, --duration and --summary-trend-stats mean
    # novaload's options of that name.
    extra_k6_args: tuple[str, ...] = ()
    baseline: str | None = None  # compare with this run/selector at the end ("last-passing")
    baseline_branch: str | None = None
    history_dir: Path | None = None  # the run-history store [reports/.history]
    record_history: bool = True
    strict_generator: bool = False  # an untrustworthy load generator exits 5
    raw: str = "json"  # k6's raw output in the run folder: a key of RAW_RESULTS
    overwrite: bool = False  # replace an earlier run in out_dir (else it is refused)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # A user script's identity in history and baselines [its path relative to the
    # repository root, or to the working directory].
    name: str | None = None
    # k6 runs here, as `k6 run` would from the user's shell [the current directory].
    working_dir: Path | None = None
    summary_trend_stats: str | None = None  # k6's --summary-trend-stats, e.g. "avg,p(99.99),count"
    no_data: str | None = None  # "fail": a threshold without samples fails the run [pass]
    # the endpoint tables' rows; the rest (fewest requests) are one "(other)" row
    max_endpoints: int = DEFAULT_MAX_ENDPOINTS
    # A split run's setup() and teardown(): "once" or "per-runner" (runners.base.SETUP_MODES);
    # None: once, where the runner can (not under k6-operator, which starts its runners itself).
    setup: str | None = None
    # --traces/--no-traces (None: the scenario's or environment's tracing: decides), and
    # --trace-propagator / --trace-sampling (either implies --traces)
    traces: bool | None = None
    trace_propagator: str | None = None
    trace_sampling: float | None = None
    # --dashboard/--no-dashboard (None: $K6_WEB_DASHBOARD decides, as for k6), and where it
    # listens (--dashboard-host/-port/-period, each implying --dashboard; None: k6's
    # variables of that name, else loopback, 5665, 10s): novaload.runners.dashboard
    dashboard: bool | None = None
    dashboard_host: str | None = None
    dashboard_port: int | None = None
    dashboard_period: str | None = None

    @property
    def is_script(self) -> bool:
        return self.target.endswith((".js", ".mjs", ".cjs", ".ts")) or os.sep in self.target


@dataclass(frozen=True, slots=True)
class PreparedRun:
    scenario_name: str
    script: Path  # what k6 runs
    script_copy: Path  # the script as kept in the run folder
    script_content: bytes  # what the pipeline writes to script_copy once the folder is claimed
    environment: Environment | None
    profile: Profile | None
    scenario: Scenario | None
    k6_args: tuple[str, ...]
    env: dict[str, str]
    secrets: tuple[str, ...]
    planned_duration_s: float | None
    warnings: tuple[str, ...] = ()
    working_dir: Path | None = None  # k6's working directory (None = the run folder)
    trend_stats: tuple[str, ...] | None = None  # asked with --summary-trend-stats
    no_data: str = "pass"  # "pass" | "fail"
    max_endpoints: int = DEFAULT_MAX_ENDPOINTS  # RunRequest.max_endpoints, checked
    # The user's own --summary-export: k6 writes the run folder's, copied there afterwards.
    summary_export: Path | None = None
    no_thresholds: bool = False  # k6's --no-thresholds: no threshold is judged, by k6 or novaload
    tracing: Tracing | None = None  # --traces: the run's propagator, sampling, trace links
    # Written into the run folder beside the script copy (--traces: k6-traced.js, what k6
    # runs, and k6-tracing.js), and folders k6 reads besides the script's (mounted by the
    # Docker runner): a traced user script's own.
    extra_files: tuple[tuple[Path, bytes], ...] = ()
    source_dirs: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()  # said once the run starts (not warnings)
    dashboard: Dashboard | None = None  # --dashboard: k6's web dashboard


def planned_duration(profile: Profile | None) -> float | None:
    """Roughly how long the profile runs (for "remaining"); None when unknown."""
    if profile is None:
        return None
    if profile.shape is not None:
        return parse_duration(profile.shape.duration)
    if profile.stages:
        return sum(parse_duration(s.duration) for s in profile.stages)
    return parse_duration(profile.duration) if profile.duration else None


def _confirm(environment: Environment, yes: bool) -> None:
    if environment.requires_confirmation and not yes:
        raise UsageError(
            f"environment {environment.name!r} requires confirmation: add --yes to send load to "
            f"{environment.base_url}"
        )


def _remembered(
    secrets: Sequence[str], k6_args: Sequence[str], environ: Mapping[str, str]
) -> tuple[str, ...]:
    """Every secret of this run, remembered for all that novaload writes or prints
    (redact.py): the referenced ones, ``-e NAME=VALUE`` whose name says it is a secret,
    and the environment's own secret-named variables."""
    named = [
        value
        for flag, arg in zip(k6_args, k6_args[1:])
        if flag in ("-e", "--env")
        for name, _, value in [arg.partition("=")]
        if value and is_secret_variable(name)
    ]
    found = tuple(dict.fromkeys([*secrets, *named, *environment_secrets(environ)]))
    remember(found)
    return found


def _secret_env(
    environment: Environment, environ: Mapping[str, str], scenario: Scenario | None = None
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """k6's environment for the secrets the environment (and the scenario's endpoints)
    reference, the values to redact, and a warning per variable that is not set.

    The variables are passed explicitly (not only inherited), so k6 in a container, which
    inherits nothing, receives them too: through its environment, never through a file.
    """
    # Endpoint headers/paths (e.g. imported API keys) reference secrets the same way.
    from_scenario = scenario.secret_refs - environment.secret_refs if scenario else frozenset()
    names = sorted(environment.secret_refs | from_scenario)
    missing = tuple(
        f"environment variable {n} (referenced by "
        + (
            f"scenario {scenario.name!r} endpoints"
            if scenario and n in from_scenario
            else f"environment {environment.name!r} headers"
        )
        + ") is not set"
        for n in names
        if not environ.get(n)
    )
    env = {n: environ[n] for n in names if environ.get(n)}
    secrets = (
        *secret_values(names, environ),
        *url_credentials(environment.base_url),
        *url_credentials(environment.ws_url),
    )
    return env, secrets, missing


def _trend_stats(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    stats = tuple(s.strip() for s in text.split(",") if s.strip())
    for stat in stats:
        pct = stat[2:-1] if stat.startswith("p(") and stat.endswith(")") else None
        try:
            ok = stat in ("avg", "min", "med", "max", "count") or (pct is not None and 0 <= float(pct) <= 100)
        except ValueError:
            ok = False
        if not ok:
            raise UsageError(f"--summary-trend-stats: {stat!r} is not avg, min, med, max, count or p(N)")
    if not stats:
        raise UsageError("--summary-trend-stats: give at least one stat, e.g. avg,p(95),count")
    return stats


def _no_data(request: RunRequest, scenario: Scenario | None) -> str:
    value = request.no_data or (scenario.no_data if scenario is not None else None) or "pass"
    if value not in ("pass", "fail"):
        raise UsageError(f"--no-data: {value!r} is not 'pass' or 'fail'")
    return value


def script_identity(script: Path, working_dir: Path) -> str:
    """A user script's name in history and baselines: its path relative to the root of the
    git repository it lives in, else to the working directory, else its absolute path.

    Two ``script.js`` in different folders are different tests; the same file run from
    another directory of the same repository is the same test.
    """
    resolved = script.resolve()
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=resolved.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        root = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        root = None
    for base in (root, working_dir.resolve()):
        if base is not None and resolved.is_relative_to(base.resolve()):
            return resolved.relative_to(base.resolve()).as_posix()
    return resolved.as_posix()


@dataclass(frozen=True, slots=True)
class _UserArgs:
    """The user's k6 arguments, sorted out for this run."""

    argv: tuple[str, ...]  # what goes to k6 as written
    env: dict[str, str]  # secret-looking -e NAME=VALUE: through k6's environment instead
    secrets: tuple[str, ...]
    summary_export: Path | None
    no_thresholds: bool
    relative_paths: bool  # a path relative to the working directory, as under `k6 run`


# `-e NAME=VALUE` whose NAME says it is a secret: its value is masked in everything novaload
# writes or prints, and reaches k6 through its environment (same __ENV.NAME), not argv.
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|PWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)


def _user_k6_args(
    request: RunRequest, k6_version: str | None, dashboard: bool
) -> tuple[RunRequest, _UserArgs]:
    """Parse and check the user's k6 arguments; merge k6's --vus, --duration and
    --summary-trend-stats into the request's options of that name."""
    parsed = k6args.parse(request.extra_k6_args, k6_version=k6args.k6_version(k6_version))
    parsed = k6args.for_run(
        parsed,
        runner=request.runner,
        parallelism=request.parallelism,
        scenario=not request.is_script,
        dashboard=dashboard,
    )
    merged: dict[str, object] = {}
    for flag, attr in (
        ("vus", "vus"),
        ("duration", "duration"),
        ("summary-trend-stats", "summary_trend_stats"),
    ):
        theirs, ours = parsed.last(flag), getattr(request, attr)
        if theirs is None:
            continue
        if flag == "vus":
            if int(theirs, 0) < 1:
                raise UsageError(f"k6 arguments: --vus {theirs}: must be at least 1")
            theirs_value: object = int(theirs, 0)
        else:
            theirs_value = theirs
        if ours is not None and ours != theirs_value:
            raise UsageError(f"--{flag} {ours} and k6's --{flag} {theirs} after --: give it once")
        merged[attr] = theirs_value
    working_dir = (request.working_dir or Path.cwd()).resolve()
    export = parsed.last("summary-export")
    keep_in_argv = not parsed.given("include-system-env-vars") or parsed.enabled("include-system-env-vars")
    env: dict[str, str] = {}
    secrets: list[str] = []
    for option in parsed.given("env"):
        name, _, value = (option.value or "").partition("=")
        if _SECRET_NAME.search(name):
            secrets.append(value)
            if keep_in_argv:
                env[name] = value
    # Moved out of argv: k6 reads its environment into __ENV as well.
    parsed = parsed.keeping(lambda o: o.flag.name != "env" or (o.value or "").partition("=")[0] not in env)
    paths = [k6args.local_path(o) for o in parsed.options if o.flag.name != "summary-export"]
    user = _UserArgs(
        argv=parsed.without("vus", "duration", "summary-trend-stats", "summary-export").argv,
        env=env,
        secrets=tuple(secrets),
        summary_export=(working_dir / export) if export else None,
        no_thresholds=parsed.enabled("no-thresholds"),
        relative_paths=any(p is not None and not Path(p).is_absolute() for p in paths),
    )
    return (replace(request, **merged) if merged else request), user  # type: ignore[arg-type]


def prepare(request: RunRequest, run_id: str, run_dir: Path, k6_version: str | None = None) -> PreparedRun:
    """Decide everything about the run before anything starts (``run_dir`` is where the
    run will go; nothing is written there). ``k6_version``: the k6 that will run (its
    flags are checked against its major version's)."""
    if request.setup is not None and request.setup not in SETUP_MODES:
        raise UsageError(f"--setup {request.setup!r}: use one of {', '.join(SETUP_MODES)}")
    dashboard = k6_dashboard.resolve(
        request.dashboard,
        request.dashboard_host,
        request.dashboard_port,
        request.dashboard_period,
        request.environ,
        runner=request.runner,
        parallelism=request.parallelism,
    )
    request, user = _user_k6_args(request, k6_version, dashboard is not None)
    args: list[str] = [*user.argv]
    trend_stats = _trend_stats(request.summary_trend_stats)
    if trend_stats is not None:
        args += ["--summary-trend-stats", ",".join(trend_stats)]
    if request.vus is not None and request.vus > K6_MAX_INT:  # k6 reads an int64
        raise UsageError(f"--vus: at most {K6_MAX_INT:,} as k6 reads it (got {quoted(request.vus)})")
    if request.is_script:
        prepared = _prepare_script(request, run_id, run_dir, args, trend_stats)
    else:
        prepared = _prepare_scenario(request, run_id, run_dir, args, trend_stats)
        if user.relative_paths:  # k6 resolves them where the user is, as `k6 run` does
            prepared = replace(prepared, working_dir=(request.working_dir or Path.cwd()).resolve())
    return replace(
        prepared,
        env={**user.env, **prepared.env, **_dashboard_off(dashboard, request.environ)},
        secrets=_remembered((*prepared.secrets, *user.secrets), args, request.environ),
        summary_export=user.summary_export,
        no_thresholds=user.no_thresholds,
        dashboard=dashboard,
        notes=(*prepared.notes, *_dashboard_notes(dashboard, prepared, request.environ)),
    )


def _dashboard_off(dashboard: Dashboard | None, environ: Mapping[str, str]) -> dict[str, str]:
    """--no-dashboard beside the user's K6_WEB_DASHBOARD=true: the local k6 inherits it."""
    return dict(k6_dashboard.OFF_ENV) if dashboard is None and environ.get("K6_WEB_DASHBOARD") else {}


def _dashboard_notes(
    dashboard: Dashboard | None, prepared: PreparedRun, environ: Mapping[str, str]
) -> tuple[str, ...]:
    if dashboard is None:
        return ()
    notes = []
    if environ.get("K6_WEB_DASHBOARD_EXPORT"):
        notes.append("K6_WEB_DASHBOARD_EXPORT: --dashboard exports into the run folder instead")
    short = k6_dashboard.short_run_note(dashboard, prepared.planned_duration_s)
    return (*notes, *([short] if short else []))


def _prepare_scenario(
    request: RunRequest, run_id: str, run_dir: Path, args: list[str], trend_stats: tuple[str, ...] | None
) -> PreparedRun:
    if request.name is not None:
        raise UsageError("--name names your own script; a scenario is named by its config")
    from novaload.config import Overrides, load_project, select
    from novaload.scenario.render import render

    project = load_project(request.config_dir, request.scenarios_dir)
    overrides = Overrides(
        environment=request.environment,
        profile=request.profile,
        vus=request.vus,
        duration=request.duration,
        target_url=request.target_url,
    ).merged_with_env(request.environ)
    selection = select(project, request.target, overrides)
    _confirm(selection.environment, request.yes)
    assert selection.scenario is not None
    rendered = render(
        selection.scenario,
        selection.environment,
        selection.profile,
        scenarios_dir=request.scenarios_dir,
    )
    script = run_dir / script_name(selection.scenario.name)
    tracing = _tracing(request, selection.scenario, selection.environment)
    traced = _traced(script, run_dir, tracing) if tracing is not None else None
    secret_env, secrets, missing = _secret_env(selection.environment, request.environ, selection.scenario)
    env = {**secret_env, "NOVALOAD_RUN_ID": run_id}
    if not selection.environment.uses_demo_target:
        env["NOVALOAD_BASE_URL"] = selection.environment.base_url
        if selection.environment.ws_url:
            env["NOVALOAD_WS_URL"] = selection.environment.ws_url
    return PreparedRun(
        scenario_name=selection.scenario.name,
        script=traced.entry if traced else script,
        script_copy=script,
        script_content=rendered.text.encode("utf-8"),
        environment=selection.environment,
        profile=selection.profile,
        scenario=selection.scenario,
        k6_args=tuple(args),
        env=env,
        secrets=secrets,
        planned_duration_s=planned_duration(selection.profile),
        warnings=missing,
        trend_stats=trend_stats,
        no_data=_no_data(request, selection.scenario),
        max_endpoints=check_max_endpoints(request.max_endpoints),
        tracing=tracing,
        extra_files=traced.files if traced else (),
        notes=(_traced_note(tracing),) if tracing else (),
    )


def _prepare_script(
    request: RunRequest, run_id: str, run_dir: Path, args: list[str], trend_stats: tuple[str, ...] | None
) -> PreparedRun:
    """A user's own script runs unchanged, as `k6 run` runs it from the user's directory:
    only explicit CLI overrides touch its options."""
    script = Path(request.target)
    if not script.is_file():
        raise UsageError(
            f"{request.target}: no such scenario or script file", hint="`novaload list` shows the scenarios"
        )
    try:
        # Kept in the run folder for the record; k6 runs the original (its imports are relative).
        content = script.read_bytes()
    except OSError as exc:
        raise UsageError(f"{request.target}: cannot read the script: {exc.strerror}") from None
    copy = run_dir / script_name(None, script)
    if request.vus is not None:
        args += ["--vus", str(request.vus)]
    if request.duration is not None:
        try:
            seconds = parse_duration(request.duration)
        except ValueError as exc:
            raise UsageError(f"--duration: {exc}") from None
        if seconds <= 0:  # k6 rejects it at start (exit 104)
            raise UsageError(f"--duration: must be longer than 0s (got {request.duration!r})")
        args += ["--duration", request.duration]
    environment = None
    env = {"NOVALOAD_RUN_ID": run_id}
    # Only an explicit --env/--target points a user's script somewhere (NOVALOAD_BASE_URL).
    if request.environment or request.target_url:
        from novaload.config.loader import load_environment_config
        from novaload.config.resolve import Overrides, select_environment

        environments = load_environment_config(request.config_dir)
        overrides = Overrides(environment=request.environment, target_url=request.target_url)
        environment = select_environment(environments, overrides)
        _confirm(environment, request.yes)
        if not environment.uses_demo_target:
            env["NOVALOAD_BASE_URL"] = environment.base_url
    secret_env, secrets, missing = _secret_env(environment, request.environ) if environment else ({}, (), ())
    env.update(secret_env)
    duration = parse_duration(request.duration) if request.duration else None
    working_dir = (request.working_dir or Path.cwd()).resolve()
    tracing = _tracing(request, None, environment)
    traced: TracedScript | None = None
    notes: tuple[str, ...] = ()
    if tracing is not None:
        from novaload.scenario.tracing import instrumented_by

        own = instrumented_by(script)
        if own is not None:  # its own trace ids are the exemplars'; two headers would clash
            notes = (f"--traces: {own} puts trace context on its requests itself; it runs as it is",)
        else:
            traced = _traced(script, run_dir, tracing)
            notes = (_traced_note(tracing),)
    return PreparedRun(
        scenario_name=request.name or script_identity(script, working_dir),
        script=traced.entry if traced else script.resolve(),
        script_copy=copy,
        script_content=content,
        environment=environment,
        profile=None,
        scenario=None,
        k6_args=tuple(args),
        env=env,
        secrets=secrets,
        planned_duration_s=duration,
        warnings=missing,
        working_dir=working_dir,
        trend_stats=trend_stats,
        no_data=_no_data(request, None),
        max_endpoints=check_max_endpoints(request.max_endpoints),
        tracing=tracing,
        extra_files=traced.files if traced else (),
        source_dirs=(traced.source_dir,) if traced else (),
        notes=notes,
    )


def _tracing(
    request: RunRequest, scenario: Scenario | None, environment: Environment | None
) -> Tracing | None:
    asked = request.traces is not None or request.trace_propagator or request.trace_sampling is not None
    if not asked and scenario is None and environment is None:
        return None  # a user's script, no flag: no configuration is read
    from novaload.scenario.tracing import resolve

    return resolve(
        scenario,
        environment,
        traces=request.traces,
        propagator=request.trace_propagator,
        sampling=request.trace_sampling,
    )


def _traced(script: Path, run_dir: Path, tracing: Tracing) -> TracedScript:
    from novaload.scenario.tracing import traced_script

    return traced_script(script, run_dir, tracing)


def _traced_note(tracing: Tracing) -> str:
    kept = "every trace" if tracing.sampling == 1 else f"a ratio of {tracing.sampling:g} of the traces"
    return f"--traces: {tracing.propagator} trace context on every request, {kept} sampled"


__all__ = ["PreparedRun", "RunRequest", "planned_duration", "prepare", "script_identity"]
