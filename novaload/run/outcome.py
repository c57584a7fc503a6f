"""The exit code and verdict of a finished run — decided here and nowhere else.

k6's own exit code passes through unchanged (99 thresholds failed, 105
interrupted, 107 script exception, ...). When k6 says 0 but novaload's offline
judgement of the same thresholds finds a failure, the run exits 99 too: CI
must never pass a run whose report says "failed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from novaload.errors import ExitCode

if TYPE_CHECKING:  # the results model needs pandas; the CLI imports this module at start-up
    from novaload.results.model import RunResults
    from novaload.runners.base import K6Execution

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


def exit_code_for(
    k6_exit: int, results: RunResults | None, *, regressed: bool = False, strict_generator: bool = False
) -> int:
    """k6's code when not 0, else 99 / 3 / 0. ``strict_generator``: an untrustworthy load
    generator turns 0, 99 and 3 into 5, since those verdicts rest on figures a saturated
    k6 distorted; k6's other codes (a crash, an abort) still pass through."""
    generator = results.load_generator if results is not None else None
    if strict_generator and generator is not None and not generator.trustworthy and k6_exit in (0, 99):
        return ExitCode.GENERATOR_UNTRUSTWORTHY
    if k6_exit != 0:
        return k6_exit
    if results is not None and results.thresholds_failed:
        return ExitCode.THRESHOLDS_FAILED
    if regressed:
        return ExitCode.REGRESSION
    return ExitCode.OK


def verdict_for(exit_code: int, results: RunResults | None, execution: K6Execution | None) -> str:
    """One word or phrase for humans: passed, failed, interrupted, error: ..."""
    if execution is not None and execution.interrupted:
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
    return f"error: {K6_MEANINGS.get(exit_code, f'k6 exit code {exit_code}')}"


__all__ = ["K6_MEANINGS", "exit_code_for", "verdict_for"]
