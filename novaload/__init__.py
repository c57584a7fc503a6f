"""novaload: one-command, CI-grade Grafana k6 load testing, usable as a library.

    from novaload import RunRequest, run_test, ingest, build_reports

    outcome = run_test(RunRequest(target="api", environment="local", profile="smoke"))
    print(outcome.exit_code, outcome.run_dir)

    results = ingest([Path("k6-results.json")])          # exact figures, k6's own rules
    built = build_reports([Path("k6-results.json")], Path("out"))

The names are loaded on first use (PEP 562): ``import novaload`` stays as cheap as the CLI's
start-up needs, and pandas is only imported by what reads results.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "run_test": "novaload.run.pipeline",
    "RunRequest": "novaload.run.prepare",
    "RunOutcome": "novaload.run.pipeline",
    "RunObserver": "novaload.run.pipeline",
    "ingest": "novaload.results.ingest",
    "RunResults": "novaload.results.model",
    "build_reports": "novaload.report_files",
    "BuiltReports": "novaload.report_files",
    "NovaloadError": "novaload.errors",
    "ExitCode": "novaload.errors",
}

if TYPE_CHECKING:
    from novaload.errors import ExitCode, NovaloadError
    from novaload.report_files import BuiltReports, build_reports
    from novaload.results.ingest import ingest
    from novaload.results.model import RunResults
    from novaload.run.pipeline import RunObserver, RunOutcome, run_test
    from novaload.run.prepare import RunRequest


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'novaload' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "BuiltReports",
    "ExitCode",
    "NovaloadError",
    "RunObserver",
    "RunOutcome",
    "RunRequest",
    "RunResults",
    "__version__",
    "build_reports",
    "ingest",
    "run_test",
]
