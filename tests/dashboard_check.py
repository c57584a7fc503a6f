"""Helpers for ``run --dashboard`` tests: watch k6's web dashboard over HTTP while a run is
under way, and read the figures out of its HTML export.

k6's export (xk6-dashboard's ``reporter.exportHTML``) is the report page with the run's
events embedded in ``<script id="data" ...gzip; base64>``: JSON lines of ``{event, data}``.
``metric`` events name the metrics; the others' ``data`` arrays list them sorted by name
(``meter.format``: ``sort.Strings``); ``cumulative`` holds the whole run's values (a
counter's ``[count, rate]``).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from novaload.runners.ports import free_port, reserve_port

# A short constant-VUs load on the target (NOVALOAD_BASE_URL): long enough for several
# snapshots at --dashboard-period 1s, paced so that it stays light.
SCRIPT = """
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { scenarios: { steady: { executor: 'constant-vus', vus: 2, duration: '6s' } } };
export default function () {
  http.get(`${__ENV.NOVALOAD_BASE_URL}/`);
  sleep(0.05);
}
"""

_DATA = re.compile(r'<script id="data" type="application/json; charset=utf-8; gzip; base64">([^<]*)</script>')


@dataclass
class Seen:
    """What the dashboard served while k6 ran (empty when it never answered)."""

    ui: str = ""  # the page `/` redirects a browser to
    report: str = ""  # /report: the export of the run so far
    errors: list[str] = field(default_factory=list)


def watch(proc: subprocess.Popen[str], url: str) -> Seen:
    """Poll ``url`` until the dashboard answers or the run ends (the run's own duration
    bounds it), then fetch its page and its report once."""
    seen = Seen()
    while proc.poll() is None and not seen.ui:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as page:  # redirected to /ui/
                seen.ui = page.read().decode("utf-8", "replace")
            with urllib.request.urlopen(url + "/report", timeout=5) as page:
                seen.report = page.read().decode("utf-8", "replace")
        except OSError as exc:
            seen.errors.append(str(exc))
            time.sleep(0.2)
    return seen


def free_ports(count: int) -> int:
    """A first port of ``count`` consecutive loopback ports, free and kept from other
    processes until k6 binds them (a split run's dashboards take port + i)."""
    while True:
        port = free_port()
        if port + count > 65536:
            continue
        try:
            for offset in range(1, count):
                reserve_port(port + offset)
        except OSError:
            continue
        return port


def events(html: str) -> list[dict]:
    """The events embedded in a dashboard export (or its live /report page)."""
    found = _DATA.search(html)
    assert found, "no embedded data in the dashboard's HTML"
    text = gzip.decompress(base64.b64decode(found.group(1))).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def cumulative(path: Path) -> dict[str, list[float]]:
    """The whole run's values per metric from an export file, by metric name."""
    found = events(path.read_text(encoding="utf-8"))
    names = sorted(name for e in found if e["event"] == "metric" for name in e["data"])
    last = [e for e in found if e["event"] == "cumulative"][-1]["data"]
    return dict(zip(names, last, strict=True))
