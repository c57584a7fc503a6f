"""Reports from existing k6 results, without a run (``novaload report``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.errors import RunFolderError
from novaload.results.endpoint_cap import DEFAULT_MAX_ENDPOINTS
from novaload.runfolder import REPORT_MD, RESULTS_PATTERNS, SUMMARY_JSON, is_k6_summary
from novaload.thresholds import NO_DATA_CHOICES

if TYPE_CHECKING:  # pandas-backed; imported when reports are actually built
    from novaload.results.model import RunResults
    from novaload.thresholds import Threshold


@dataclass(frozen=True, slots=True)
class BuiltReports:
    results: RunResults
    files: list[Path]
    exit_code: int = 0  # decided by novaload.run.outcome, as for a run


def build_reports(
    sources: Sequence[Path],
    out_dir: Path,
    *,
    k6_summary: Path | None = None,
    thresholds_file: Path | None = None,
    replace_thresholds: bool = False,
    window_s: float = 1.0,
    lenient: bool = False,
    scenario: str | None = None,
    strict_generator: bool = False,
    apdex_t_ms: float | None = None,
    trend_stats: Sequence[str] | None = None,
    no_data: str = "pass",
    script: Path | None = None,
    script_env: Mapping[str, str] | None = None,
    k6: str | None = None,
    max_endpoints: int = DEFAULT_MAX_ENDPOINTS,
) -> BuiltReports:
    """Ingest ``sources`` and write every report into ``out_dir``.

    ``sources`` may be one run folder: its k6 results files (every instance of a split
    run, plain or gzip) and k6 summary are used, e.g. to rebuild the report of a run
    whose novaload process died while k6 ran.
    The load generator is judged from the folder of the first results file (a run
    folder holds k6.log and generator-samples.jsonl) with the default criteria.

    ``script``: the k6 script the results came from; its thresholds, as ``k6 inspect``
    reads them (``script_env`` is its ``-e``), judge the results, so the exit code is
    k6's. Without it (or a k6 summary), results that name a thresholded submetric whose
    thresholds k6's JSON output dropped exit 7 (``THRESHOLDS_INCOMPLETE``), never 0.
    ``max_endpoints``: the endpoint tables' rows (``results.endpoint_cap``; 1,000).
    """
    from novaload.config.models import DEFAULT_APDEX_T_MS, GeneratorCriteria
    from novaload.errors import ExitCode, InputError, UsageError
    from novaload.reports import ReportContext, append_step_summary, default_verdict, write_all
    from novaload.results.completeness import foreign_summary
    from novaload.results.generator import assess_run_folder
    from novaload.results.ingest import ingest
    from novaload.results.summary import write_summary
    from novaload.run.outcome import exit_code_for, verdict_for
    from novaload.run.tracelinks import trace_links
    from novaload.thresholds import load_thresholds_file

    extra = load_thresholds_file(thresholds_file) if thresholds_file else None
    if script is not None:
        extra = [*script_thresholds(script, script_env or {}, k6), *(extra or [])]
    given_summary = k6_summary
    run_dir: Path | None = None
    if len(sources) == 1 and Path(sources[0]).is_dir():
        run_dir = Path(sources[0])
        sources, k6_summary = _run_folder_sources(run_dir, k6_summary)
    if no_data not in NO_DATA_CHOICES:
        raise UsageError(f"--no-data: {no_data!r} is not 'pass' or 'fail'")
    results = ingest(
        list(sources),
        k6_summary=k6_summary,
        extra_thresholds=extra,
        thresholds_replace=replace_thresholds,
        window_s=window_s,
        lenient=lenient,
        apdex_t_ms=DEFAULT_APDEX_T_MS if apdex_t_ms is None else apdex_t_ms,
        trend_stats=trend_stats,
        no_data="fail" if no_data == "fail" else "pass",
        max_endpoints=max_endpoints,
    )
    if given_summary is not None and (why := foreign_summary(given_summary, results.arrived)):
        raise InputError(f"--k6-summary {why}")
    if run_dir is not None:
        results.incomplete = _run_folder_gaps(run_dir, results)
        results.warnings.extend(results.incomplete)
    results.load_generator = assess_run_folder(
        Path(sources[0]).resolve().parent,
        dropped_iterations=int(results.value("dropped_iterations", "count", 0) or 0),
        origin_s=results.started_at.timestamp() if results.started_at else None,
        criteria=GeneratorCriteria(strict=strict_generator),
    )
    exit_code = exit_code_for(0, results, strict_generator=strict_generator, k6_judged=False)
    context = ReportContext(
        run_id=out_dir.resolve().name,
        scenario=scenario or Path(sources[0]).name.split(".")[0],
        verdict=verdict_for(exit_code, results)
        if exit_code
        in (ExitCode.GENERATOR_UNTRUSTWORTHY, ExitCode.THRESHOLDS_INCOMPLETE, ExitCode.NO_RESULTS)
        else default_verdict(results),
        started_at=results.started_at,
        ended_at=results.ended_at,
        exit_code=exit_code,
        # a traced run's exemplars link to the stack's Jaeger (NOVALOAD_JAEGER_URL)
        trace_links=trace_links(None) if results.exemplars else None,
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        files = [write_summary(results, out_dir / SUMMARY_JSON)]
        files += write_all(results, context, out_dir)
        append_step_summary((out_dir / REPORT_MD).read_text(encoding="utf-8"))
    except OSError as exc:  # a file in the way, a read-only or full disk: the user's folder
        where = exc.filename if isinstance(exc.filename, str) else str(out_dir)
        raise RunFolderError(f"{where}: cannot write the reports: {exc.strerror or exc}") from None
    return BuiltReports(results=results, files=files, exit_code=exit_code)


_INSPECT_TIMEOUT_S = 120


def script_thresholds(script: Path, env: Mapping[str, str], k6: str | None = None) -> list[Threshold]:
    """The thresholds of ``script`` as k6 sees them: ``k6 inspect`` evaluates its options
    (``env`` as ``-e NAME=VALUE``, which an ``options`` computed from ``__ENV`` needs)."""
    import subprocess

    from novaload.errors import InputError
    from novaload.inputs import K6_SUMMARY, load_json
    from novaload.runners.k6binary import find_k6
    from novaload.thresholds import thresholds_from_mapping

    if not script.is_file():
        raise InputError(f"--script {script}: no such file")
    binary = find_k6(k6).path
    args = [binary, "inspect", *(a for k, v in env.items() for a in ("-e", f"{k}={v}")), str(script)]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=_INSPECT_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"--script {script}: k6 inspect took longer than {_INSPECT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        last = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()][-1:] or ["?"]
        raise InputError(f"--script {script}: k6 inspect failed (exit {done.returncode}): {last[0][:300]}")
    options = load_json(done.stdout, f"k6 inspect {script}", K6_SUMMARY, what="k6 inspect output")
    found = options.get("thresholds") if isinstance(options, dict) else None
    return thresholds_from_mapping(found or {}, source="script", origin=str(script)) if found else []


def _run_folder_sources(run_dir: Path, k6_summary: Path | None) -> tuple[list[Path], Path | None]:
    from novaload.compare.inputs import run_sources
    from novaload.errors import InputError

    found, summary = run_sources(run_dir)
    if not found:
        raise InputError(
            f"{run_dir}: no k6 results ({' or '.join(RESULTS_PATTERNS)}) in this run folder"
            " (a run with --raw none keeps only its report)"
        )
    if summary is None:  # a split run: every instance's summary has the run's duration
        summary = next((p for p in sorted(run_dir.iterdir()) if is_k6_summary(p.name)), None)
    # sources[0]'s folder is where the load generator's samples are looked for
    return [p.resolve() for p in found], k6_summary or summary


def _run_folder_gaps(run_dir: Path, results: RunResults) -> list[str]:
    """A run folder's instances whose results did not all arrive (as ``run`` judges
    them), unless its run.json says k6 did not finish (a crash, an interrupt)."""
    from novaload.results.completeness import Instance, gaps
    from novaload.runfolder import K6_RESULTS, K6_SUMMARY_EXPORT, instance_file, read_run_record

    record = read_run_record(run_dir)
    if record is not None and any(code not in (0, 99) for code in record.k6_exit_codes):
        return []
    count = max(1, record.parallelism if record is not None else 1)
    instances = []
    for i in range(count):
        plain = run_dir / instance_file(K6_RESULTS, i, count)
        gz = plain.with_name(plain.name + ".gz")
        label = f"runner {i + 1}/{count}" if count > 1 else "k6"
        results_file = gz if gz.exists() and not plain.exists() else plain
        instances.append(Instance(label, results_file, run_dir / instance_file(K6_SUMMARY_EXPORT, i, count)))
    return gaps(instances, results.arrived)


__all__ = ["BuiltReports", "build_reports", "script_thresholds"]
