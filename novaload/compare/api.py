"""The library entry points of baseline comparison: :func:`compare_runs` (what
``novaload compare`` does) and :func:`gate_against_baseline` (what ``novaload
run --baseline`` does at the end of a run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from novaload.compare.comparison import Comparison
from novaload.compare.config import CompareConfig
from novaload.compare.engine import compare_snapshots
from novaload.compare.inputs import NoBaselineYet, Scope, resolve, snapshot_of_finished_run
from novaload.compare.record import entry_for
from novaload.compare.snapshot import RunSnapshot
from novaload.errors import InputError, NovaloadError
from novaload.history.store import HistoryEntry, HistoryStore
from novaload.results.model import RunResults
from novaload.runfolder import RunRecord


def compare_runs(
    baseline: str,
    current: str,
    *,
    history: HistoryStore | None = None,
    config: CompareConfig | None = None,
    baseline_branch: str | None = None,
    reports_dirs: Sequence[Path] = (),
) -> Comparison:
    """Compare two runs named as the CLI names them.

    CURRENT is resolved first; when it is a known run, BASELINE selectors only
    pick runs of the same test (scenario, environment, target, load, runner:
    :mod:`novaload.compare.identity`), other than CURRENT itself.
    """
    config = config or CompareConfig()
    cur = resolve(current, history=history, config=config, reports_dirs=reports_dirs)
    scope = Scope.of(cur, baseline_branch)
    base = resolve(baseline, history=history, config=config, scope=scope, reports_dirs=reports_dirs)
    return compare_snapshots(base, cur, config, trend=trend_entries(history, cur, config))


def trend_entries(
    history: HistoryStore | None, current: RunSnapshot, config: CompareConfig
) -> list[HistoryEntry]:
    """The last runs of CURRENT's test (its identity, when known) up to CURRENT, oldest
    first: a chart never mixes targets, loads or runners."""
    if history is None or current.scenario is None or not history.path.is_file():
        return []
    scope = Scope.of(current)
    past = history.list(
        scenario=current.scenario,
        environment=current.environment,
        exclude=scope.exclude,
        limit=None,
        same_as=scope.identity.columns() if scope.identity else None,
    )
    if current.started_at:
        past = [e for e in past if (e.started_at or "") <= current.started_at]
    past = past[: config.trend_runs - 1]
    here = history.get(current.run_id) if current.run_id else None
    if here is None:
        here = entry_for(
            RunRecord(
                run_id=current.run_id or current.label,
                scenario=current.scenario or "",
                environment=current.environment,
                started_at=current.started_at or "",
                **_identity_kwargs(current),
            ),
            current,
            run_path=None,
            verdict="this run",
            exit_code=None,
        )
    return [*reversed(past), here]


def gate_against_baseline(
    results: RunResults,
    run_dir: Path,
    selector: str,
    history: HistoryStore | None = None,
    config: CompareConfig | None = None,
    *,
    baseline_branch: str | None = None,
    reports_dirs: Sequence[Path] = (),
    warn: Callable[[str], None] | None = None,
    current: RunSnapshot | None = None,
) -> Comparison | None:
    """Compare a just-finished run with its baseline and write comparison.json/.md into
    ``run_dir``. Returns None (after ``warn``) when ``last`` / ``last-passing`` finds no
    run yet — a first run must not fail for lack of history. A baseline that was asked
    for and cannot be read (a run id that is not there, a corrupt or locked history
    store, a moved folder) raises: the gate never switches itself off. ``current``: the
    run's snapshot when the caller already built it (with the same ``config``)."""
    config = config or CompareConfig()
    history = history or HistoryStore()
    try:
        current = current or snapshot_of_finished_run(results, run_dir, config)
    except NovaloadError as exc:
        if warn:
            warn(f"no baseline comparison: {exc}")
        return None
    scope = Scope.of(current, baseline_branch)
    try:
        baseline = resolve(selector, history=history, config=config, scope=scope, reports_dirs=reports_dirs)
    except NoBaselineYet as exc:
        if warn:
            warn(f"no baseline comparison: {exc}")
        return None
    except NovaloadError as exc:
        raise InputError(f"--baseline {selector}: {exc}") from None
    comparison = compare_snapshots(baseline, current, config, trend=trend_entries(history, current, config))
    comparison.write(run_dir)
    return comparison


def _identity_kwargs(snapshot: RunSnapshot) -> dict[str, Any]:
    return {
        k: v
        for k in ("target_id", "load", "load_key", "runner", "parallelism")
        if (v := getattr(snapshot, k)) is not None
    }


__all__ = ["compare_runs", "gate_against_baseline", "trend_entries"]
