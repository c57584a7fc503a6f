"""Turn what a user names — a run folder, a k6 JSON results file, a run id, or a
selector (``last``, ``last-passing``) — into a :class:`RunSnapshot`.

Run ids and selectors are looked up in the history store; the run's folder is
then found even after it moved (see :meth:`HistoryStore.locate`), and when the
folder is gone the snapshot kept in the store is used instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from novaload.compare.config import CompareConfig
from novaload.compare.identity import RunIdentity
from novaload.compare.snapshot import RunSnapshot, snapshot_from_digest, snapshot_from_results
from novaload.errors import InputError
from novaload.history.store import SELECTORS, HistoryEntry, HistoryStore
from novaload.results.model import RunResults
from novaload.runfolder import (
    K6_RESULTS,
    RESULTS_PATTERNS,
    SUMMARY_NAMES,
    RunRecord,
    is_results_file,
    read_run_record,
)

RESULT_PATTERNS = RESULTS_PATTERNS  # the run folder's names (novaload.runfolder owns them)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which runs a selector may pick: same scenario and environment, maybe one branch,
    and with ``identity`` the same test (target, load, runner: novaload.compare.identity)."""

    scenario: str | None = None
    environment: str | None = None
    branch: str | None = None
    exclude: tuple[str, ...] = ()
    identity: RunIdentity | None = None

    @classmethod
    def of(cls, current: RunSnapshot, branch: str | None = None) -> Scope:
        """The runs that may be ``current``'s baseline: its own test's, itself excluded. A
        snapshot without a run record (a bare results file) has no known identity: then
        only its scenario and environment count, as they are known."""
        return cls(
            scenario=current.scenario,
            environment=current.environment,
            branch=branch,
            exclude=(current.run_id,) if current.run_id else (),
            identity=RunIdentity.of(current) if current.runner is not None else None,
        )


def run_sources(run_dir: Path) -> tuple[list[Path], Path | None]:
    """The k6 results files of a run folder (all instances of a split run) and its summary."""
    sources = sorted(
        {p for pat in RESULT_PATTERNS for p in run_dir.glob(pat) if p.is_file() and p.stat().st_size > 0}
    )
    summary = next((run_dir / n for n in SUMMARY_NAMES if (run_dir / n).is_file()), None)
    return sources, summary


def snapshot_of(
    results: RunResults,
    sources: Sequence[Path],
    *,
    label: str,
    record: RunRecord | None,
    config: CompareConfig,
) -> RunSnapshot:
    """Snapshot of ingested results, with the raw latencies the ingest kept (or, for
    results that did not come from an ingest, read again from ``sources``)."""
    from novaload.results.ingest import load_latency_samples

    digest = results.latency_digest(config.max_samples, config.seed)
    if digest is not None:  # bounded memory: the ingest's store, not every sample at once
        return snapshot_from_digest(results, digest, label=label, record=record)
    samples = results.latency_samples()
    if samples is None:
        samples = load_latency_samples(list(sources))
    return snapshot_from_results(
        results, samples, label=label, record=record, max_samples=config.max_samples, seed=config.seed
    )


def snapshot_of_finished_run(results: RunResults, run_dir: Path, config: CompareConfig) -> RunSnapshot:
    """Snapshot of a run just ingested from ``run_dir``, named by its ``run.json``."""
    record = read_run_record(run_dir)
    return snapshot_of(
        results,
        results.sources,
        label=record.run_id if record else run_dir.name,
        record=record,
        config=config,
    )


def snapshot_of_run_dir(run_dir: Path, config: CompareConfig) -> RunSnapshot:
    sources, summary = run_sources(run_dir)
    if not sources:
        raise InputError(f"{run_dir}: no k6 results ({K6_RESULTS}) in this run folder")
    return _ingested(sources, summary, label=run_dir.name, record=read_run_record(run_dir), config=config)


def snapshot_of_file(path: Path, config: CompareConfig) -> RunSnapshot:
    record = read_run_record(path.parent)  # a results file inside a run folder keeps its identity
    if record and is_results_file(path.name):
        return _ingested([path], None, label=record.run_id, record=record, config=config)
    return _ingested([path], None, label=path.name, record=None, config=config)


def _ingested(
    sources: list[Path],
    summary: Path | None,
    *,
    label: str,
    record: RunRecord | None,
    config: CompareConfig,
) -> RunSnapshot:
    from novaload.results.ingest import ingest

    results = ingest(sources, k6_summary=summary)
    return snapshot_of(results, sources, label=label, record=record, config=config)


def looks_like_path(spec: str) -> bool:
    return os.sep in spec or spec.endswith((".json", ".gz", ".csv")) or spec.startswith(".")


def resolve(
    spec: str,
    *,
    history: HistoryStore | None,
    config: CompareConfig,
    scope: Scope = Scope(),
    reports_dirs: Sequence[Path] = (),
) -> RunSnapshot:
    """One side of a comparison from whatever the user typed."""
    path = Path(spec)
    if path.is_dir():
        return snapshot_of_run_dir(path, config)
    if path.is_file():
        return snapshot_of_file(path, config)
    if looks_like_path(spec) or history is None:
        raise InputError(f"{spec}: no such run folder or results file")
    entry = _entry(spec, history, scope)
    return snapshot_of_entry(entry, history, config, reports_dirs)


class NoBaselineYet(InputError):
    """``last`` / ``last-passing`` found no run: a first run has nothing to compare with.
    Anything else that keeps a baseline from being read (a run id that is not there, a
    history store that is corrupt or locked) is an error, never a skipped gate."""


def _entry(spec: str, history: HistoryStore, scope: Scope) -> HistoryEntry:
    if not history.path.is_file():
        raise (NoBaselineYet if spec in SELECTORS else InputError)(
            f"{spec}: no run history at {history.path}",
            hint="runs register there; use --history-dir to point elsewhere",
        )
    entry = history.select(
        spec,
        scenario=scope.scenario,
        environment=scope.environment,
        branch=scope.branch,
        exclude=scope.exclude,
        same_as=scope.identity.columns() if scope.identity else None,
    )
    if entry is None:
        what = "no run with this id" if spec not in SELECTORS else "no matching run"
        filters = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("scenario", scope.scenario),
                ("environment", scope.environment),
                ("branch", scope.branch),
            )
            if v
        )
        if scope.identity is not None:
            filters = f"the same test: {scope.identity.describe()}" + (f", {filters}" if scope.branch else "")
        raise (NoBaselineYet if spec in SELECTORS else InputError)(
            f"{spec}: {what} in {history.path}" + (f" ({filters})" if filters else "")
        )
    return entry


def snapshot_of_entry(
    entry: HistoryEntry, history: HistoryStore, config: CompareConfig, reports_dirs: Sequence[Path] = ()
) -> RunSnapshot:
    """The run's folder when it can be found (exact), else the snapshot kept in the store."""
    run_dir = history.locate(entry, reports_dirs)
    if run_dir is not None and run_sources(run_dir)[0]:
        return snapshot_of_run_dir(run_dir, config)
    blob = history.snapshot(entry.run_id)
    if blob:
        return RunSnapshot.from_blob(blob)
    raise InputError(
        f"run {entry.run_id}: its folder is gone (recorded at {entry.run_path}) "
        f"and the history keeps no snapshot of it",
        hint="pass its new location with --reports-dir",
    )


__all__ = [
    "Scope",
    "looks_like_path",
    "resolve",
    "run_sources",
    "snapshot_of",
    "snapshot_of_finished_run",
    "snapshot_of_entry",
    "snapshot_of_file",
    "snapshot_of_run_dir",
]
