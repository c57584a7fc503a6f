"""Run history: every run registers in a single-file SQLite store (see :mod:`.store`)."""

from novaload.history.record import OutcomeLike, entry_for, record_run, register_run_dir
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
    "OutcomeLike",
    "SELECTORS",
    "default_history_dir",
    "entry_for",
    "record_run",
    "register_run_dir",
]
