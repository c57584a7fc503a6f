"""The history store: registering, filtering, selectors, and finding run folders
that moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from novaload.history import HistoryEntry, HistoryStore, default_history_dir


def entry(
    run_id: str,
    started: str,
    *,
    exit_code: int = 0,
    scenario: str = "api",
    env: str = "local",
    branch: str = "main",
    path: str | None = None,
) -> HistoryEntry:
    return HistoryEntry(
        run_id=run_id,
        scenario=scenario,
        environment=env,
        git_branch=branch,
        exit_code=exit_code,
        verdict="passed" if exit_code == 0 else "failed",
        started_at=started,
        run_path=path,
        p95=12.5,
    )


@pytest.fixture()
def store(tmp_path: Path) -> HistoryStore:
    s = HistoryStore(tmp_path / "reports" / ".history")
    s.add(entry("a1", "2026-11-20T10:00:00+00:00"))
    s.add(entry("a2", "2026-11-20T11:00:00+00:00", exit_code=99))
    s.add(entry("a3", "2026-11-20T12:00:00+00:00", branch="feature"))
    s.add(entry("s1", "2026-11-20T13:00:00+00:00", env="staging"))
    s.add(entry("v1", "2026-11-20T14:00:00+00:00", scenario="vm"))
    return s


def test_list_is_newest_first_with_filters(store: HistoryStore):
    assert [e.run_id for e in store.list()] == ["v1", "s1", "a3", "a2", "a1"]
    assert [e.run_id for e in store.list(scenario="api", environment="local")] == ["a3", "a2", "a1"]
    assert [e.run_id for e in store.list(branch="feature")] == ["a3"]
    assert [e.run_id for e in store.list(verdict="failed")] == ["a2"]
    assert len(store.list(limit=2)) == 2


@pytest.mark.parametrize(
    ("selector", "kwargs", "expected"),
    [
        ("last", {"scenario": "api", "environment": "local"}, "a3"),
        ("last", {"scenario": "api", "environment": "local", "exclude": ("a3",)}, "a2"),
        ("last-passing", {"scenario": "api", "environment": "local", "exclude": ("a3",)}, "a1"),
        ("last-passing", {"scenario": "api", "environment": "local", "branch": "main"}, "a1"),
        ("last", {"scenario": "api", "environment": "staging"}, "s1"),
        ("a2", {}, "a2"),
        ("last", {"scenario": "nope"}, None),
        ("missing-id", {}, None),
    ],
    ids=[
        "last",
        "last-excluding-current",
        "last-passing",
        "branch",
        "env",
        "run-id",
        "no-match",
        "unknown-id",
    ],
)
def test_selectors(store: HistoryStore, selector: str, kwargs: dict, expected: str | None):
    found = store.select(selector, **kwargs)
    assert (found.run_id if found else None) == expected


def test_registering_again_replaces_the_row(store: HistoryStore):
    store.add(entry("a1", "2026-11-20T10:00:00+00:00", exit_code=3))
    assert store.get("a1").exit_code == 3
    assert len(store.list(limit=None)) == 5


def make_run_dir(path: Path, run_id: str) -> Path:
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"run_id": run_id}))
    return path


def test_paths_are_relative_to_the_reports_folder(tmp_path: Path):
    store = HistoryStore(tmp_path / "reports" / ".history")
    run = make_run_dir(tmp_path / "reports" / "api-1", "api-1")
    assert store.relative_path(run) == "api-1"
    outside = make_run_dir(tmp_path / "elsewhere" / "api-2", "api-2")
    assert store.relative_path(outside) == str(outside.resolve())


def test_locate_follows_moves(tmp_path: Path):
    reports = tmp_path / "reports"
    store = HistoryStore(reports / ".history")
    run = make_run_dir(reports / "api-1", "api-1")
    store.add(HistoryEntry(run_id="api-1", run_path=store.relative_path(run)))
    assert store.locate(store.get("api-1")) == reports / "api-1"
    # the whole reports folder moves with its history: the relative path still holds
    moved = tmp_path / "archive" / "reports"
    moved.parent.mkdir()
    shutil.move(str(reports), moved)
    moved_store = HistoryStore(moved / ".history")
    assert moved_store.locate(moved_store.get("api-1")).resolve() == (moved / "api-1").resolve()
    # the run folder alone moves and is renamed: found by run id under --reports-dir
    other = tmp_path / "other"
    shutil.move(str(moved / "api-1"), other / "renamed" if other.mkdir() is None else other)
    assert moved_store.locate(moved_store.get("api-1")) is None
    assert moved_store.locate(moved_store.get("api-1"), [other]) == other / "renamed"


def test_default_history_dir_follows_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NOVALOAD_HISTORY_DIR", str(tmp_path / "h"))
    assert default_history_dir() == tmp_path / "h"
    monkeypatch.delenv("NOVALOAD_HISTORY_DIR")
    monkeypatch.setenv("NOVALOAD_REPORTS_DIR", str(tmp_path / "r"))
    assert default_history_dir() == tmp_path / "r" / ".history"
