"""``junit.xml``: thresholds and checks as JUnit test cases, so Jenkins, GitLab
and GitHub test widgets show which threshold failed with what value.

The file fails exactly when the run's exit code does: like k6's own ``jUnit()``
(k6-summary jslib), the test cases that fail are the thresholds, so a run that
exits 0 never turns CI red through its junit.xml.

One ``<testsuite name="novaload <scenario>">``; a threshold is a testcase
``thresholds.<metric>`` / ``<expression>`` (failure: observed vs limit;
"no data": skipped); a submetric whose thresholds k6's output dropped is
``thresholds.<submetric>`` / ``incomplete`` (failure when the run exits 7 for it,
else skipped); a check is a testcase ``checks.<group>`` / ``<check>``, never a
failure: its pass/fail counts go into ``<system-out>``, and only a ``checks``
threshold fails the run on them, as in k6. A baseline comparison is
``comparison`` / ``baseline <id>`` (failure when it regressed: exit 3); the load
generator is ``load_generator`` / ``trustworthy`` (failure only when
untrustworthy and enforced, else skipped). Any other non-zero exit code (k6's
script error, an abort, no results) is ``run`` / ``exit code``, failed, so the
file is never green while the run is red. Built with xml.etree so every name and
message is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from novaload.errors import ExitCode
from novaload.reports.base import ReportContext, write_atomic
from novaload.reports.figures import fmt_observed, threshold_unit, window_note
from novaload.results.model import RunResults, ThresholdResult
from novaload.runfolder import JUNIT_XML

_XML_INVALID = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])


def xml_text(value: object) -> str:
    """Drop the control characters XML 1.0 cannot carry (ElementTree would write them raw)."""
    return str(value).translate(_XML_INVALID)


def check_classname(group: object) -> str:
    """``checks.<group>``: k6's ``::a::b`` group path becomes ``a.b``, the root group ``root``."""
    path = [p for p in str(group or "").split("::") if p]
    return "checks." + (".".join(path) if path else "root")


def _threshold_case(suite: ET.Element, t: ThresholdResult, results: RunResults) -> str:
    case = ET.SubElement(
        suite, "testcase", classname=xml_text(f"thresholds.{t.metric}"), name=xml_text(t.expression), time="0"
    )
    unit = threshold_unit(results, t)
    if t.status == "no data":
        ET.SubElement(case, "skipped", message=xml_text(f"no data: {t.metric} received no samples"))
    elif t.status == "failed":
        msg = (
            f"observed {t.aggregation} = {fmt_observed(t.observed, unit)}, "
            f"limit {t.operator} {fmt_observed(t.limit, unit)}"
        )
        if t.window:
            msg += f"; {t.window}: {window_note(t)}"
        fail = ET.SubElement(case, "failure", message=xml_text(msg), type="threshold")
        fail.text = xml_text(
            f"{t.metric}: {t.expression}\n{msg}" + ("\n(abortOnFail)" if t.abort_on_fail else "")
        )
    return t.status


def _check_case(suite: ET.Element, group: object, check: object, passes: float, fails: float) -> None:
    """A check is reported, never failed: k6 fails a run on checks only through a
    ``checks`` threshold, and that threshold is its own (failing) test case."""
    case = ET.SubElement(
        suite, "testcase", classname=xml_text(check_classname(group)), name=xml_text(check), time="0"
    )
    total = passes + fails
    out = ET.SubElement(case, "system-out")
    out.text = f"{int(passes):,} of {int(total):,} evaluations passed, {int(fails):,} failed"


def _incomplete_case(suite: ET.Element, submetric: str, exit_code: int | None) -> str:
    """A thresholded submetric k6's JSON output dropped the thresholds of: failed when the
    run exits 7 for it (``report``), else skipped (k6 judged it and said so)."""
    case = ET.SubElement(
        suite, "testcase", classname=xml_text(f"thresholds.{submetric}"), name="incomplete", time="0"
    )
    msg = f"k6's output dropped the thresholds of {submetric}: k6's verdict on them is unknown"
    if exit_code == ExitCode.THRESHOLDS_INCOMPLETE:
        fail = ET.SubElement(case, "failure", message=xml_text(msg), type="thresholds_incomplete")
        fail.text = xml_text(msg)
        return "failed"
    ET.SubElement(case, "skipped", message=xml_text(msg))
    return "skipped"


def _comparison_case(suite: ET.Element, comparison: object | None) -> str | None:
    """``comparison`` / ``baseline <id>``: failed when the run regressed (it exits 3)."""
    regressed = getattr(comparison, "regressed", None)
    if not isinstance(regressed, bool):
        return None
    base = getattr(comparison, "baseline", None)
    label = getattr(base, "run_id", None) or getattr(base, "label", None) or "baseline"
    case = ET.SubElement(
        suite, "testcase", classname="comparison", name=xml_text(f"baseline {label}"), time="0"
    )
    if not regressed:
        return "passed"
    summary = getattr(comparison, "summary_line", None)
    msg = summary() if callable(summary) else "regression against the baseline"
    fail = ET.SubElement(case, "failure", message=xml_text(msg), type="regression")
    fail.text = xml_text(msg)
    return "failed"


def _exit_case(suite: ET.Element, context: ReportContext) -> bool:
    """``run`` / ``exit code``, failed, when the run exits non-zero and no other test case
    says why (a script error, an abort, no results): junit.xml agrees with the exit code."""
    case = ET.SubElement(suite, "testcase", classname="run", name="exit code", time="0")
    msg = f"exit {context.exit_code}: {context.verdict}"
    fail = ET.SubElement(case, "failure", message=xml_text(msg), type="exit_code")
    fail.text = xml_text(msg)
    return True


def _generator_case(suite: ET.Element, results: RunResults) -> str | None:
    """``load_generator`` / ``trustworthy``: passed; failed when untrustworthy and strict (the
    run exits 5); skipped (visible, not failing) when untrustworthy but not enforced."""
    gen = results.load_generator
    if gen is None:
        return None
    case = ET.SubElement(suite, "testcase", classname="load_generator", name="trustworthy", time="0")
    if gen.trustworthy:
        return "passed"
    reasons = "; ".join(gen.reasons)
    if gen.criteria.strict:
        fail = ET.SubElement(
            case, "failure", message=xml_text(f"untrustworthy: {reasons}"), type="load_generator"
        )
        fail.text = xml_text("\n".join(gen.reasons))
        return "failed"
    ET.SubElement(
        case,
        "skipped",
        message=xml_text(f"untrustworthy (not enforced without --strict-generator): {reasons}"),
    )
    return "skipped"


def render_junit(results: RunResults, context: ReportContext) -> bytes:
    suite = ET.Element(
        "testsuite", name=xml_text(f"novaload {context.scenario}"), time=f"{results.duration_s:.3f}"
    )
    if results.started_at is not None:
        suite.set("timestamp", results.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
    statuses = [_threshold_case(suite, t, results) for t in results.thresholds]
    statuses += [_incomplete_case(suite, m, context.exit_code) for m in results.thresholds_incomplete]
    ch = (
        results.checks
        if not results.checks.empty
        else pd.DataFrame(columns=["group", "check", "passes", "fails"])
    )
    for r in ch.itertuples(index=False):
        _check_case(suite, r.group, r.check, r.passes, r.fails)
    others = [s for s in (_comparison_case(suite, context.comparison), _generator_case(suite, results)) if s]
    failures = statuses.count("failed") + others.count("failed")
    tests = len(statuses) + len(ch) + len(others)
    if failures == 0 and context.exit_code not in (None, ExitCode.OK):
        failures += _exit_case(suite, context)
        tests += 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(statuses.count("no data") + statuses.count("skipped") + others.count("skipped")))
    props = ET.Element("properties")
    for key in ("run_id", "environment", "profile", "k6_version", "git_commit", "exit_code", "verdict"):
        value = getattr(context, key)
        if value is not None:
            ET.SubElement(props, "property", name=key, value=xml_text(value))
    suite.insert(0, props)
    root = ET.Element("testsuites", name="novaload")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


class JunitReporter:
    name = "junit"
    filename = JUNIT_XML

    def write(self, results: RunResults, context: ReportContext, out_dir: Path) -> Path:
        return write_atomic(out_dir / self.filename, render_junit(results, context))


__all__ = ["JunitReporter", "check_classname", "render_junit"]
