"""The Docker runner against a real engine: k6 in the scratch image, loopback target.

Every run is bounded (a few seconds or a fixed iteration count), and every test
checks that no container of its run is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from novaload.errors import RunnerError
from novaload.runners.base import ExecutionPlan, LiveStats
from novaload.runners.docker import DockerRunner, label_filters, remove_leftovers

pytestmark = pytest.mark.docker

DRIVER = Path(__file__).with_name("driver.py")
_WAIT_S = 60.0  # generous bound for "k6 has started": never an assertion on speed

SMALL_LOAD = """
import http from 'k6/http';
export const options = { scenarios: { load: { executor: 'constant-vus', vus: 2, duration: '3s' } } };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); }
"""

SHARED_ITERATIONS = """
import http from 'k6/http';
export const options = { scenarios: { fixed: { executor: 'shared-iterations', vus: 2, iterations: 101 } } };
export default function () { http.get(__ENV.NOVALOAD_BASE_URL + '/health'); }
export function handleSummary(data) { return { [__ENV.NOVALOAD_K6_SUMMARY]: JSON.stringify(data) }; }
"""

FAILING_THRESHOLD = """
export const options = { iterations: 3, thresholds: { iterations: ['count>1000'] } };
export default function () {}
"""

INIT_EXCEPTION = """
throw new Error('broken on purpose');
export default function () {}
"""

LONG_RUN = """
import { sleep } from 'k6';
export const options = { vus: 1, duration: '60s' };
export default function () { sleep(0.1); }
"""

SLOW_TEARDOWN = """
import { sleep } from 'k6';
export const options = { vus: 1, duration: '60s' };
export default function () { sleep(0.1); }
export function teardown() { console.log('teardown started'); sleep(60); }
"""


def _run_id() -> str:
    return f"pytest-{uuid.uuid4().hex[:10]}"


def _script(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir(exist_ok=True)
    path = folder / f"script-{uuid.uuid4().hex[:6]}.js"
    path.write_text(source, encoding="utf-8")
    return path


def _plan(
    script: Path,
    run_dir: Path,
    image: str,
    run_id: str,
    *,
    parallelism: int = 1,
    base_url: str = "http://127.0.0.1:9",
) -> ExecutionPlan:
    return ExecutionPlan(
        run_id=run_id,
        script=script,
        run_dir=run_dir,
        k6_args=("--tag", f"testid={run_id}"),
        env={"NOVALOAD_BASE_URL": base_url},
        k6_binary="k6",
        parallelism=parallelism,
        image=image,
    )


def _points(files: list[Path]) -> list[dict[str, object]]:
    points = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            points += [obj for obj in map(json.loads, fh) if obj["type"] == "Point"]
    return points


def _count(points: list[dict[str, object]], metric: str) -> int:
    return sum(1 for p in points if p["metric"] == metric)


def _quiet() -> DockerRunner:
    return DockerRunner(on_log=lambda line: None, poll_interval_s=0.5)


def test_single_container_run(
    k6_image: str, demo_target: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    stats: list[LiveStats] = []
    plan = _plan(_script(tmp_path, SMALL_LOAD), run_dir, k6_image, run_id, base_url=demo_target)

    execution = _quiet().run(plan, stats.append)

    assert execution.exit_code == 0
    assert execution.results_files == [run_dir.resolve() / "k6-results.json"]
    points = _points(execution.results_files)
    assert _count(points, "http_reqs") > 0
    assert {p["data"]["tags"].get("testid") for p in points} == {run_id}  # type: ignore[index,union-attr]
    assert run_dir.resolve() / "k6-summary-export.json" in execution.summary_files
    assert execution.log_file is not None and execution.log_file.is_file()
    assert (execution.interrupted, execution.killed, execution.instances) == (False, False, 1)
    assert all(p.stat().st_uid == os.getuid() for p in execution.results_files)
    # The REST API was polled while k6 ran (0.5 s polls during a 3 s run).
    assert max(s.vus for s in stats) == 2


def test_two_segments_count_exactly_like_one_container(
    k6_image: str, demo_target: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    script = _script(tmp_path, SHARED_ITERATIONS)
    runs = {}
    for parallelism in (1, 2):
        run_id = _run_id()
        no_leftovers.append(run_id)
        plan = _plan(
            script,
            tmp_path / f"run-{parallelism}",
            k6_image,
            run_id,
            parallelism=parallelism,
            base_url=demo_target,
        )
        runs[parallelism] = _quiet().run(plan)

    single, split = runs[1], runs[2]
    assert (single.exit_code, split.exit_code) == (0, 0)
    assert [p.name for p in split.results_files] == ["k6-results-1of2.json", "k6-results-2of2.json"]
    per_segment = [_count(_points([f]), "iterations") for f in split.results_files]
    print(f"iterations: single={_count(_points(single.results_files), 'iterations')} segments={per_segment}")
    assert all(n > 0 for n in per_segment)
    for metric in ("iterations", "http_reqs"):
        assert (
            _count(_points(split.results_files), metric)
            == _count(_points(single.results_files), metric)
            == 101
        )
    assert [p.name for p in split.summary_files] == [
        "k6-summary-1of2.json",
        "k6-summary-export-1of2.json",
        "k6-summary-2of2.json",
        "k6-summary-export-2of2.json",
    ]
    # handleSummary ran in each container and wrote its own segment's share.
    summaries = [json.loads(p.read_text()) for p in split.summary_files if "export" not in p.name]
    assert [s["metrics"]["iterations"]["values"]["count"] for s in summaries] == per_segment
    assert split.instances == 2


@pytest.mark.parametrize("parallelism", [1, 2], ids=["one-container", "two-segments"])
@pytest.mark.parametrize(
    ("source", "code"),
    [
        (FAILING_THRESHOLD, 99),
        (INIT_EXCEPTION, 107),
    ],
    ids=["threshold-failed-99", "init-exception-107"],
)
def test_k6_exit_code_passes_through(
    k6_image: str,
    tmp_path: Path,
    run_dir: Path,
    no_leftovers: list[str],
    source: str,
    code: int,
    parallelism: int,
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    plan = _plan(_script(tmp_path, source), run_dir, k6_image, run_id, parallelism=parallelism)
    assert _quiet().run(plan).exit_code == code


def test_logs_and_stdout_are_prefixed_and_redacted(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    script = _script(
        tmp_path,
        "export const options = { iterations: 1 };\n"
        "export default function () { console.log('token=' + __ENV.TOKEN); }\n"
        "export function handleSummary(data) {\n"
        "  return { stdout: 'STDOUT-MARKER ' + __ENV.TOKEN + '\\n' };\n"
        "}\n",
    )
    plan = ExecutionPlan(
        run_id=run_id,
        script=script,
        run_dir=run_dir,
        k6_args=(),
        env={"TOKEN": "hunter2-secret"},
        k6_binary="k6",
        parallelism=2,
        image=k6_image,
        secrets=("hunter2-secret",),
    )
    lines: list[str] = []
    execution = DockerRunner(on_log=lines.append).run(plan)
    assert execution.exit_code == 0
    token_lines = [line for line in lines if "token=" in line]
    assert token_lines and all(line.startswith("[1/2] ") for line in token_lines)  # 1 iteration: segment 1
    written = "".join(p.read_text() for p in run_dir.glob("k6*.log"))
    assert "token=***" in written and "hunter2-secret" not in written + "".join(lines)
    # k6's stdout (handleSummary's here) is each instance's, labelled, for the caller to
    # print at the end, not streamed with the logs; the logs keep it too.
    assert execution.stdout == "[1/2] STDOUT-MARKER ***\n[2/2] STDOUT-MARKER ***\n"
    assert not [line for line in lines if "STDOUT-MARKER" in line]
    assert "[2/2] STDOUT-MARKER ***" in (run_dir / "k6.log").read_text()
    assert "STDOUT-MARKER ***" in (run_dir / "k6-1of2.log").read_text().splitlines()


def _start_driver(
    k6_image: str, script: Path, run_dir: Path, run_id: str, parallelism: int = 1
) -> subprocess.Popen[str]:
    spec = {
        "run_id": run_id,
        "script": str(script),
        "run_dir": str(run_dir),
        "image": k6_image,
        "k6_args": ["--tag", f"testid={run_id}"],
        "parallelism": parallelism,
    }
    return subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(spec)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"driver exited early ({proc.returncode}) waiting for {what}: {proc.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _has_data(path: Path) -> Callable[[], bool]:
    return lambda: path.is_file() and path.stat().st_size > 0


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    try:
        out, err = proc.communicate(timeout=_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the runner did not exit after the interrupt")
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("parallelism", "suffix"), [(1, ""), (2, "-1of2")], ids=["one-container", "two-segments"]
)
def test_interrupt_stops_k6_gracefully(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str], parallelism: int, suffix: str
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    proc = _start_driver(k6_image, _script(tmp_path, LONG_RUN), run_dir, run_id, parallelism)
    results = run_dir / f"k6-results{suffix}.json"
    # k6 writes its first samples only after it has installed its signal handlers.
    _wait_for(_has_data(results), "k6 to write results", proc)
    proc.send_signal(signal.SIGINT)
    result = _finish(proc)
    assert (result["interrupted"], result["killed"]) == (True, False)
    assert result["exit_code"] == 105  # k6: external abort, after a graceful stop
    assert str(run_dir / f"k6-summary-export{suffix}.json") in result["summary_files"]  # type: ignore[operator]
    assert len(result["summary_files"]) == parallelism  # type: ignore[arg-type]
    assert _count(_points([results]), "iterations") > 0


def test_second_interrupt_kills_k6(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    proc = _start_driver(k6_image, _script(tmp_path, SLOW_TEARDOWN), run_dir, run_id)
    _wait_for(_has_data(run_dir / "k6-results.json"), "k6 to write results", proc)
    proc.send_signal(signal.SIGINT)
    log = run_dir / "k6.log"
    _wait_for(lambda: log.is_file() and "teardown started" in log.read_text(), "teardown", proc)
    proc.send_signal(signal.SIGINT)
    result = _finish(proc)
    assert (result["interrupted"], result["killed"]) == (True, True)
    assert result["exit_code"] == 137  # SIGKILL, as Docker reports it


def test_sigterm_is_an_interrupt(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    proc = _start_driver(k6_image, _script(tmp_path, LONG_RUN), run_dir, run_id)
    _wait_for(_has_data(run_dir / "k6-results.json"), "k6 to write results", proc)
    proc.send_signal(signal.SIGTERM)
    result = _finish(proc)
    assert (result["interrupted"], result["exit_code"]) == (True, 105)


def test_named_network_run_with_published_api(
    k6_image: str, tmp_path: Path, run_dir: Path, no_leftovers: list[str]
) -> None:
    from novaload.runners.image import docker_client

    run_id = _run_id()
    no_leftovers.append(run_id)
    client = docker_client()
    network = client.networks.create(f"novaload-pytest-{uuid.uuid4().hex[:8]}", driver="bridge")
    stats: list[LiveStats] = []
    script = _script(
        tmp_path,
        "import { sleep } from 'k6';\n"
        "export const options = { vus: 2, duration: '3s' };\n"
        "export default function () { sleep(0.1); }\n",
    )
    try:
        plan = ExecutionPlan(
            run_id=run_id,
            script=script,
            run_dir=run_dir,
            k6_args=(),
            env={},
            k6_binary="k6",
            parallelism=2,
            image=k6_image,
            network=network.name,
        )
        execution = _quiet().run(plan, stats.append)
    finally:
        network.remove()
        client.close()
    assert execution.exit_code == 0
    assert _count(_points(execution.results_files), "iterations") > 0
    # The split run was released (it ran) and polled through the published API ports.
    assert max(s.vus for s in stats) == 2


def test_unreachable_engine_is_one_line_runner_error(
    tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'closed.sock'}")
    runner = _quiet()
    with pytest.raises(RunnerError) as check_error:
        runner.check()
    with pytest.raises(RunnerError):
        runner.run(_plan(_script(tmp_path, FAILING_THRESHOLD), run_dir, "any", "r"))
    assert "Docker engine unreachable" in str(check_error.value)
    assert "\n" not in str(check_error.value)
    assert check_error.value.exit_code == 2


def test_missing_image_tells_how_to_build_one(docker_engine: None) -> None:
    with pytest.raises(RunnerError, match="novaload image build"):
        _quiet().check(f"novaload/k6:absent-{uuid.uuid4().hex[:8]}")


class _Lines:
    """A run observer that keeps novaload's info lines."""

    def __init__(self) -> None:
        self.info_lines: list[str] = []

    def start(self, plan: ExecutionPlan) -> None:
        pass

    def info(self, message: str) -> None:
        self.info_lines.append(message)

    def warn(self, message: str) -> None:
        pass

    def progress(self, stats: LiveStats) -> None:
        pass


def test_without_image_novaload_builds_its_own_once_when_none_can_be_pulled(
    docker_engine: None, k6_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No registry access: the default image cannot be pulled, so the run builds novaload's
    own from the local k6 (saying so), and the next run uses that build.

    The default names are this test's own (a registry that does not listen, a unique local
    tag), so the images other tests and sessions use are neither used nor removed.
    """
    import docker as docker_sdk

    from novaload import RunRequest, run_test
    from novaload.runners import docker as docker_runner
    from novaload.runners.image import K6_VERSION_LABEL, docker_client, k6_binary_version

    token = uuid.uuid4().hex[:10]
    local = f"novaload/k6:pytest-autobuild-{token}"
    monkeypatch.setattr(docker_runner, "DEFAULT_IMAGE", f"127.0.0.1:9/novaload-absent/k6:{token}")
    monkeypatch.setattr(docker_runner, "DEFAULT_LOCAL_IMAGE", local)
    script = _script(tmp_path, FAILING_THRESHOLD.replace("count>1000", "count>1"))
    observers = [_Lines(), _Lines()]
    client = docker_client()
    try:
        for n, observer in enumerate(observers):
            request = RunRequest(
                target=str(script), runner="docker", out_dir=tmp_path / f"out-{n}", record_history=False
            )
            outcome = run_test(request, observer)
            assert outcome.exit_code == 0, outcome.verdict
            assert outcome.results is not None
            assert outcome.results.metrics["iterations"].values["count"] == 3
        assert client.images.get(local).labels[K6_VERSION_LABEL] == k6_binary_version(Path(k6_bin))
    finally:
        try:
            client.images.remove(local)
        except docker_sdk.errors.ImageNotFound:
            pass
        except docker_sdk.errors.APIError as exc:
            if exc.status_code != 409:  # the same image id in a container of another session
                raise
        finally:
            client.close()
    built = [line for line in observers[0].info_lines if local in line]
    assert len(built) == 1 and "building" in built[0], observers[0].info_lines
    assert not [line for line in observers[1].info_lines if "building" in line]


@pytest.mark.parametrize("runner", ["local", "docker"])
def test_run_prints_k6s_stdout_as_k6_does_with_secrets_masked(
    request: pytest.FixtureRequest, tmp_path: Path, runner: str
) -> None:
    """handleSummary's stdout is printed once, unprefixed, after the run, as by the local runner."""
    password = f"pw-{uuid.uuid4().hex[:10]}"
    script = _script(
        tmp_path,
        "export const options = { iterations: 2 };\n"
        "export default function () {}\n"
        "export function handleSummary(data) {\n"
        "  return { stdout: 'STDOUT-MARKER ' + data.metrics.iterations.values.count + ' '"
        " + __ENV.NOVALOAD_BASE_URL + '\\n' };\n"
        "}\n",
    )
    image = ["--image", request.getfixturevalue("k6_image")] if runner == "docker" else []
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "novaload", "run", str(script), "--runner", runner, *image,
         "--target", f"http://probe:{password}@127.0.0.1:9", "--out-dir", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "STDOUT-MARKER 2 http://***@127.0.0.1:9" in proc.stdout.splitlines()
    assert (proc.stdout + proc.stderr).count("STDOUT-MARKER") == 1
    assert password not in proc.stdout + proc.stderr + (out / "k6.log").read_text()


def test_remove_leftovers_removes_one_runs_containers(k6_image: str) -> None:
    from novaload.runners.image import docker_client

    client = docker_client()
    ours, other = _run_id(), _run_id()
    for run_id in (ours, ours, other):
        client.containers.create(
            k6_image, ["version"], labels={"io.novaload.managed": "true", "io.novaload.run-id": run_id}
        )
    try:
        assert remove_leftovers(ours) == 2
        assert (
            client.containers.list(all=True, filters={"label": label_filters(ours)}, ignore_removed=True)
            == []
        )
        assert (
            len(
                client.containers.list(all=True, filters={"label": label_filters(other)}, ignore_removed=True)
            )
            == 1
        )
    finally:
        assert remove_leftovers(other, client=client) == 1
        client.close()


SPLIT_THRESHOLD = """
export const options = {{ scenarios: {{ s: {{ executor: 'shared-iterations', vus: 2, iterations: 20 }} }},
                          thresholds: {{ iterations: ['{threshold}'] }} }};
export default function () {{}}
"""


@pytest.mark.parametrize(
    ("threshold", "merged_code"),
    [("count>15", 0), ("count<15", 99)],
    ids=["slices-fail-merged-passes", "slices-pass-merged-fails"],
)
def test_a_split_runs_thresholds_are_judged_over_the_merged_data(
    k6_image: str, tmp_path: Path, threshold: str, merged_code: int
) -> None:
    """Each container judges only its slice (10 of 20 iterations); the run's verdict is the
    merged data's, as on Kubernetes, not the first slice's 99."""
    from novaload import RunRequest, run_test

    script = _script(tmp_path, SPLIT_THRESHOLD.format(threshold=threshold))
    outcome = run_test(
        RunRequest(
            target=str(script),
            runner="docker",
            parallelism=2,
            image=k6_image,
            out_dir=tmp_path / "out",
            record_history=False,
        )
    )
    assert outcome.exit_code == merged_code, outcome.verdict
    assert outcome.results is not None
    assert outcome.results.metrics["iterations"].values["count"] == 20
