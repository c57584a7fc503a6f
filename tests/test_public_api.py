"""The library's public names: exported on purpose, importable from the top level, and
loaded lazily so that ``import novaload`` (which the CLI does) stays cheap."""

from __future__ import annotations

import subprocess
import sys

import novaload

EXPECTED = {
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
}


def test_exported_names_are_exactly_the_public_api() -> None:
    assert set(novaload.__all__) == EXPECTED


def test_every_exported_name_resolves_to_its_definition() -> None:
    from novaload.report_files import build_reports
    from novaload.results.ingest import ingest
    from novaload.run.pipeline import run_test

    for name in novaload.__all__:
        assert getattr(novaload, name) is not None, name
    assert novaload.run_test is run_test
    assert novaload.ingest is ingest
    assert novaload.build_reports is build_reports


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        novaload.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_novaload_does_not_import_pandas_or_the_pipeline() -> None:
    code = (
        "import sys, novaload; from novaload import run_test, ingest, build_reports; "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Importing the names loads their modules (ingest needs pandas) ...
    assert out.stdout.strip() == "True"
    bare = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, novaload; print('pandas' in sys.modules, 'novaload.run' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # ... but `import novaload` alone loads neither.
    assert bare.stdout.strip() == "False False"
