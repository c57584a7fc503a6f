"""Run history: the single-file SQLite store every run registers in (see :mod:`.store`).

This package is the store only; building a run's row (its snapshot, key figures) and
registering it is :mod:`novaload.compare.record`'s job, so the two packages stay acyclic.
"""

from novaload.history.store import (
    HISTORY_ENV,
    HISTORY_FILE,
    SELECTORS,
    HistoryEntry,
    HistoryStore,
    default_history_dir,
)

__all__ = [
    "HISTORY_ENV",
    "HISTORY_FILE",
    "HistoryEntry",
    "HistoryStore",
    "SELECTORS",
    "default_history_dir",
]
