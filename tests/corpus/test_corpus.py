"""The regression corpus: real k6 scripts (grafana/k6 examples, the k6 documentation,
grafana/quickpizza) run by bare k6 and by ``novaload run``, each from an empty working
directory of its own.

For every script: the same exit code; handleSummary's files where k6 puts them (the
working directory) and nothing else there; novaload's own files intact in its run folder;
every value of novaload's summary.json equal to the ``--summary-export`` k6 wrote during
the same run (same metrics, same keys, same verdicts); no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import same_as_k6

from .conftest import SCRIPTS, stage

pytestmark = pytest.mark.k6

CORPUS = sorted(p.name for p in SCRIPTS.glob("*.js"))
# (script, extra k6 arguments): the k6 documentation's --summary-trend-stats example.
VARIANTS = [(name, ()) for name in CORPUS] + [
    ("k6-http_get.js", ("--summary-trend-stats", "avg,min,med,max,p(90),p(99.9),p(99.99),count")),
]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def summary_mismatches(ours: dict, export: dict) -> list[str]:
    bad = []
    theirs_all, ours_all = export["metrics"], ours["metrics"]
    for name in sorted(set(theirs_all) ^ set(ours_all)):
        bad.append(f"metric {name}: only in {'k6' if name in theirs_all else 'novaload'}")
    for name in sorted(set(theirs_all) & set(ours_all)):
        theirs, mine = theirs_all[name], ours_all[name]
        keys_t, keys_m = set(theirs) - {"thresholds"}, set(mine) - {"thresholds"}
        if keys_t != keys_m:
            bad.append(f"{name}: keys k6 {sorted(keys_t)} != novaload {sorted(keys_m)}")
        for key in sorted(keys_t & keys_m):
            t, m = theirs[key], mine[key]
            if not same_as_k6(key, m, t):
                bad.append(f"{name}.{key}: k6 {t!r} != novaload {m!r}")
        verdicts_t = {e: not failed for e, failed in theirs.get("thresholds", {}).items()}
        verdicts_m = {e: v["ok"] for e, v in mine.get("thresholds", {}).items()}
        if verdicts_t != verdicts_m:
            bad.append(f"{name}: thresholds k6 {verdicts_t} != novaload {verdicts_m}")
    return bad


@pytest.mark.parametrize(
    ("script", "extra"), VARIANTS, ids=[f"{s}{'+args' if a else ''}" for s, a in VARIANTS]
)
def test_corpus_script_behaves_as_under_k6(
    script: str, extra: tuple[str, ...], k6_bin: str, standin: str, tmp_path: Path
) -> None:
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    # bare k6, as a user runs it
    k6_script = stage(script, standin, tmp_path / "k6-src")
    k6_cwd = tmp_path / "k6-cwd"
    k6_cwd.mkdir()
    bare = subprocess.run(
        [
            k6_bin,
            "run",
            "--quiet",
            "--no-color",
            *extra,
            "--summary-export",
            str(tmp_path / "k6-export.json"),
            str(k6_script),
        ],
        cwd=k6_cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # novaload, the same way
    nl_script = stage(script, standin, tmp_path / "nl-src")
    nl_cwd = tmp_path / "nl-cwd"
    nl_cwd.mkdir()
    run_dir = tmp_path / "run"
    extra_nl = ("--summary-trend-stats", extra[1]) if extra else ()
    ours = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(nl_script), "--out-dir", str(run_dir), *extra_nl],
        cwd=nl_cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    context = (
        f"\nk6 stderr:\n{bare.stderr[-1500:]}\nnovaload stderr:\n{ours.stderr[-3000:]}\n{ours.stdout[-2000:]}"
    )
    assert "Traceback" not in ours.stderr + ours.stdout, context
    assert ours.returncode == bare.returncode, context
    # handleSummary's files land in the working directory, as under k6, and nothing else does
    k6_files, nl_files = _files(k6_cwd), _files(nl_cwd)
    assert set(nl_files) == set(k6_files), context
    # novaload's own files are its own, in its run folder
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "novaload" in summary
    export = json.loads((run_dir / "k6-summary-export.json").read_text())
    assert summary_mismatches(summary, export) == [], context
