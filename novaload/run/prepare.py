"""Turn a run request into an execution plan: pick config, render or adopt the
script, decide k6's arguments and environment, and check the safety rules
(production needs ``--yes``; secrets only through the environment).

Preparing writes nothing: everything k6 would reject at start is found here, before a
run folder is claimed or the demo target starts. The pipeline then writes the script
(``PreparedRun.script_content``) into the claimed folder."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from novaload.config import Overrides, load_project, parse_duration, select
from novaload.config.models import Environment, Profile, Scenario
from novaload.errors import UsageError
from novaload.redact import secret_values, url_credentials
from novaload.runfolder import RAW_RESULTS_NAMES, script_name
from novaload.runners.base import K8sOptions
from novaload.scenario.render import render

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


def prepare(request: RunRequest, run_id: str, run_dir: Path) -> PreparedRun:
    """Decide everything about the run before anything starts (``run_dir`` is where the
    run will go; nothing is written there)."""
    args: list[str] = [*request.extra_k6_args]
    trend_stats = _trend_stats(request.summary_trend_stats)
    if trend_stats is not None:
        args += ["--summary-trend-stats", ",".join(trend_stats)]
    if request.is_script:
        return _prepare_script(request, run_id, run_dir, args, trend_stats)
    if request.name is not None:
        raise UsageError("--name names your own script; a scenario is named by its config")
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
        run_id=run_id,
        scenarios_dir=request.scenarios_dir,
    )
    script = run_dir / script_name(selection.scenario.name)
    secret_env, secrets, missing = _secret_env(selection.environment, request.environ, selection.scenario)
    env = {**secret_env, "NOVALOAD_RUN_ID": run_id}
    if not selection.environment.uses_demo_target:
        env["NOVALOAD_BASE_URL"] = selection.environment.base_url
        if selection.environment.ws_url:
            env["NOVALOAD_WS_URL"] = selection.environment.ws_url
    return PreparedRun(
        scenario_name=selection.scenario.name,
        script=script,
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
        project = load_project(request.config_dir, request.scenarios_dir)
        overrides = Overrides(environment=request.environment, target_url=request.target_url)
        environment = select(project, None, overrides).environment
        _confirm(environment, request.yes)
        if not environment.uses_demo_target:
            env["NOVALOAD_BASE_URL"] = environment.base_url
    secret_env, secrets, missing = _secret_env(environment, request.environ) if environment else ({}, (), ())
    env.update(secret_env)
    duration = parse_duration(request.duration) if request.duration else None
    working_dir = (request.working_dir or Path.cwd()).resolve()
    return PreparedRun(
        scenario_name=request.name or script_identity(script, working_dir),
        script=script.resolve(),
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
    )


__all__ = ["PreparedRun", "RunRequest", "planned_duration", "prepare", "script_identity"]
