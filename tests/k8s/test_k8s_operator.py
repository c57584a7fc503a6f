"""k6-operator mode against a real API server with the ``testruns.k6.io`` CRD installed.

The operator itself cannot be built here: the API server validates novaload's TestRun
against the published CRD (server-side, structural schema, unknown fields pruned), and a
test-only controller (``fake_operator.py``) runs the initializer and creates the runner Jobs
the way k6-operator's ``initializer.go`` and ``runner.go`` do, starts them and moves
``.status.stage``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import FAILING_RUNNER, Target, cluster_for
from fake_operator import FakeOperator
from support import require_tool

from novaload.errors import RunnerError, UsageError
from novaload.run.pipeline import SilentObserver, run_test
from novaload.run.prepare import RunRequest
from novaload.runners import k8s_objects as objects
from novaload.runners.base import K8sOptions
from novaload.runners.k8s import choose_mode, remaining_objects

pytestmark = [pytest.mark.k8s, pytest.mark.k6, pytest.mark.slow, pytest.mark.xdist_group("k8s")]

# k6-operator v1.6.0's TestRun CRD as published (config/crd/bases/k6.io_testruns.yaml),
# or the one NOVALOAD_TEST_TESTRUN_CRD names.
_CRD_FILE = Path(__file__).resolve().parent / "data" / "k6-operator-v1.6.0-testruns-crd.yaml"


def _crd_file() -> Path | None:
    chosen = Path(os.environ.get("NOVALOAD_TEST_TESTRUN_CRD") or _CRD_FILE)
    return chosen if chosen.is_file() else None


def _crd_for(api_client: object, text: str) -> dict:
    """The CRD for this API server: Kubernetes before 1.21 rejects its 66 ``default: ""``
    lines ("must be of type string: null"), so they go there; newer ones get it as is."""
    from kubernetes import client

    version = client.VersionApi(api_client).get_code()
    minor = int("".join(c for c in version.minor if c.isdigit()) or 0)
    if (int(version.major), minor) < (1, 21):
        text = "\n".join(line for line in text.splitlines() if line.strip() != 'default: ""')
    return yaml.safe_load(text)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def testrun_crd(cluster_available: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The TestRun CRD for the whole test run (installed once: a CRD being deleted while
    another test creates TestRuns makes every call about them 404).

    Each pytest-xdist worker is a session of its own, so the workers share it through a
    lock and a count of users in the folder they share: the first installs it (unless it
    was there before the run), the last one out removes what this run installed. Two
    workers creating it at once made one of them fail with 409 AlreadyExists."""
    from kubernetes import client

    from novaload.runners.k8s import connect

    crd_file = _crd_file()
    require_tool(
        crd_file is not None, f"the k6-operator TestRun CRD ({_CRD_FILE}; NOVALOAD_TEST_TESTRUN_CRD)"
    )
    assert crd_file is not None
    api_client = connect(K8sOptions()).api
    api = client.ApiextensionsV1Api(api_client)
    # under xdist every worker of this run has its basetemp in one folder; alone, its own
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    lock, users, ours = shared / "testrun-crd.lock", shared / "testrun-crd.users", shared / "testrun-crd.ours"

    def current() -> object | None:
        try:
            return api.read_custom_resource_definition(objects.TESTRUN_CRD)
        except client.exceptions.ApiException:
            return None

    def wait_until_gone() -> None:
        for _ in range(300):
            if current() is None:
                return
            time.sleep(0.2)

    with _locked(lock):
        count = int(users.read_text() or 0) if users.exists() else 0
        if count == 0:
            existing = current()
            if existing is not None and existing.metadata.deletion_timestamp is not None:
                wait_until_gone()  # a previous session's, on its way out
                existing = None
            if existing is None:
                api.create_custom_resource_definition(_crd_for(api_client, crd_file.read_text()))
                ours.write_text("yes")
        users.write_text(str(count + 1))
    for _ in range(100):
        found = current()
        conditions = (found.status.conditions if found is not None else None) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            break
        time.sleep(0.1)
    try:
        yield
    finally:
        with _locked(lock):
            count = int(users.read_text()) - 1
            users.write_text(str(count))
            if count == 0 and ours.exists():
                ours.unlink()
                api.delete_custom_resource_definition(objects.TESTRUN_CRD)
                wait_until_gone()


SCRIPT = """
import http from 'k6/http';
export const options = {
  scenarios: { s: { executor: 'shared-iterations', vus: 4, iterations: 40, maxDuration: '60s' } },
  thresholds: { http_reqs: ['count<25'] },
};
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""


def _testrun(namespace: str) -> dict:
    return objects.testrun(
        name="nl-manifest-check",
        run_id="manifest-check",
        namespace=namespace,
        parallelism=3,
        image="novaload/k6-k8s:test",
        pull_policy="Never",
        k6_args=["--tag", "testid=manifest-check", "-e", "TARGET=http://127.0.0.1:1"],
        payload=objects.ScriptPayload("test.js", b"export default function () {}", False),
        hold_s=60,
    )


def test_the_api_server_accepts_the_testrun_and_keeps_every_field(testrun_crd: None, namespace: str) -> None:
    from kubernetes import client

    cluster = cluster_for(namespace)
    custom = client.CustomObjectsApi(cluster.api)
    sent = _testrun(namespace)
    api = (objects.TESTRUN_GROUP, objects.TESTRUN_VERSION, namespace, objects.TESTRUN_PLURAL)
    created = custom.create_namespaced_custom_object(*api, sent)
    try:
        # A structural schema prunes unknown fields: what we rely on must survive it.
        assert created["spec"]["args"] == sent["spec"]["args"]
        assert created["spec"]["script"] == sent["spec"]["script"]
        assert created["spec"]["runner"]["env"] == sent["spec"]["runner"]["env"]
        assert created["spec"]["runner"]["envFrom"] == sent["spec"]["runner"]["envFrom"]
        assert created["spec"]["runner"]["volumes"] == sent["spec"]["runner"]["volumes"]
        assert created["spec"]["runner"]["volumeMounts"] == sent["spec"]["runner"]["volumeMounts"]
        assert created["spec"]["runner"]["metadata"] == sent["spec"]["runner"]["metadata"]
        assert created["spec"]["initializer"]["image"] == sent["spec"]["runner"]["image"]
        # ...and the schema is enforced, so acceptance above means something.
        bad = _testrun(namespace)
        bad["metadata"]["name"] = "nl-manifest-bad"
        bad["spec"]["parallelism"] = "three"
        with pytest.raises(client.exceptions.ApiException) as refused:
            custom.create_namespaced_custom_object(*api, bad)
        assert refused.value.status == 422
        assert choose_mode(cluster, "auto") == "operator"
    finally:
        custom.delete_namespaced_custom_object(*api, sent["metadata"]["name"])


def test_operator_mode_runs_merges_and_cleans_up(
    testrun_crd: None, namespace: str, bridge_target: Target, tmp_path: Path
) -> None:
    script = tmp_path / "script.js"
    script.write_text(SCRIPT, encoding="utf-8")
    cluster = cluster_for(namespace)
    with FakeOperator(cluster) as operator:
        outcome = run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                extra_k6_args=("-e", f"TARGET={bridge_target.url}"),
                kubernetes=K8sOptions(namespace=namespace),  # auto: the CRD is installed
                record_history=False,
            )
        )
    assert operator.errors == []
    runners = json.loads((outcome.run_dir / "k8s-runners.json").read_text())
    assert runners["mode"] == "operator"
    # 20 requests per runner pass count<25; the merged 40 fail it.
    assert [r["exit_code"] for r in runners["runners"]] == [0, 0]
    assert outcome.exit_code == 99
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["metrics"]["http_reqs"]["count"] == 40 == bridge_target.requests
    # The initializer ran `k6 archive` and `k6 inspect` under `sh -c` in novaload's image.
    assert operator.inspected[runners["name"]]["maxVUs"] == 4
    # Each runner's end-of-test summary (k6's stdout, kept out of the pod log by the
    # wrapper), labelled as a split Docker run's.
    for i in (1, 2):
        assert any(
            line.startswith(f"[{i}/2] ") and "http_reqs" in line for line in outcome.k6_stdout.splitlines()
        ), outcome.k6_stdout
    # The runner Jobs were the operator's, with its command line around novaload's args.
    (job, *_) = operator.jobs_created[runners["name"]]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["k6", "run", "--quiet"]
    assert "--address=0.0.0.0:6565" in command and "--paused" in command
    assert remaining_objects(cluster, None) == []


def test_an_operator_error_fails_the_run_with_one_line_and_leaves_nothing(
    testrun_crd: None, namespace: str, tmp_path: Path
) -> None:
    """k6-operator refuses more runners than the script has VUs (its initializer's check)."""
    script = tmp_path / "script.js"
    script.write_text("export const options = { vus: 1, iterations: 3 };\nexport default function () {}\n")
    cluster = cluster_for(namespace)
    with FakeOperator(cluster), pytest.raises(RunnerError, match="stage error"):
        run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                kubernetes=K8sOptions(namespace=namespace, mode="operator"),
                record_history=False,
            )
        )
    assert remaining_objects(cluster, None) == []


def test_operator_mode_a_failing_runner_fails_the_run(
    testrun_crd: None, namespace: str, bridge_target: Target, tmp_path: Path
) -> None:
    script = tmp_path / "script.js"
    script.write_text(FAILING_RUNNER, encoding="utf-8")
    cluster = cluster_for(namespace)
    with FakeOperator(cluster) as operator:
        outcome = run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=3,
                out_dir=tmp_path / "run",
                extra_k6_args=("-e", f"TARGET={bridge_target.url}"),
                kubernetes=K8sOptions(namespace=namespace, mode="operator"),
                record_history=False,
            )
        )
    assert operator.errors == []
    codes = [
        r["exit_code"] for r in json.loads((outcome.run_dir / "k8s-runners.json").read_text())["runners"]
    ]
    assert codes.count(108) == 1, codes
    assert outcome.exit_code == 108
    assert remaining_objects(cluster, None) == []


FOO_SCRIPT = """
import { check } from 'k6';
export const options = { thresholds: { checks: ['rate==1'] } };
export default function () { check(__ENV.FOO, { 'FOO is bar': (v) => v === 'bar' }); }
"""


def test_k6_users_line_in_a_testrun(testrun_crd: None, namespace: str, tmp_path: Path) -> None:
    """The user's k6 flags go into the TestRun's ``.spec.args`` and reach both runners (the
    initializer's ``k6 archive`` takes -e/--tag/--iterations as k6-operator filters them)."""
    script = tmp_path / "p.js"
    script.write_text(FOO_SCRIPT, encoding="utf-8")
    k6_line = ("-e", "FOO=bar", "--tag", "team=perf", "--iterations", "8", "--vus", "2")
    cluster = cluster_for(namespace)
    with FakeOperator(cluster) as operator:
        outcome = run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                extra_k6_args=k6_line,
                kubernetes=K8sOptions(namespace=namespace, mode="operator"),
                record_history=False,
            )
        )
    assert operator.errors == []
    assert outcome.exit_code == 0, outcome.warnings
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["metrics"]["iterations"]["count"] == 8
    assert summary["metrics"]["checks"]["passes"] == 8
    runners = json.loads((outcome.run_dir / "k8s-runners.json").read_text())
    (job, *_) = operator.jobs_created[runners["name"]]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "team=perf" in command and "FOO=bar" in command
    assert remaining_objects(cluster, None) == []


LIFECYCLE = """
import http from 'k6/http';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 2, iterations: 4 } } };
export function setup() { http.get(`${__ENV.TARGET}/setup`); return { at: Date.now() }; }
export default function () { http.get(`${__ENV.TARGET}/item`); }
"""


def test_operator_mode_runs_setup_in_every_runner_and_says_so(
    testrun_crd: None, namespace: str, bridge_target: Target, tmp_path: Path
) -> None:
    """k6-operator's starter releases the runners as soon as they are ready: nobody can hand
    them setup()'s data first, so every runner runs its own, and the run says so."""
    script = tmp_path / "script.js"
    script.write_text(LIFECYCLE, encoding="utf-8")
    lines: list[str] = []

    class Observer(SilentObserver):
        def info(self, message: str) -> None:
            lines.append(message)

    with FakeOperator(cluster_for(namespace)) as operator:
        outcome = run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                extra_k6_args=("-e", f"TARGET={bridge_target.url}"),
                kubernetes=K8sOptions(namespace=namespace, mode="operator"),
                record_history=False,
            ),
            Observer(),
        )
    assert operator.errors == []
    assert outcome.exit_code == 0, outcome.verdict
    assert bridge_target.requests == 4 + 2  # one setup() per runner
    assert any("k6-operator starts the runners itself" in line for line in lines), lines
    assert json.loads((outcome.run_dir / "run.json").read_text())["setup"] == "per-runner"
    assert "ran in every runner (2 times, --setup per-runner)" in (outcome.run_dir / "report.md").read_text()


def test_operator_mode_refuses_setup_once_before_creating_anything(
    testrun_crd: None, namespace: str, tmp_path: Path
) -> None:
    script = tmp_path / "script.js"
    script.write_text(LIFECYCLE, encoding="utf-8")
    with pytest.raises(UsageError, match="--setup once needs --k8s-mode jobs"):
        run_test(
            RunRequest(
                target=str(script),
                runner="k8s",
                parallelism=2,
                out_dir=tmp_path / "run",
                kubernetes=K8sOptions(namespace=namespace, mode="operator"),
                setup="once",
                record_history=False,
            )
        )
    assert remaining_objects(cluster_for(namespace), None) == []
