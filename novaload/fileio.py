"""Writing files so that nobody ever sees half of one, and no secret in any.

Run folders are read while novaload writes them (CI artefact uploads, a browser
on report.html, a poller waiting for the demo target's ready file), and an
interrupted run must not leave a truncated summary.json or run.json behind.

Every text novaload writes goes through :func:`novaload.redact.redact` here, so that
a new file cannot forget it: :func:`write_atomic` for whole files, :func:`append_text`
for a file others append to too (the step summary); k6's logs are written line by line
by ``runners/console.py`` and the local runner, each line redacted there. Bytes are
written as they are: a copy of the script k6 runs, k6's own output.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from novaload.redact import redact


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A crash or a full disk mid-write leaves the previous file (if any) intact,
    and readers (a CI artefact upload, a browser) never see half a report. Text is
    redacted first; bytes are written as given.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = redact(data).encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def redact_file(path: Path) -> None:
    """Mask secrets in a text file written by someone else (rewritten only if needed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    if redact(text) != text:
        write_atomic(path, text)


def append_text(path: Path, text: str) -> Path:
    """Append ``text`` (redacted) to a file others own too (``$GITHUB_STEP_SUMMARY``)."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(redact(text))
    return path


__all__ = ["append_text", "redact_file", "write_atomic"]
