"""The suite folder's own files: ``index.html``, ``index.md``, ``junit.xml``, ``suite.json``.

One row per run: its label, what ran, verdict and exit code, the key figures from the run's
``summary.json`` (requests, requests/s, p95/p99, failed requests, checks) and links to the
run's report, Markdown, JUnit and folder. The JUnit file holds every run's own test suite
(thresholds and checks) plus one ``run`` test case per run carrying its exit code, so a CI
test widget shows one suite with every run in it. User-controlled text is escaped for where
it goes (HTML, Markdown, XML); the HTML has no JavaScript.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.fileio import write_atomic
from novaload.reports.junit import xml_text
from novaload.reports.markdown import append_step_summary, md_text
from novaload.runfolder import JUNIT_XML, REPORT_HTML, REPORT_MD

if TYPE_CHECKING:
    from novaload.suite.runner import RunRow, SuiteOutcome

INDEX_HTML = "index.html"
INDEX_MD = "index.md"
SUITE_JUNIT = "junit.xml"
SUITE_JSON = "suite.json"
SUITE_FILES = (INDEX_HTML, INDEX_MD, SUITE_JUNIT, SUITE_JSON)  # what write_index writes
_LINKS = ((REPORT_HTML, "report"), (REPORT_MD, "md"), (JUNIT_XML, "junit"))
_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "regressed": "#9a6700", "not run": "#57606a"}


def figure_text(value: float | None, fmt: str) -> str:
    """A run's figure as the index and the terminal show it; "–" when the run has none."""
    return "–" if value is None else format(value, fmt)


def share_text(value: float | None) -> str:
    """A rate (0..1) as a percentage; "–" when the run has none."""
    return "–" if value is None else f"{100 * value:.2f}%"


def _cells(row: RunRow) -> list[str]:
    f = row.figures
    return [
        str(row.index + 1),
        row.label,
        row.target,
        ", ".join(f"{k}={v}" for k, v in row.settings.items()) or "defaults",
        row.verdict + (f" ({row.message})" if row.message and row.message not in row.verdict else ""),
        str(row.exit_code) if row.verdict != "not run" else "–",
        figure_text(f.get("requests"), ",.0f"),
        figure_text(f.get("rps"), ".1f"),
        figure_text(f.get("p95_ms"), ".1f"),
        figure_text(f.get("p99_ms"), ".1f"),
        share_text(f.get("failed_rate")),
        share_text(f.get("checks_rate")),
        figure_text(row.duration_s, ".1f"),
    ]


_HEADERS = [
    "#", "run", "scenario / script", "settings", "verdict", "exit", "requests", "req/s",
    "p95 ms", "p99 ms", "failed", "checks", "time s",
]  # fmt: skip


def _colour(verdict: str) -> str:
    return _COLOURS.get(verdict.split(" ")[0], "#cf222e")


def render_html(outcome: SuiteOutcome) -> str:
    esc = html.escape
    suite = outcome.suite
    rows = []
    for row in outcome.rows:
        cells = "".join(
            f'<td style="color:{_colour(row.verdict)};font-weight:600">{esc(c)}</td>'
            if i == 4
            else f"<td>{esc(c)}</td>"
            for i, c in enumerate(_cells(row))
        )
        links = " · ".join(
            f'<a href="{esc(row.folder)}/{name}">{label}</a>' for name, label in _LINKS if name in row.files
        )
        if row.folder and row.verdict != "not run":
            links = (links + " · " if links else "") + f'<a href="{esc(row.folder)}/">folder</a>'
        rows.append(f"<tr>{cells}<td>{links}</td></tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in [*_HEADERS, "links"])
    description = f"<p>{esc(suite.description)}</p>" if suite.description else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>novaload suite {esc(suite.name)}: {esc(outcome.verdict)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}"
        "table{border-collapse:collapse;font-size:14px}th,td{border:1px solid #d0d7de;padding:4px 8px;"
        "text-align:left;vertical-align:top}th{background:#f6f8fa}td:nth-child(n+6):not(:last-child){text-align:right}"
        ".verdict{font-size:20px;font-weight:700}</style></head><body>"
        f"<h1>novaload suite {esc(suite.name)}</h1>{description}"
        f'<p class="verdict" style="color:{_colour(outcome.verdict)}">{esc(outcome.verdict)} · exit code '
        f"{outcome.exit_code}</p>"
        f"<p>{len(outcome.rows)} run(s), {esc(suite.mode)} · started {esc(outcome.started_at)} · "
        f"{outcome.duration_s:.1f} s</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p><small>The suite's exit code is the worst of its runs': internal error (1) &gt; could not "
        "start (2) &gt; other k6 codes &gt; untrustworthy generator (5) &gt; thresholds failed (99) &gt; "
        "regression (3) &gt; passed (0).</small></p></body></html>\n"
    )


def render_markdown(outcome: SuiteOutcome) -> str:
    suite = outcome.suite
    parts = [
        f"## novaload suite {md_text(suite.name)}: {md_text(outcome.verdict)} (exit {outcome.exit_code})",
        f"{len(outcome.rows)} run(s), {md_text(suite.mode)}, started {md_text(outcome.started_at)}, "
        f"{outcome.duration_s:.1f} s",
    ]
    if suite.description:
        parts.insert(1, md_text(suite.description))
    right = range(5, 13)
    lines = [
        "| " + " | ".join([*_HEADERS, "links"]) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(_HEADERS) + 1)) + "|",
    ]
    for row in outcome.rows:
        # Folder names are novaload's own (NN-label, reduced to [A-Za-z0-9_.-]): safe in a link.
        links = " · ".join(f"[{label}]({row.folder}/{name})" for name, label in _LINKS if name in row.files)
        lines.append("| " + " | ".join([*(md_text(c, 120) for c in _cells(row)), links]) + " |")
    parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_junit(outcome: SuiteOutcome) -> bytes:
    root = ET.Element("testsuites", name=xml_text(f"novaload suite {outcome.suite.name}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for row in outcome.rows:
        suite = _run_suite_element(outcome.suite_dir, row)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(f"suite.{row.label}"),
            name="run",
            time=f"{row.duration_s or 0:.3f}",
        )
        if row.verdict == "not run":
            ET.SubElement(case, "skipped", message=xml_text(f"not run: {row.message}"))
        elif row.exit_code == 0:
            pass
        elif row.exit_code in (99, 3):
            ET.SubElement(
                case, "failure", message=xml_text(f"exit {row.exit_code}: {row.verdict}"), type="verdict"
            )
        else:
            err = ET.SubElement(
                case, "error", message=xml_text(f"exit {row.exit_code}: {row.verdict}"), type="run"
            )
            err.text = xml_text(row.message or row.verdict)
        for key in totals:
            suite.set(key, str(len(suite.findall("testcase")) if key == "tests" else _count(suite, key)))
            totals[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _count(suite: ET.Element, key: str) -> int:
    tag = {"failures": "failure", "errors": "error", "skipped": "skipped"}[key]
    return sum(1 for case in suite.findall("testcase") if case.find(tag) is not None)


def _run_suite_element(suite_dir: Path, row: RunRow) -> ET.Element:
    """The run's own ``<testsuite>`` (thresholds, checks) renamed for the suite, or an empty one."""
    name = xml_text(f"novaload {row.label}")
    path = suite_dir / row.folder / JUNIT_XML if row.folder else None
    if path is not None and path.is_file():
        try:
            root: ET.Element | None = ET.parse(path).getroot()
        except ET.ParseError:
            root = None
        found = root if root is None or root.tag == "testsuite" else root.find("testsuite")
        if found is not None:
            found.set("name", name)
            return found
    return ET.Element("testsuite", name=name)


def suite_record(outcome: SuiteOutcome) -> dict[str, object]:
    return {
        "suite": outcome.suite.name,
        "description": outcome.suite.description,
        "mode": outcome.suite.mode,
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "started_at": outcome.started_at,
        "duration_s": outcome.duration_s,
        "runs": [
            {
                "label": r.label,
                "target": r.target,
                "settings": r.settings,
                "folder": r.folder,
                "run_id": r.run_id,
                "exit_code": r.exit_code if r.verdict != "not run" else None,
                "verdict": r.verdict,
                "message": r.message,
                "duration_s": r.duration_s,
                "figures": r.figures,
            }
            for r in outcome.rows
        ],
    }


def write_index(outcome: SuiteOutcome, *, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Write the suite folder's files; append the Markdown to a GitHub job summary if there is one."""
    folder = outcome.suite_dir
    markdown = render_markdown(outcome)
    files = (
        write_atomic(folder / INDEX_HTML, render_html(outcome)),
        write_atomic(folder / INDEX_MD, markdown),
        write_atomic(folder / SUITE_JUNIT, render_junit(outcome)),
        write_atomic(folder / SUITE_JSON, json.dumps(suite_record(outcome), indent=2) + "\n"),
    )
    append_step_summary(markdown, environ)
    return files


__all__ = [
    "INDEX_HTML",
    "INDEX_MD",
    "SUITE_FILES",
    "SUITE_JSON",
    "SUITE_JUNIT",
    "figure_text",
    "render_html",
    "render_junit",
    "render_markdown",
    "share_text",
    "write_index",
]
