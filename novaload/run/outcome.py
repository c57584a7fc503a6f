"""The exit code and verdict of a finished run — decided here and nowhere else.

For ``novaload run`` (every runner) and ``novaload report``:

* k6's own exit code passes through unchanged (99 thresholds failed, 105 interrupted,
  107 script exception, ...). A split run's instances are combined into one code by
  :func:`k6_exit_code` (a crash outranks a threshold verdict).
* When k6 says 0 but novaload's offline judgement of the same thresholds finds a failure,
  the run exits 99 too: CI must never pass a run whose report says "failed".
* When k6 says 0 but wrote no usable results, the run exits 4 (``NO_RESULTS``): a run
  that measured nothing is never "passed".
* A regression against ``--baseline`` exits 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from novaload.errors import ExitCode

if TYPE_CHECKING:  # the results model needs pandas; the CLI imports this module at start-up
    from novaload.results.model import RunResults

K6_MEANINGS = {
    0: "passed",
    97: "cloud test failed",
    98: "cloud sync failed",
    99: "thresholds failed",
    100: "setup() timed out",
    101: "teardown() timed out",
    102: "timed out",
    103: "stopped via the REST API",
    104: "invalid k6 configuration",
    105: "aborted by a signal",
    106: "REST API could not start",
    107: "script exception",
    108: "test.abort() called",
    109: "k6 panicked",
    110: "marked as failed",
}
NOVALOAD_MEANINGS: dict[int, str] = {
    ExitCode.USAGE: "usage, configuration or input error",
    ExitCode.REGRESSION: "regression against the baseline",
    ExitCode.NO_RESULTS: "k6 wrote no results",
    ExitCode.GENERATOR_UNTRUSTWORTHY: "the load generator was saturated (--strict-generator)",
}


def k6_exit_code(codes: Sequence[int], *, rejudged: bool = False) -> int:
    """One k6 exit code for N k6 instances (in the order they exited); a single instance's
    code passes through unchanged.

    The first failure that is not 99 (a crash outranks a threshold verdict, the first to
    exit is the cause); else 99 if an instance failed its thresholds; else 0.
    ``rejudged``: every instance's results are at hand and the pipeline judges the
    thresholds again over the merged samples (the Kubernetes runner), so a 99, which only
    says that one instance's *slice* failed, becomes 0 here.
    """
    others = [c for c in codes if c not in (ExitCode.OK, ExitCode.THRESHOLDS_FAILED)]
    if others:
        return others[0]
    if ExitCode.THRESHOLDS_FAILED in codes and not rejudged:
        return ExitCode.THRESHOLDS_FAILED
    return ExitCode.OK


def exit_code_for(
    k6_exit: int, results: RunResults | None, *, regressed: bool = False, strict_generator: bool = False
) -> int:
    """The exit code of a finished run: k6's, unless novaload knows better (see above).

    ``strict_generator``: an untrustworthy load generator turns 0, 99 and 3 into 5, since
    those verdicts rest on figures a saturated k6 distorted; k6's other codes (a crash, an
    abort) still pass through."""
    generator = results.load_generator if results is not None else None
    if strict_generator and generator is not None and not generator.trustworthy and k6_exit in (0, 99):
        return ExitCode.GENERATOR_UNTRUSTWORTHY
    if k6_exit != 0:
        return k6_exit
    if results is None:
        return ExitCode.NO_RESULTS
    if results.thresholds_failed:
        return ExitCode.THRESHOLDS_FAILED
    if regressed:
        return ExitCode.REGRESSION
    return ExitCode.OK


def verdict_for(exit_code: int, results: RunResults | None, interrupted: bool = False) -> str:
    """One word or phrase for humans: passed, failed, interrupted, error: ..."""
    if interrupted:
        return "interrupted"
    generator = results.load_generator if results is not None else None
    if exit_code == ExitCode.GENERATOR_UNTRUSTWORTHY:
        return "untrustworthy"
    if exit_code == ExitCode.OK:
        if generator is not None and not generator.trustworthy:
            return "passed (untrustworthy load generator)"
        if results is not None and results.thresholds_no_data:
            return "passed (some thresholds had no data)"
        return "passed"
    if exit_code == ExitCode.THRESHOLDS_FAILED:
        return "failed"
    if exit_code == ExitCode.REGRESSION:
        return "regressed"
    return f"error: {meaning(exit_code)}"


def meaning(exit_code: int) -> str:
    """What an exit code says, in words (k6's codes and novaload's own)."""
    return K6_MEANINGS.get(exit_code) or NOVALOAD_MEANINGS.get(exit_code) or f"k6 exit code {exit_code}"


__all__ = [
    "K6_MEANINGS",
    "NOVALOAD_MEANINGS",
    "exit_code_for",
    "k6_exit_code",
    "meaning",
    "verdict_for",
]
