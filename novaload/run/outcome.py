"""The exit code and verdict of a finished run — decided here and nowhere else.

For ``novaload run`` (every runner) and ``novaload report``:

* k6's own exit code passes through unchanged (99 thresholds failed, 105 interrupted,
  107 script exception, ...). A split run's instances are combined into one code by
  :func:`k6_exit_code` (a crash outranks a threshold verdict).
* When k6 says 0 but novaload's offline judgement of the same thresholds finds a failure,
  the run exits 99 too: CI must never pass a run whose report says "failed".
* When k6 says 0 but wrote no usable results, the run exits 4 (``NO_RESULTS``): a run
  that measured nothing is never "passed". So does one whose results did not all arrive
  (``RunResults.incomplete``: an instance's results file missing, empty or cut short
  against k6's own count of it, ``results.completeness``); a split run's 99 then stands
  rather than being judged again over part of the samples.
* A split run whose setup() and teardown() ran once (``--setup once``) exits as one k6
  would: a setup() that failed gives k6's code for it (107 exception, 100 timeout, 108
  ``test.abort()``) and nobody ran; a failed teardown() gives 107/101/108 unless a runner
  failed first; the runner that ran them was stopped through k6's REST API on Ctrl-C (so
  that teardown() still ran), and its 103 (or 0 after its iterations) is the 105 of a Ctrl-C.
* Kubernetes runners stopped through k6's REST API for a Ctrl-C exit 103: the run exits
  105, as ``k6 run`` does on Ctrl-C and as the local and Docker runners (a SIGINT) do.
* A regression against ``--baseline`` exits 3.
* k6 exiting 2 is k6 crashing (a Go runtime panic or fatal error outside k6's own
  recovery: k6 has no exit code 2 of its own, its usage errors exit 255): 8,
  ``K6_CRASHED``, never novaload's 2 (a usage error). k6 killed by a signal (128+N: the
  out-of-memory killer sends SIGKILL, 137) keeps its code and is named a crash too.
* A k6 instance whose end is unknown (a Kubernetes runner's pod deleted or evicted, its
  container status lost, before its exit code was read) is 9, ``K6_EXIT_UNKNOWN``, never a
  made-up 1 (novaload's bug code) nor a pass; an OOMKilled container is 137 and one ended
  by signal N is 128+N (the runner reads them so), crashes as above.
* ``report`` (``k6_judged=False``: nobody saw k6's exit code) on results that name a
  thresholded submetric whose thresholds k6's JSON output dropped exits 7,
  ``THRESHOLDS_INCOMPLETE``, unless a known threshold already failed (99).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

from novaload.errors import ExitCode

if TYPE_CHECKING:  # the results model needs pandas; the CLI imports this module at start-up
    from novaload.results.model import RunResults
    from novaload.runners.base import SetupTeardown

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
    255: "k6 could not start the test (its error is in k6.log)",  # k6's generic -1
}
NOVALOAD_MEANINGS: dict[int, str] = {
    ExitCode.USAGE: "usage, configuration or input error",
    ExitCode.REGRESSION: "regression against the baseline",
    ExitCode.NO_RESULTS: "k6 wrote no results, or they did not all arrive",
    ExitCode.GENERATOR_UNTRUSTWORTHY: "the load generator was saturated (--strict-generator)",
    ExitCode.THRESHOLDS_INCOMPLETE: "thresholds incomplete: give --script or --k6-summary",
    ExitCode.K6_CRASHED: "k6 crashed (a Go runtime panic or fatal error)",
    ExitCode.K6_EXIT_UNKNOWN: "a k6 instance's exit code is unknown (its pod or container was lost)",
}
# k6's exit status when the Go runtime dies of an unrecovered panic or a fatal error.
K6_GO_RUNTIME_EXIT = 2


def k6_crashed(k6_exit: int) -> bool:
    """k6 died instead of ending: a Go runtime crash, or killed by a signal (128+N)
    other than the interrupts a user sends (SIGINT, SIGTERM: k6 then exits 105 itself)."""
    return k6_exit in (K6_GO_RUNTIME_EXIT, ExitCode.K6_CRASHED) or _signal_of(k6_exit) is not None


def _signal_of(k6_exit: int) -> int | None:
    """N for a k6 killed by signal N (the runners report 128+N); k6's own 255 is no signal."""
    n = k6_exit - 128
    return n if 0 < n <= signal.SIGRTMAX else None


def crash_meaning(k6_exit: int) -> str:
    """What a crash exit code says, in words."""
    n = _signal_of(k6_exit)
    if n is not None:
        try:
            name = signal.Signals(n).name
        except ValueError:
            name = f"signal {n}"
        oom = " (the out-of-memory killer, or kill -9)" if n == signal.SIGKILL else ""
        return f"k6 crashed: killed by {name}{oom}"
    return "k6 crashed (a Go runtime panic or fatal error)"


def k6_exit_code(
    codes: Sequence[int],
    *,
    rejudged: bool = False,
    setup_teardown: SetupTeardown | None = None,
    interrupted: bool = False,
) -> int:
    """One k6 exit code for N k6 instances (in the order they exited); a single instance's
    code passes through unchanged.

    The first failure that is not 99 (a crash outranks a threshold verdict, the first to
    exit is the cause); else 99 if an instance failed its thresholds; else 0.
    ``rejudged``: every instance's results are at hand and the pipeline judges the
    thresholds again over the merged samples (the Kubernetes runner), so a 99, which only
    says that one instance's *slice* failed, becomes 0 here.
    ``setup_teardown``: how a split run's setup() and teardown() ran (see the module doc).
    ``interrupted``: the run got a Ctrl-C (or SIGTERM). An instance novaload stopped for it
    through k6's REST API (a Kubernetes runner, as k6-operator's stopper does) exits 103
    ("stopped via the REST API"), which is then the 105 that ``k6 run`` gives a Ctrl-C.
    """
    codes = list(codes)
    if interrupted:
        codes = [ExitCode.K6_EXTERNAL_ABORT if c == ExitCode.K6_STOPPED_VIA_API else c for c in codes]
    once = setup_teardown if setup_teardown is not None and setup_teardown.runner is not None else None
    if once is not None and once.failed == "setup":
        return setup_teardown_exit_code("setup", once.error)
    own = once.runner_exit_code if once is not None else None
    if once is not None and once.stopped_for_interrupt and own in (0, 99, 103) and own in codes:
        codes.remove(own)  # novaload's stop, not k6's verdict: one k6 exits 105 on Ctrl-C
        codes.append(ExitCode.K6_EXTERNAL_ABORT)
    others = [c for c in codes if c not in (ExitCode.OK, ExitCode.THRESHOLDS_FAILED)]
    if others:
        return others[0]
    if once is not None and once.failed == "teardown":
        return setup_teardown_exit_code("teardown", once.error)
    if ExitCode.THRESHOLDS_FAILED in codes and not rejudged:
        return ExitCode.THRESHOLDS_FAILED
    return ExitCode.OK


def setup_teardown_exit_code(phase: str, error: str | None) -> int:
    """k6's exit code for a setup() or teardown() that failed as its REST API told
    (``k6 run`` exits so when it runs them itself): 100/101 for its timeout ("setup()
    execution timed out after N seconds"), 108 for ``test.abort()`` ("test aborted: ..."),
    else 107, a script exception."""
    text = error or ""
    if text.startswith(f"{phase}() execution timed out"):
        return ExitCode.K6_SETUP_TIMEOUT if phase == "setup" else ExitCode.K6_TEARDOWN_TIMEOUT
    if text.startswith("test aborted"):
        return ExitCode.K6_SCRIPT_ABORTED
    return ExitCode.K6_SCRIPT_EXCEPTION


def exit_code_for(
    k6_exit: int,
    results: RunResults | None,
    *,
    regressed: bool = False,
    strict_generator: bool = False,
    k6_judged: bool = True,
) -> int:
    """The exit code of a finished run: k6's, unless novaload knows better (see above).

    ``strict_generator``: an untrustworthy load generator turns 0, 99 and 3 into 5, since
    those verdicts rest on figures a saturated k6 distorted; k6's other codes (a crash, an
    abort) still pass through. ``k6_judged=False``: ``report``, where k6's own verdict is
    not known (``k6_exit`` is 0 by default) and incomplete thresholds exit 7."""
    if k6_exit == K6_GO_RUNTIME_EXIT:
        return ExitCode.K6_CRASHED
    generator = results.load_generator if results is not None else None
    if strict_generator and generator is not None and not generator.trustworthy and k6_exit in (0, 99):
        return ExitCode.GENERATOR_UNTRUSTWORTHY
    if k6_exit != 0:
        return k6_exit
    if results is None or results.incomplete:
        # Figures from part of the run are not the run's: neither its thresholds nor a
        # comparison can be judged on them (k6 itself said 0 on all of it).
        return ExitCode.NO_RESULTS
    if results.thresholds_failed:
        return ExitCode.THRESHOLDS_FAILED
    if not k6_judged and results.thresholds_incomplete:
        return ExitCode.THRESHOLDS_INCOMPLETE
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
    if exit_code == ExitCode.THRESHOLDS_INCOMPLETE:
        return "thresholds incomplete"
    if exit_code == ExitCode.NO_RESULTS and results is not None and results.incomplete:
        return "error: k6's results did not all arrive"
    if k6_crashed(exit_code):
        return crash_meaning(exit_code)
    return f"error: {meaning(exit_code)}"


def meaning(exit_code: int) -> str:
    """What an exit code says, in words (k6's codes and novaload's own)."""
    if _signal_of(exit_code) is not None:
        return crash_meaning(exit_code)
    return K6_MEANINGS.get(exit_code) or NOVALOAD_MEANINGS.get(exit_code) or f"k6 exit code {exit_code}"


__all__ = [
    "K6_GO_RUNTIME_EXIT",
    "K6_MEANINGS",
    "NOVALOAD_MEANINGS",
    "crash_meaning",
    "exit_code_for",
    "k6_crashed",
    "k6_exit_code",
    "meaning",
    "setup_teardown_exit_code",
    "verdict_for",
]
