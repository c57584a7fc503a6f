"""k6's log lines to Loki during a run, forwarded by novaload from the run's ``k6.log``.

Why not k6's own ``--log-output=loki=…``: k6 has exactly one log output, so with Loki
its log lines leave ``k6.log`` and the terminal — and novaload reads ``k6.log`` for
"Insufficient VUs" (the generator check) and shows k6's warnings live. Forwarding
keeps both and sends Loki what k6's Loki output would: the same push format
(``POST /loki/api/v1/push``, JSON streams), one stream per label set, every logfmt
field but ``time`` and ``msg`` as a label (k6 does the same: ``level``, ``source``,
``scenario``, ``executor``, …) plus ``testid=<run id>``, and ``msg`` as the line.

Best effort, like every monitoring output: a Loki that stops answering costs the lines
of that push (counted for one line after the run), never the run.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from novaload.monitoring.stack import Post, http_post, reason_of

PUSH_PATH = "/loki/api/v1/push"
# k6's text log format (logrus): time="RFC3339" level=LEVEL msg="…" key=value …
_ENTRY = re.compile(r'time="(?P<time>[^"]+)" level=(?P<level>\w+)(?P<fields>.*)$')
_FIELD = re.compile(r'\s([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
# Loki label names: [a-zA-Z_][a-zA-Z0-9_]*
_LABEL_SAFE = re.compile(r"[^A-Za-z0-9_]")


def parse_k6_log_line(line: str, run_id: str) -> tuple[int, dict[str, str], str] | None:
    """(timestamp in ns, stream labels, log line) of one k6 log line; None for other output."""
    entry = _ENTRY.search(line)
    if entry is None:
        return None
    labels = {"level": entry["level"], "testid": run_id}
    message = ""
    for key, raw in _FIELD.findall(entry["fields"]):
        value = _unquote(raw)
        if key == "msg":
            message = value
        elif key != "testid":  # the run id is novaload's to set
            labels[_LABEL_SAFE.sub("_", key)] = value
    try:
        moment = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        ns = int(moment.timestamp()) * 1_000_000_000
    except ValueError:
        ns = time.time_ns()
    return ns, labels, message


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        with contextlib.suppress(ValueError):
            return str(json.loads(raw))  # Go's %q and JSON agree on what k6 prints
        return raw.strip('"')
    return raw


class LokiLogForwarder:
    """Tails ``log_path`` (k6.log, written line by line by every runner) in a thread
    and pushes k6's log entries to Loki about every ``interval`` seconds."""

    def __init__(
        self, loki_url: str, run_id: str, log_path: Path, *, interval: float = 1.0, post: Post = http_post
    ) -> None:
        self.url = loki_url.rstrip("/") + PUSH_PATH
        self.run_id = run_id
        self.log_path = log_path
        self.interval = interval
        self._post = post
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="novaload-loki", daemon=True)
        self._offset = 0
        self._partial = ""
        self._last_ns: dict[tuple[tuple[str, str], ...], int] = {}
        self.pushed = 0  # log lines Loki accepted
        self.failed_pushes = 0
        self.lost = 0  # log lines of failed pushes
        self.last_error = ""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Forward what is left, then end the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def summary(self) -> str | None:
        """One line when lines were lost; None when Loki took everything."""
        if not self.failed_pushes:
            return None
        return (
            f"monitoring: {self.lost} k6 log line(s) not sent to Loki at {self.url} "
            f"({self.failed_pushes} failed push(es), last: {self.last_error}); k6.log has them all"
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._forward()
        self._forward()

    def _forward(self) -> None:
        entries = [e for e in (parse_k6_log_line(line, self.run_id) for line in self._new_lines()) if e]
        if not entries:
            return
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for ns, labels, message in entries:
            key = tuple(sorted(labels.items()))
            # k6.log has whole seconds: keep each stream's order with nanosecond steps.
            ns = max(ns, self._last_ns.get(key, 0) + 1)
            self._last_ns[key] = ns
            streams.setdefault(key, []).append([str(ns), message])
        body = {"streams": [{"stream": dict(key), "values": values} for key, values in streams.items()]}
        try:
            code, answer = self._post(
                self.url, json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"}
            )
            failure = "" if 200 <= code < 300 else f"HTTP {code}: {answer.strip()[:120]}"
        except OSError as exc:
            failure = reason_of(exc)
        if failure:
            self.failed_pushes += 1
            self.lost += len(entries)
            self.last_error = failure
        else:
            self.pushed += len(entries)

    def _new_lines(self) -> list[str]:
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as log:
                log.seek(self._offset)
                chunk = log.read()
                self._offset = log.tell()
        except OSError:
            return []  # not written yet
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()  # a line still being written
        return lines


@contextlib.contextmanager
def forward_k6_logs(loki_url: str | None, run_id: str, log_path: Path) -> Iterator[LokiLogForwarder | None]:
    """Forward k6's log lines to ``loki_url`` while the block runs (nothing when None)."""
    if not loki_url:
        yield None
        return
    forwarder = LokiLogForwarder(loki_url, run_id, log_path)
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


__all__ = ["PUSH_PATH", "LokiLogForwarder", "forward_k6_logs", "parse_k6_log_line"]
