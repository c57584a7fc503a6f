"""Reports from existing k6 results, without a run (``novaload report``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.errors import RunFolderError
from novaload.runfolder import REPORT_MD, RESULTS_PATTERNS, SUMMARY_JSON, is_k6_summary

if TYPE_CHECKING:  # pandas-backed; imported when reports are actually built
    from novaload.results.model import RunResults


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
) -> BuiltReports:
    """Ingest ``sources`` and write every report into ``out_dir``.

    ``sources`` may be one run folder: its k6 results files (every instance of a split
    run, plain or gzip) and k6 summary are used, e.g. to rebuild the report of a run
    whose novaload process died while k6 ran.
    The load generator is judged from the folder of the first results file (a run
    folder holds k6.log and generator-samples.jsonl) with the default criteria.
    """
    from novaload.config.models import DEFAULT_APDEX_T_MS, GeneratorCriteria
    from novaload.errors import ExitCode, UsageError
    from novaload.reports import ReportContext, append_step_summary, default_verdict, write_all
    from novaload.results.generator import assess_run_folder
    from novaload.results.ingest import ingest
    from novaload.results.summary import write_summary
    from novaload.run.outcome import exit_code_for, verdict_for
    from novaload.thresholds import load_thresholds_file

    extra = load_thresholds_file(thresholds_file) if thresholds_file else None
    if len(sources) == 1 and Path(sources[0]).is_dir():
        sources, k6_summary = _run_folder_sources(Path(sources[0]), k6_summary)
    if no_data not in ("pass", "fail"):
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
    )
    results.load_generator = assess_run_folder(
        Path(sources[0]).resolve().parent,
        dropped_iterations=int(results.value("dropped_iterations", "count", 0) or 0),
        origin_s=results.started_at.timestamp() if results.started_at else None,
        criteria=GeneratorCriteria(strict=strict_generator),
    )
    exit_code = exit_code_for(0, results, strict_generator=strict_generator)
    context = ReportContext(
        run_id=out_dir.resolve().name,
        scenario=scenario or Path(sources[0]).name.split(".")[0],
        verdict=verdict_for(exit_code, results)
        if exit_code == ExitCode.GENERATOR_UNTRUSTWORTHY
        else default_verdict(results),
        started_at=results.started_at,
        ended_at=results.ended_at,
        exit_code=exit_code,
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


__all__ = ["BuiltReports", "build_reports"]
