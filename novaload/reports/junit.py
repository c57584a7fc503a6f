"""``junit.xml``: thresholds and checks as JUnit test cases, so Jenkins, GitLab
and GitHub test widgets show which threshold failed with what value.

One ``<testsuite name="novaload <scenario>">``; a threshold is a testcase
``thresholds.<metric>`` / ``<expression>`` (failure: observed vs limit;
"no data": skipped); a check is a testcase ``checks.<group>`` / ``<check>``
(failure when any evaluation failed); the load generator is ``load_generator`` /
``trustworthy`` (failure only when untrustworthy and enforced, else skipped).
Built with xml.etree so every name and message is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

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


def _check_case(suite: ET.Element, group: object, check: object, passes: float, fails: float) -> bool:
    case = ET.SubElement(
        suite, "testcase", classname=xml_text(check_classname(group)), name=xml_text(check), time="0"
    )
    if fails > 0:
        total = passes + fails
        msg = f"{int(fails):,} of {int(total):,} evaluations failed ({int(passes):,} passed)"
        fail = ET.SubElement(case, "failure", message=msg, type="check")
        fail.text = msg
        return True
    return False


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
    ch = (
        results.checks
        if not results.checks.empty
        else pd.DataFrame(columns=["group", "check", "passes", "fails"])
    )
    check_failures = sum(
        _check_case(suite, r.group, r.check, r.passes, r.fails) for r in ch.itertuples(index=False)
    )
    generator = _generator_case(suite, results)
    suite.set("tests", str(len(statuses) + len(ch) + (generator is not None)))
    suite.set("failures", str(statuses.count("failed") + check_failures + (generator == "failed")))
    suite.set("errors", "0")
    suite.set("skipped", str(statuses.count("no data") + (generator == "skipped")))
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
