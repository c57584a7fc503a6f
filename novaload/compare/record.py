"""Registering runs in the history store: at the end of every ``novaload run``
(:func:`record_run`) or for an existing run folder (:func:`register_run_dir`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from novaload.compare.config import CompareConfig
from novaload.compare.identity import identity_fields
from novaload.compare.snapshot import OVERALL, RunSnapshot
from novaload.history.store import HistoryEntry, HistoryStore
from novaload.results.model import RunResults
from novaload.runfolder import RunRecord, read_run_record


class OutcomeLike(Protocol):
    """What :func:`record_run` reads from a finished run (``RunOutcome`` has it)."""

    run_dir: Path
    exit_code: int
    verdict: str
    results: RunResults | None
    record: RunRecord | None  # the run's record; None: read from its run.json


def entry_for(
    record: RunRecord,
    snapshot: RunSnapshot | None,
    *,
    run_path: str | None,
    verdict: str | None,
    exit_code: int | None,
) -> HistoryEntry:
    """A history row from ``run.json`` and the run's snapshot (key figures)."""
    overall = snapshot.overall if snapshot else None
    figures: dict[str, Any] = {}  # HistoryEntry's float | None figure fields, by name
    if snapshot is not None and overall is not None:
        figures = {
            "requests": float(overall.requests),
            "rps": _finite(snapshot.rps(OVERALL)),
            "error_rate": _finite(overall.error_rate),
            "p50": _finite(overall.p50),
            "p95": _finite(overall.p95),
            "p99": _finite(overall.p99),
        }
    return HistoryEntry(
        run_id=record.run_id or (snapshot.label if snapshot else ""),
        scenario=record.scenario or None,
        environment=record.environment,
        profile=record.profile,
        git_commit=record.git_commit,
        git_branch=record.git_branch,
        verdict=verdict,
        exit_code=exit_code,
        started_at=record.started_at or None,
        ended_at=record.ended_at,
        run_path=run_path,
        **figures,
        **identity_fields(record),  # type: ignore[arg-type]
    )


def _finite(v: float) -> float | None:
    return None if v != v or v in (float("inf"), float("-inf")) else float(v)


def record_run(
    outcome: OutcomeLike,
    history_dir: Path | None = None,
    *,
    config: CompareConfig | None = None,
    snapshot: RunSnapshot | None = None,
) -> HistoryEntry:
    """Register a finished run (with its record, or after ``run.json`` was written).

    The snapshot (raw latencies for later comparisons) is best effort: a run
    whose samples cannot be read is still listed, only without figures.
    """
    from novaload.compare.inputs import snapshot_of_finished_run

    config = config or CompareConfig()
    store = HistoryStore(history_dir)
    record = outcome.record or read_run_record(outcome.run_dir) or RunRecord(run_id=outcome.run_dir.name)
    if snapshot is None and outcome.results is not None:
        try:
            snapshot = snapshot_of_finished_run(outcome.results, outcome.run_dir, config)
        except Exception:  # noqa: BLE001 - history must never cost the run its exit code
            snapshot = None
    entry = entry_for(
        record,
        snapshot,
        run_path=store.relative_path(outcome.run_dir),
        verdict=outcome.verdict,
        exit_code=outcome.exit_code,
    )
    store.add(entry, snapshot.to_blob() if snapshot else None)
    return entry


def register_run_dir(
    run_dir: Path, history_dir: Path | None = None, *, config: CompareConfig | None = None
) -> HistoryEntry:
    """Register an existing run folder (verdict and exit code from its run.json)."""
    from novaload.compare.inputs import snapshot_of_run_dir
    from novaload.errors import InputError

    record = read_run_record(run_dir)
    if record is None:
        raise InputError(f"{run_dir}: not a novaload run folder (no run.json with a run_id)")
    config = config or CompareConfig()
    snapshot = snapshot_of_run_dir(run_dir, config)
    store = HistoryStore(history_dir)
    entry = entry_for(
        record,
        snapshot,
        run_path=store.relative_path(run_dir),
        verdict=record.verdict,
        exit_code=record.exit_code,
    )
    store.add(entry, snapshot.to_blob())
    return entry


__all__ = ["OutcomeLike", "entry_for", "record_run", "register_run_dir"]
