"""The run history: one SQLite file (default ``reports/.history/novaload-history.sqlite``)
with a row per run — identity, git, verdict, key figures, where its folder was —
and the run's comparison snapshot, so a baseline stays usable after its folder
moved or was deleted (in CI only the history store is cached between runs).

Folder paths are stored relative to the history directory's parent (the
reports folder by default), so moving the reports folder together with its
``.history`` keeps every path valid.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from novaload.errors import InputError
from novaload.redact import redact
from novaload.runfolder import RUN_JSON, default_reports_dir, read_run_record

HISTORY_FILE = "novaload-history.sqlite"
HISTORY_ENV = "NOVALOAD_HISTORY_DIR"
SELECTORS = ("last", "last-passing")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    scenario TEXT, environment TEXT, profile TEXT,
    git_commit TEXT, git_branch TEXT,
    verdict TEXT, exit_code INTEGER,
    started_at TEXT, ended_at TEXT,
    run_path TEXT,
    requests REAL, rps REAL, error_rate REAL, p50 REAL, p95 REAL, p99 REAL,
    recorded_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    snapshot BLOB
);
CREATE INDEX IF NOT EXISTS runs_scope ON runs (scenario, environment, started_at);
"""
# A run's identity (novaload.compare.identity), added to stores made before it: such rows
# keep NULL there (unknown), which never equals a new run's.
_IDENTITY_COLUMNS = (
    ("target_id", "TEXT"),
    ("load", "TEXT"),
    ("load_key", "TEXT"),
    ("runner", "TEXT"),
    ("parallelism", "INTEGER"),
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    run_id: str
    scenario: str | None = None
    environment: str | None = None
    profile: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    verdict: str | None = None
    exit_code: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    run_path: str | None = None  # as stored: relative to the history dir's parent when possible
    requests: float | None = None
    rps: float | None = None
    error_rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    recorded_at: str | None = None
    target_id: str | None = None  # the run's identity (novaload.compare.identity); None: unknown
    load: str | None = None
    load_key: str | None = None
    runner: str | None = None
    parallelism: int | None = None

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


_COLUMNS = [f.name for f in fields(HistoryEntry)]


def default_history_dir(environ: dict[str, str] | None = None) -> Path:
    env = environ if environ is not None else os.environ
    if env.get(HISTORY_ENV):
        return Path(env[HISTORY_ENV])
    return default_reports_dir() / ".history"


class HistoryStore:
    """Open (and create) the store in ``directory``; every method opens its own connection,
    so a store object is safe to share and concurrent runs never hold the file long."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_history_dir()
        self.path = self.directory / HISTORY_FILE

    @property
    def base_dir(self) -> Path:
        """Where relative run paths start: the history directory's parent."""
        return self.directory.resolve().parent

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as con:
                con.executescript(_SCHEMA)
                _add_identity_columns(con)
                with con:  # one transaction
                    yield con
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: history store unusable: {exc}") from exc

    def relative_path(self, run_dir: Path) -> str:
        path = run_dir.resolve()
        try:
            return path.relative_to(self.base_dir).as_posix()
        except ValueError:
            return str(path)

    def add(self, entry: HistoryEntry, snapshot: bytes | None = None) -> None:
        """Insert or replace the run's row (re-registering a run updates it)."""
        cols = [c for c in _COLUMNS if c != "recorded_at"]
        # Text goes through the redactor as in every file novaload writes (a scenario or
        # target named after a URL may carry a token).
        values = [redact(v) if isinstance(v, str) else v for v in (getattr(entry, c) for c in cols)]
        with self._connect() as con:
            con.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(cols)}, snapshot) "
                f"VALUES ({', '.join('?' for _ in cols)}, ?)",
                [*values, snapshot],
            )

    def get(self, run_id: str) -> HistoryEntry | None:
        rows = self._query("WHERE run_id = ?", [run_id], limit=1)
        return rows[0] if rows else None

    def snapshot(self, run_id: str) -> bytes | None:
        with self._connect() as con:
            row = con.execute("SELECT snapshot FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return row[0] if row else None

    def list(
        self,
        *,
        scenario: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        verdict: str | None = None,
        passing: bool | None = None,
        exclude: Sequence[str] = (),
        limit: int | None = 20,
        same_as: Mapping[str, object] | None = None,
    ) -> list[HistoryEntry]:
        """Runs matching every given filter, newest first. ``same_as``: columns that must
        hold exactly these values, NULL included (a run's identity)."""
        where: list[str] = []
        args: list[object] = []
        for col, val in (same_as or {}).items():
            if col not in _COLUMNS:
                raise ValueError(f"unknown history column {col!r}")
            where.append(f"{col} IS ?")
            args.append(val)
        for col, val in (
            ("scenario", scenario),
            ("environment", environment),
            ("git_branch", branch),
            ("verdict", verdict),
        ):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if passing is not None:
            where.append("exit_code = 0" if passing else "(exit_code IS NULL OR exit_code != 0)")
        if exclude:
            where.append(f"run_id NOT IN ({', '.join('?' for _ in exclude)})")
            args.extend(exclude)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._query(clause, args, limit=limit)

    def _query(self, clause: str, args: Sequence[object], limit: int | None) -> builtins.list[HistoryEntry]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs {clause} ORDER BY started_at DESC, recorded_at DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [HistoryEntry(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]

    def select(
        self,
        selector: str,
        *,
        scenario: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        exclude: Sequence[str] = (),
        same_as: Mapping[str, object] | None = None,
    ) -> HistoryEntry | None:
        """``last``, ``last-passing`` (exit code 0), or an exact run id (which ``same_as``,
        a run's identity, does not restrict: a run asked for by id is that run)."""
        if selector not in SELECTORS:
            return self.get(selector)
        found = self.list(
            scenario=scenario,
            environment=environment,
            branch=branch,
            passing=True if selector == "last-passing" else None,
            exclude=exclude,
            limit=1,
            same_as=same_as,
        )
        return found[0] if found else None

    def locate(self, entry: HistoryEntry, reports_dirs: Sequence[Path] = ()) -> Path | None:
        """The run's folder today: the recorded path, then ``<run id>`` in the reports folder
        next to the store, then in each of ``reports_dirs`` (also one level of renamed
        folders, matched by the run id in their run.json)."""
        candidates: list[Path] = []
        if entry.run_path:
            recorded = Path(entry.run_path)
            candidates.append(recorded if recorded.is_absolute() else self.base_dir / recorded)
        search = [self.base_dir, *reports_dirs]
        candidates += [d / entry.run_id for d in search]
        for c in candidates:
            if _is_run_dir(c, entry.run_id):
                return c
        for d in search:
            for run_json in sorted(Path(d).glob(f"*/{RUN_JSON}")) if Path(d).is_dir() else []:
                if _is_run_dir(run_json.parent, entry.run_id):
                    return run_json.parent
        return None


def _add_identity_columns(con: sqlite3.Connection) -> None:
    present = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
    for name, kind in _IDENTITY_COLUMNS:
        if name not in present:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")


def _is_run_dir(path: Path, run_id: str) -> bool:
    record = read_run_record(path)
    return record is not None and record.run_id == run_id


__all__ = ["HISTORY_ENV", "HISTORY_FILE", "HistoryEntry", "HistoryStore", "SELECTORS", "default_history_dir"]
