"""Suites: several scenarios or scripts as one test, one folder, one report, one exit code.

``runner.run_suite`` runs a :class:`~novaload.config.suite.Suite` through the same
``run_test`` pipeline as ``novaload run``; ``index`` writes the suite folder's index
reports and JUnit file.
"""

from novaload.suite.runner import SEVERITY_ORDER, RunRow, SuiteOutcome, run_suite, worst_exit_code

__all__ = ["SEVERITY_ORDER", "RunRow", "SuiteOutcome", "run_suite", "worst_exit_code"]
