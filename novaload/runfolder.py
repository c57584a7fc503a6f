"""The run folder (``reports/<run-id>/``): every file name in it, claiming it for one
run, run ids, and ``run.json`` (a typed, frozen :class:`RunRecord`).

Nothing else in novaload spells a run-folder file name: runners, the pipeline, the
reporters, ``compare`` and ``novaload report`` take them from here.

A run folder belongs to one run. :func:`claim_run_folder` makes that true on disk:

* the folder is locked (``flock``) for the run's whole life, so a second run into the
  same folder at the same time is refused instead of mixing its files with the first's;
* a folder that already holds a run (any file named below) is refused, and nothing in it
  is touched, unless ``overwrite`` is asked for, which removes every run file first, so a
  run never reports on results it did not produce and never replaces half of another run;
* ``run.json`` is created exclusively (a hard link of a complete temporary file), so even
  without a working lock only one run can own the folder;
* files novaload creates itself never follow a planted symlink (:func:`create_new_file`).

``run.json`` is written twice: once when the folder is claimed (``status: running``, so a
run killed by SIGKILL still leaves its record) and once when the run ends, always through
a temporary file and a rename.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import json
import os
import re
import secrets
import stat
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from novaload.errors import RunFolderError
from novaload.fileio import write_atomic
from novaload.redact import redact, safe_url  # safe_url re-exported: run.json's target has no credentials

# ---- the file names of a run folder ----------------------------------------------------

RUN_JSON = "run.json"  # the run's record (this module)
K6_LOG = "k6.log"  # k6's output, secrets redacted (the runners)
K6_RESULTS = "k6-results.json"  # k6 --out json (one per instance: k6-results-1of2.json)
K6_SUMMARY = "k6-summary.json"  # handleSummary data of rendered scripts
K6_SUMMARY_EXPORT = "k6-summary-export.json"  # k6 --summary-export
SUMMARY_JSON = "summary.json"  # novaload's figures
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
ENDPOINTS_CSV = "endpoints.csv"
TIMESERIES_CSV = "timeseries.csv"
PROTOCOLS_CSV = "protocols.csv"  # gRPC, WebSocket, browser, custom metrics per tag
JUNIT_XML = "junit.xml"
COMPARISON_JSON = "comparison.json"  # --baseline
COMPARISON_MD = "comparison.md"
GENERATOR_SAMPLES = "generator-samples.jsonl"  # k6's CPU and memory (novaload.runners.health)
K8S_RUNNERS_JSON = "k8s-runners.json"  # --runner k8s: per-runner pod, node, exit code and verdict
USER_SCRIPT_STEM = "script"  # a user's own script is kept as script.js (.mjs, .ts, ...)
K6_TRACED_SCRIPT = "k6-traced.js"  # --traces: what k6 runs, the script behind its tracing module
K6_TRACING_MODULE = "k6-tracing.js"  # --traces: trace context on every request (scenario/tracing.py)
DASHBOARD_HTML = "dashboard.html"  # --dashboard: k6's web dashboard export (one per instance: -1of2)

# --raw → the name k6 writes its JSON output to, per instance. "none" is a named pipe
# the live scan reads (k6 writes plain JSON into it; nothing stays on disk).
RAW_RESULTS_NAMES = {"json": K6_RESULTS, "json.gz": f"{K6_RESULTS}.gz", "none": "k6-results.pipe"}

# What a run folder's results look like to a reader (every instance of a split run).
RESULTS_PATTERNS = ("k6-results*.json", "k6-results*.json.gz")
SUMMARY_NAMES = (K6_SUMMARY, K6_SUMMARY_EXPORT)

# Every file a run writes. A folder holding one of these holds a run. The rendered
# script (``<scenario>.js``) is named in run.json; novaload's temporary files start with
# ``.<name>.`` (fileio.write_atomic).
_RUN_FILE = re.compile(
    r"""^(?:
        run\.json | summary\.json | report\.html | report\.md | endpoints\.csv | timeseries\.csv | protocols\.csv
      | junit\.xml | comparison\.json | comparison\.md | generator-samples\.jsonl | k8s-runners\.json
      | dashboard(?:-\d+of\d+)?\.html
      | k6[-.].* | script\.(?:js|mjs|cjs|ts)
      | \.(?:run\.json|summary\.json|report\.html|report\.md|endpoints\.csv|timeseries\.csv|protocols\.csv
             |junit\.xml|comparison\.json|comparison\.md)\..*\.tmp
    )$""",
    re.VERBOSE,
)


def script_name(scenario: str | None, source: Path | None = None) -> str:
    """The script's name in the run folder: ``<scenario>.js`` when rendered, else the user's
    own script as ``script<suffix>``."""
    if source is not None:
        return f"{USER_SCRIPT_STEM}{source.suffix}"
    return f"{scenario}.js"


def is_results_file(name: str) -> bool:
    """Whether ``name`` is k6 results of a run (any instance of a split run)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in RESULTS_PATTERNS)


def is_k6_summary(name: str) -> bool:
    """Whether ``name`` is a k6 summary of a run (handleSummary data or --summary-export)."""
    return any(fnmatch.fnmatchcase(name, f"{Path(n).stem}*{Path(n).suffix}") for n in SUMMARY_NAMES)


def is_run_file(name: str) -> bool:
    """Whether a run writes a file called ``name`` (k6-results*.json, report.html, ...)."""
    return bool(_RUN_FILE.match(name))


def new_run_id(scenario: str, now: datetime | None = None) -> str:
    """``api-20261121-104233-3fa2c1``: sortable by time, safe as a path and a tag; the
    random part makes ids of runs started in the same second differ."""
    now = now or datetime.now(UTC)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario).strip("-")[:40] or "run"
    return f"{slug}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def default_reports_dir() -> Path:
    return Path(os.environ.get("NOVALOAD_REPORTS_DIR", "reports"))


def new_reports_folder(name: str, out_dir: Path | None) -> tuple[str, Path]:
    """A new id and folder for what holds several runs (a suite): ``out_dir`` if given,
    else ``reports/<id>``, claimed exclusively (a new id is drawn on the rare clash). Each
    run inside it claims its own run folder with :func:`claim_run_folder`."""
    while True:
        folder_id = new_run_id(name)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            return folder_id, out_dir.resolve()
        path = default_reports_dir() / folder_id
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return folder_id, path.resolve()


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

    commit, branch = env_commit, env_branch
    if not (commit and branch):  # one git process for both: each start is a few ms on the way to k6
        answer = (git("rev-parse", "HEAD", "--abbrev-ref", "HEAD") or "").splitlines()
        if len(answer) == 2:
            commit, branch = commit or answer[0], branch or answer[1]
    return GitInfo(commit=commit, branch=None if branch == "HEAD" else branch)


# ---- run.json --------------------------------------------------------------------------

# How a run ended (RunRecord.status).
RUNNING = "running"  # written at the start; still there = novaload died (SIGKILL, power)
FINISHED = "finished"  # k6 ran to its end and the run was judged
INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM: judged on what k6 collected
FAILED = "failed"  # an error ended the run (``error`` says which); its exit code is novaload's
STATUSES = (RUNNING, FINISHED, INTERRUPTED, FAILED)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What ``run.json`` says about a run. Frozen: the pipeline builds the final record
    from the first with :meth:`ended` instead of editing it in place."""

    run_id: str
    scenario: str = ""
    script: str = ""  # the script's name in the run folder
    environment: str | None = None
    profile: str | None = None
    target: str | None = None  # base URL, credentials removed
    # What the run was aimed at, for baselines: the target without credentials, or "demo"
    # for the built-in demo target (a new port every run); None: the script's own.
    target_id: str | None = None
    load: str | None = None  # the load k6 ran ("constant-vus 10 VUs 30s"), see scenario/load.py
    load_key: str | None = None  # a hash of every load parameter: same key, same load
    runner: str = "local"
    parallelism: int = 1
    k6_version: str = ""
    k6_binary: str = ""
    k6_args: tuple[str, ...] = ()
    # The testid tag on samples sent beyond the run folder (--monitor, --out): the run id,
    # unless the script or a --tag sets its own (dashboards and alerts filter on it).
    testid: str | None = None
    image: str | None = None  # the k6 image of the docker and k8s runners (the default when none was given)
    novaload_version: str = ""
    git_commit: str | None = None
    git_branch: str | None = None
    started_at: str = ""
    status: str = RUNNING
    ended_at: str | None = None
    exit_code: int | None = None
    k6_exit_code: int | None = None
    k6_exit_codes: tuple[int, ...] = ()  # one per k6 instance, in the order they exited
    # A split run's setup() and teardown(): "once" (in runner setup_runner, 1-based) or
    # "per-runner"; None for one k6 instance.
    setup: str | None = None
    setup_runner: int | None = None
    verdict: str | None = None
    interrupted: bool = False
    error: str | None = None  # the one-line error that ended a failed run
    duration_s: float | None = None
    files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def ended(self, **changes: Any) -> RunRecord:
        """The record with the run's end filled in (``status``, ``exit_code``, ...)."""
        return replace(self, **changes)

    def to_json(self) -> str:
        doc = asdict(self)
        doc["extra"] = dict(self.extra)
        return json.dumps(doc, indent=2, default=str) + "\n"

    def write(self, run_dir: Path) -> Path:
        """Replace ``run.json`` atomically (a rename never follows a planted symlink)."""
        return write_atomic(run_dir / RUN_JSON, self.to_json())

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunRecord | None:
        """A record from a ``run.json`` document, leniently: run.json files of older
        novaload versions (lists, missing or unknown keys) are read too; a value of the
        wrong type is dropped. None when the document has no run id."""
        run_id = doc.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            return None
        known: dict[str, Any] = {}
        defaults = {f.name: f for f in fields(cls)}
        for name, value in doc.items():
            f = defaults.get(name)
            if f is None or name == "extra":
                continue
            coerced = _coerce(value, f.type)
            if coerced is not _INVALID:
                known[name] = coerced
        extra = dict(doc.get("extra") or {}) if isinstance(doc.get("extra"), dict) else {}
        extra.update({k: v for k, v in doc.items() if k not in defaults})
        if "status" not in known:  # written before run.json recorded it
            known["status"] = FINISHED if doc.get("exit_code") is not None else RUNNING
        return cls(**known, extra=extra)


_INVALID = object()


def _coerce(value: Any, annotation: object) -> Any:
    """``value`` if it fits the field's annotation (as written in this module), else _INVALID."""
    kind = str(annotation)
    if value is None:
        return None if "None" in kind else _INVALID
    if kind.startswith("tuple"):
        if not isinstance(value, list | tuple):
            return _INVALID
        item = int if "int" in kind else str
        return tuple(v for v in value if isinstance(v, item) and not isinstance(v, bool))
    if kind.startswith("bool"):
        return value if isinstance(value, bool) else _INVALID
    if kind.startswith("int"):
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if kind.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _INVALID
    if kind.startswith("str"):
        return value if isinstance(value, str) else _INVALID
    return _INVALID


def read_run_record(run_dir: Path) -> RunRecord | None:
    """A run folder's ``run.json``; None when it is missing, unreadable, not a JSON object
    or has no run id (a folder that is not a run)."""
    try:
        doc = json.loads((run_dir / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RunRecord.from_json(doc) if isinstance(doc, dict) else None


# ---- claiming the folder ---------------------------------------------------------------


def run_folder_path(out_dir: Path | None, run_id: str) -> Path:
    """Where a run goes: ``out_dir`` if given, else ``reports/<run-id>``; absolute, because
    k6 runs with the run folder as its working directory, where a relative path to the
    script (or an output file) would no longer resolve."""
    return (out_dir if out_dir is not None else default_reports_dir() / run_id).resolve()


def _os_error(path: Path, action: str, exc: OSError) -> RunFolderError:
    where = exc.filename if isinstance(exc.filename, str) else str(path)
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileExistsError) and not Path(where).is_dir():
        reason = "a file is in the way"
    return RunFolderError(f"{where}: {action}: {reason}")


class RunFolderTaken(RunFolderError):
    """The folder already holds a run, or another run is writing into it."""


@dataclass(slots=True)
class RunFolder:
    """A claimed run folder; the lock is held until :meth:`release` (or the ``with`` ends)."""

    path: Path
    run_id: str
    _lock: int | None = None
    created: bool = False  # the folder was made for this run
    ended: bool = False  # the final run.json was written (or tried)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_record(self, record: RunRecord) -> Path:
        """Replace ``run.json``; on a full disk, rewrite the first record's blocks in place
        (the run's end is worth more than atomicity there: a run that filled the disk must
        still say so)."""
        try:
            return record.write(self.path)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) and _rewrite_in_place(self.path / RUN_JSON, record):
                return self.path / RUN_JSON
            raise _os_error(self.path / RUN_JSON, "cannot write the run record", exc) from None

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


CLAIM_ATTEMPTS = 5


def claim_new_run_folder(
    scenario: str, record_for: Callable[[str], RunRecord], run_id: str | None = None
) -> RunFolder:
    """Claim ``reports/<run-id>`` for a new run: ``run_id`` if given, else a new id.

    The folder is made exclusively: two runs started in the same second whose random id
    parts collide (parallel CI jobs) never share it; the later one draws a new id.
    ``record_for(run_id)`` gives the first record (the id is in the script, so the caller
    may have to prepare again).
    """
    for _ in range(CLAIM_ATTEMPTS):
        run_id = run_id or new_run_id(scenario)
        path = run_folder_path(None, run_id)
        if not path.exists():
            try:
                return claim_run_folder(path, record_for(run_id), exclusive=True)
            except RunFolderTaken:
                pass
        run_id = None
    raise RunFolderError(f"{default_reports_dir()}: no free run folder after {CLAIM_ATTEMPTS} tries")


def claim_run_folder(
    path: Path, record: RunRecord, *, overwrite: bool = False, exclusive: bool = False
) -> RunFolder:
    """Make ``path`` this run's folder and write ``record`` as its first ``run.json``.

    Raises :class:`RunFolderTaken` when the folder holds a run (unless ``overwrite``) or
    another run is writing into it, and :class:`RunFolderError` for any OS error (a file in
    the way, a read-only file system, a full disk), each naming the path. On any failure
    nothing that was in the folder is touched and a folder made here is removed again.
    ``exclusive``: the folder must not exist yet.
    """
    created = _make_folder(path)
    if exclusive and not created:
        raise RunFolderTaken(f"{path}: exists already")
    lock: int | None = None
    try:
        lock = _lock(path)
        existing = sorted(_run_files(path))
        if existing and not overwrite:
            shown = ", ".join(existing[:4]) + (", ..." if len(existing) > 4 else "")
            raise RunFolderTaken(
                f"{path}: already holds a run ({shown})",
                hint="pass --overwrite to replace it, or choose another --out-dir",
            )
        for name in existing:  # --overwrite: the old run goes as a whole, never half of it
            try:
                (path / name).unlink()  # a symlink is removed, never followed
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _os_error(path / name, "cannot remove the earlier run's file", exc) from None
        _create_record(path, record)
    except BaseException:
        if lock is not None:
            os.close(lock)
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only when still empty: nothing of anyone else's goes
        raise
    return RunFolder(path=path, run_id=record.run_id, _lock=lock, created=created)


def _make_folder(path: Path) -> bool:
    """Create ``path`` (and its parents); True when this call made it."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise RunFolderError(f"{path}: exists and is not a folder")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise RunFolderError(f"{path}: cannot create the run folder: {blocker} is not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        return True
    except FileExistsError:
        if not path.is_dir():
            raise RunFolderError(f"{path}: exists and is not a folder") from None
        return False
    except OSError as exc:
        raise _os_error(path, "cannot create the run folder", exc) from None


def _lock(path: Path) -> int | None:
    """An exclusive ``flock`` on the folder, held by the run; None where locks don't work
    (some network file systems): then the exclusive run.json still decides."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _os_error(path, "cannot open the run folder", exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunFolderTaken(f"{path}: another novaload run is writing into this folder") from None
    except OSError:
        os.close(fd)
        return None
    return fd


def earlier_run_files(path: Path) -> list[str]:
    """The names of the files of a run already in ``path``, sorted; none when ``path`` is
    no folder. What :func:`claim_run_folder` refuses (or removes, with ``overwrite``)."""
    if path.is_symlink() or not path.is_dir():
        return []
    return sorted(_run_files(path))


def _run_files(path: Path) -> set[str]:
    """The names of an earlier run's files in ``path`` (its rendered script included)."""
    try:
        names = {entry.name for entry in os.scandir(path)}
    except OSError as exc:
        raise _os_error(path, "cannot read the run folder", exc) from None
    found = {n for n in names if is_run_file(n)}
    earlier = read_run_record(path)
    if earlier is not None and earlier.script in names and "/" not in earlier.script:
        found.add(earlier.script)
    return found


def _create_record(path: Path, record: RunRecord) -> None:
    """Write the first run.json, failing if one exists: a complete temporary file is hard
    linked to the name, which the file system does atomically and only if it is free."""
    target = path / RUN_JSON
    try:
        fd, tmp = tempfile.mkstemp(dir=path, prefix=f".{RUN_JSON}.", suffix=".tmp")
    except OSError as exc:
        raise _os_error(target, "cannot write the run record", exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(record.to_json()))  # as write_atomic does
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.link(tmp, target)
    except FileExistsError:
        raise RunFolderTaken(f"{path}: another novaload run is writing into this folder") from None
    except OSError as exc:
        raise _os_error(target, "cannot write the run record", exc) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _rewrite_in_place(path: Path, record: RunRecord) -> bool:
    """Overwrite ``path`` (never through a symlink) without allocating, when the new record
    fits in the space the old one holds; True when done."""
    data = record.to_json().encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        allocated = os.fstat(fd).st_blocks * 512
        if len(data) > allocated:
            return False
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def create_new_file(path: Path) -> IO[str]:
    """Open ``path`` for writing text as a new file that never follows a symlink.

    An entry already at ``path`` (a planted symlink or hard link, or a file of an earlier
    run of a runner used on its own) is unlinked first, never written through; the file is
    then created with ``O_EXCL | O_NOFOLLOW``, so one planted in between is refused too.
    """
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISDIR(os.lstat(path).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    return os.fdopen(fd, "w", encoding="utf-8")


__all__ = [
    "COMPARISON_JSON",
    "COMPARISON_MD",
    "DASHBOARD_HTML",
    "ENDPOINTS_CSV",
    "FAILED",
    "FINISHED",
    "GENERATOR_SAMPLES",
    "INTERRUPTED",
    "JUNIT_XML",
    "K8S_RUNNERS_JSON",
    "K6_LOG",
    "K6_RESULTS",
    "K6_SUMMARY",
    "K6_SUMMARY_EXPORT",
    "K6_TRACED_SCRIPT",
    "K6_TRACING_MODULE",
    "REPORT_HTML",
    "REPORT_MD",
    "RAW_RESULTS_NAMES",
    "RESULTS_PATTERNS",
    "RUNNING",
    "RUN_JSON",
    "STATUSES",
    "SUMMARY_JSON",
    "SUMMARY_NAMES",
    "TIMESERIES_CSV",
    "PROTOCOLS_CSV",
    "GitInfo",
    "RunFolder",
    "RunFolderTaken",
    "RunRecord",
    "CLAIM_ATTEMPTS",
    "claim_new_run_folder",
    "claim_run_folder",
    "create_new_file",
    "default_reports_dir",
    "earlier_run_files",
    "git_info",
    "instance_file",
    "is_k6_summary",
    "is_results_file",
    "is_run_file",
    "new_reports_folder",
    "new_run_id",
    "read_run_record",
    "run_folder_path",
    "safe_url",
    "script_name",
]
