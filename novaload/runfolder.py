"""The run folder (``reports/<run-id>/``), run ids, and ``run.json``."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from novaload.fileio import write_atomic
from novaload.redact import safe_url  # re-exported: run.json's target has no credentials

RUN_JSON = "run.json"
# k6's CPU and memory sampled during the run (novaload.runners.health writes it)
GENERATOR_SAMPLES = "generator-samples.jsonl"


def new_run_id(scenario: str, now: datetime | None = None) -> str:
    """``api-20261121-104233-3fa2c1``: sortable by time, safe as a path and a tag; the
    random part makes ids of runs started in the same second differ."""
    now = now or datetime.now(UTC)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario).strip("-")[:40] or "run"
    return f"{slug}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def default_reports_dir() -> Path:
    return Path(os.environ.get("NOVALOAD_REPORTS_DIR", "reports"))


def create_run_dir(scenario: str, out_dir: Path | None) -> tuple[str, Path]:
    """A new run id and its folder: ``out_dir`` if given, else ``reports/<run-id>``.

    The default folder is claimed exclusively (a new id is drawn on the rare clash), so
    two runs started in the same second, e.g. parallel CI jobs, never share a folder.
    The path is absolute: k6 runs with the run folder as its working directory, where a
    relative path to the script (or an output file) would no longer resolve.
    """
    while True:
        run_id = new_run_id(scenario)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            return run_id, out_dir.resolve()
        path = default_reports_dir() / run_id
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return run_id, path.resolve()


def instance_file(name: str, index: int, count: int) -> str:
    """``k6-results.json`` → ``k6-results-2of3.json`` for a split run (1-based in names)."""
    if count <= 1:
        return name
    stem, dot, ext = name.partition(".")
    return f"{stem}-{index + 1}of{count}{dot}{ext}"


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


def git_info(cwd: Path | None = None) -> GitInfo:
    """The checkout's commit and branch (CI variables first: CI checkouts are often detached)."""
    env_commit = (
        os.environ.get("GITHUB_SHA") or os.environ.get("GIT_COMMIT") or os.environ.get("CI_COMMIT_SHA")
    )
    env_branch = (
        os.environ.get("GITHUB_HEAD_REF")
        or os.environ.get("GITHUB_REF_NAME")
        or os.environ.get("BRANCH_NAME")
        or os.environ.get("CI_COMMIT_REF_NAME")
    )

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = env_commit or git("rev-parse", "HEAD")
    branch = env_branch or git("rev-parse", "--abbrev-ref", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitInfo(
        commit=commit,
        branch=None if branch == "HEAD" else branch,
        dirty=None if status is None else bool(status),
    )


@dataclass(slots=True)
class RunRecord:
    """What ``run.json`` says about a run."""

    run_id: str
    scenario: str
    script: str
    environment: str | None
    profile: str | None
    target: str | None
    runner: str
    parallelism: int
    k6_version: str
    k6_binary: str
    k6_args: list[str]
    novaload_version: str
    git_commit: str | None
    git_branch: str | None
    started_at: str
    ended_at: str | None = None
    exit_code: int | None = None
    k6_exit_code: int | None = None
    verdict: str | None = None
    interrupted: bool = False
    duration_s: float | None = None
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, run_dir: Path) -> Path:
        return write_atomic(run_dir / RUN_JSON, json.dumps(asdict(self), indent=2, default=str) + "\n")


def read_run_record(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``run.json`` as a dict; {} when it is missing or not a JSON object
    (a folder that is not a run, or one whose run died before writing it)."""
    try:
        doc = json.loads((run_dir / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


__all__ = [
    "GENERATOR_SAMPLES",
    "GitInfo",
    "RUN_JSON",
    "RunRecord",
    "create_run_dir",
    "default_reports_dir",
    "git_info",
    "instance_file",
    "new_run_id",
    "read_run_record",
    "safe_url",
]
