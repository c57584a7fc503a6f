"""setup() and teardown() once across a split Docker run (``--setup once``, the default),
against a real engine and a loopback server that counts the calls (``lifecycle_server``).

One k6 on one machine calls setup() once, teardown() once, and every VU gets setup()'s one
result; a test split over containers must do the same. Every run is bounded (a few
iterations, or an interrupt a few seconds in), and leaves no container behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from lifecycle_server import SCRIPT, Calls, lifecycle_server

from novaload.runners.base import ExecutionPlan
from novaload.runners.docker import DockerRunner

pytestmark = pytest.mark.docker

DRIVER = Path(__file__).with_name("driver.py")
CORPUS = Path(__file__).parents[1] / "corpus"
_WAIT_S = 90.0  # generous bound for "k6 has started": never an assertion on speed
ITERATIONS = 12  # lifecycle_server.SCRIPT: 6 VUs x 2 iterations


def _script(tmp_path: Path, source: str = SCRIPT) -> Path:
    path = tmp_path / "scripts" / f"lifecycle-{uuid.uuid4().hex[:6]}.js"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def _run_id() -> str:
    return f"pytest-{uuid.uuid4().hex[:10]}"


def _points(files: list[Path]) -> list[dict]:
    found = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            found += [p for p in map(json.loads, fh) if p["type"] == "Point"]
    return found


def _group_requests(files: list[Path], group: str) -> int:
    return sum(
        1 for p in _points(files) if p["metric"] == "http_reqs" and p["data"]["tags"].get("group") == group
    )


def _request(script: Path, out: Path, url: str, image: str, **kw: object) -> object:
    from novaload import RunRequest

    return RunRequest(
        target=str(script),
        runner="docker",
        parallelism=3,
        image=image,
        out_dir=out,
        record_history=False,
        extra_k6_args=("-e", f"LIFECYCLE_URL={url}", *kw.pop("extra", ())),  # type: ignore[misc]
        **kw,  # type: ignore[arg-type]
    )


def test_three_way_split_runs_setup_and_teardown_once_and_every_vu_sees_its_data(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    """The issue's case: the same script split 3 ways called setup() 3 times and teardown()
    3 times, and the VUs saw 3 different tokens."""
    from novaload import run_test

    out = tmp_path / "out"
    with lifecycle_server() as (url, calls):
        outcome = run_test(_request(_script(tmp_path), out, url, k6_image))  # type: ignore[arg-type]
    no_leftovers.append(outcome.run_id)
    assert outcome.exit_code == 0, outcome.verdict
    assert len(calls.setup_tokens) == 1, calls.setup_tokens
    token = calls.setup_tokens[0]
    assert calls.teardown_tokens == [token]
    assert Counter(calls.seen) == {token: ITERATIONS}
    # Each runner ran its share of the iterations, all released with the same data.
    files = sorted(out.glob("k6-results-*of3.json"))
    assert [sum(1 for p in _points([f]) if p["metric"] == "iterations") for f in files] == [4, 4, 4]
    # setup()'s and teardown()'s requests are in the merged report once, as on one machine.
    assert _group_requests(files, "::setup") == 1 and _group_requests(files, "::teardown") == 1
    assert outcome.results is not None
    assert outcome.results.metrics["http_reqs"].values["count"] == ITERATIONS + 2
    # The run says how setup() and teardown() ran: run.json, summary.json, both reports.
    record = json.loads((out / "run.json").read_text())
    assert (record["setup"], record["setup_runner"]) == ("once", 3)
    lifecycle = json.loads((out / "summary.json").read_text())["novaload"]["setup_teardown"]
    assert lifecycle["mode"] == "once" and (lifecycle["setup"], lifecycle["teardown"]) == ("called", "called")
    line = "setup() and teardown() once, in runner 3/3 for all 3 runners"
    assert line in lifecycle["summary"]
    assert line in (out / "report.md").read_text()
    assert line in (out / "report.html").read_text()


def test_per_runner_keeps_every_runner_its_own_setup_and_teardown(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    from novaload import run_test

    out = tmp_path / "out"
    with lifecycle_server() as (url, calls):
        outcome = run_test(_request(_script(tmp_path), out, url, k6_image, setup="per-runner"))  # type: ignore[arg-type]
    no_leftovers.append(outcome.run_id)
    assert outcome.exit_code == 0, outcome.verdict
    assert len(set(calls.setup_tokens)) == 3 and sorted(calls.teardown_tokens) == sorted(calls.setup_tokens)
    assert sorted(Counter(calls.seen).values()) == [4, 4, 4]
    assert outcome.results is not None
    assert outcome.results.metrics["http_reqs"].values["count"] == ITERATIONS + 6
    assert json.loads((out / "run.json").read_text())["setup"] == "per-runner"
    assert "ran in every runner (3 times, --setup per-runner)" in (out / "report.md").read_text()


def test_on_a_bridge_network(k6_image: str, tmp_path: Path, no_leftovers: list[str]) -> None:
    """Containers on a named network: their APIs are published to loopback, and the server
    listens on the network's gateway, the host's address the containers reach."""
    from novaload.runners.image import docker_client

    client = docker_client()
    network = client.networks.create(f"novaload-pytest-{uuid.uuid4().hex[:8]}", driver="bridge")
    try:
        network.reload()
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        run_id = _run_id()
        no_leftovers.append(run_id)
        with lifecycle_server(gateway) as (url, calls):
            plan = ExecutionPlan(
                run_id=run_id,
                script=_script(tmp_path),
                run_dir=tmp_path / "run",
                k6_args=(),
                env={"LIFECYCLE_URL": url},
                k6_binary="k6",
                parallelism=3,
                image=k6_image,
                network=network.name,
            )
            execution = DockerRunner(on_log=lambda line: None, poll_interval_s=0.5).run(plan)
    finally:
        network.remove()
        client.close()
    assert execution.exit_codes == (0, 0, 0)
    assert len(calls.setup_tokens) == 1 and calls.teardown_tokens == calls.setup_tokens
    assert Counter(calls.seen) == {calls.setup_tokens[0]: ITERATIONS}


@pytest.mark.parametrize(
    ("env", "code", "iterations", "teardowns"),
    [
        ({"SETUP_FAILS": "throw"}, 107, 0, 0),
        ({"SETUP_FAILS": "slow", "SETUP_TIMEOUT": "2s"}, 100, 0, 0),
        ({"TEARDOWN_FAILS": "throw"}, 107, ITERATIONS, 1),
        ({"TEARDOWN_FAILS": "slow", "TEARDOWN_TIMEOUT": "2s"}, 101, ITERATIONS, 1),
    ],
    ids=["setup-throws-107", "setup-timeout-100", "teardown-throws-107", "teardown-timeout-101"],
)
def test_a_failing_setup_or_teardown_exits_as_k6_does(
    k6_image: str,
    tmp_path: Path,
    no_leftovers: list[str],
    env: dict[str, str],
    code: int,
    iterations: int,
    teardowns: int,
) -> None:
    """As `k6 run` on one machine: a setup() that throws exits 107 (a timeout 100) and no
    iteration runs, nor teardown(); a teardown() that throws exits 107 (a timeout 101)."""
    from novaload import run_test

    out = tmp_path / "out"
    extra = tuple(arg for k, v in env.items() for arg in ("-e", f"{k}={v}"))
    with lifecycle_server() as (url, calls):
        outcome = run_test(_request(_script(tmp_path), out, url, k6_image, extra=extra))  # type: ignore[arg-type]
    no_leftovers.append(outcome.run_id)
    assert outcome.exit_code == code, outcome.verdict
    assert len(calls.setup_tokens) == 1  # once, even when it fails
    assert len(calls.seen) == iterations  # a failed setup() released nobody
    assert len(calls.teardown_tokens) == teardowns
    failed = "setup" if "SETUP_FAILS" in env else "teardown"
    lifecycle = json.loads((out / "summary.json").read_text())["novaload"]["setup_teardown"]
    assert lifecycle[failed] == "failed" and lifecycle["error"]
    assert f"{failed}() failed" in (out / "k6.log").read_text()


def _driver(spec: dict[str, object]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(spec)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_seen(calls: Calls, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not calls.seen:
        if proc.poll() is not None:
            pytest.fail(f"driver exited early ({proc.returncode}): {proc.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no iteration started")
        time.sleep(0.1)


def _result(proc: subprocess.Popen[str]) -> dict[str, object]:
    try:
        out, err = proc.communicate(timeout=_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the runner did not exit after the interrupt")
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_ctrl_c_still_runs_teardown_once(k6_image: str, tmp_path: Path, no_leftovers: list[str]) -> None:
    """k6 runs teardown() after its first Ctrl-C: the split run runs it once, with the data,
    after every runner stopped, and exits 105 as an interrupted k6 does."""
    run_id = _run_id()
    no_leftovers.append(run_id)
    with lifecycle_server() as (url, calls):
        proc = _driver(
            {
                "run_id": run_id,
                "script": str(_script(tmp_path)),
                "run_dir": str(tmp_path / "run"),
                "image": k6_image,
                "parallelism": 3,
                "env": {"LIFECYCLE_URL": url, "ITERATION_SLEEP": "60"},
            }
        )
        _wait_for_seen(calls, proc)
        proc.send_signal(signal.SIGINT)
        result = _result(proc)
    assert len(calls.setup_tokens) == 1 and calls.teardown_tokens == calls.setup_tokens
    assert (result["interrupted"], result["killed"]) == (True, False)
    assert result["run_exit_code"] == 105, result
    assert result["setup_teardown"] == {"setup": "called", "teardown": "called", "runner": 3}


def test_second_ctrl_c_during_teardown_kills_everything(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    run_id = _run_id()
    no_leftovers.append(run_id)
    with lifecycle_server() as (url, calls):
        proc = _driver(
            {
                "run_id": run_id,
                "script": str(_script(tmp_path)),
                "run_dir": str(tmp_path / "run"),
                "image": k6_image,
                "parallelism": 2,
                "env": {"LIFECYCLE_URL": url, "ITERATION_SLEEP": "60", "TEARDOWN_FAILS": "slow"},
            }
        )
        _wait_for_seen(calls, proc)
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + _WAIT_S
        while not calls.teardown_tokens and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert calls.teardown_tokens, "teardown() did not start after the first Ctrl-C"
        proc.send_signal(signal.SIGINT)
        result = _result(proc)
    assert (result["interrupted"], result["killed"]) == (True, True)
    assert result["setup_teardown"]["teardown"] == "not called"  # type: ignore[index]


@pytest.mark.parametrize(
    ("how", "setups", "teardowns"),
    [
        ({"script": "noSetup: true,"}, 0, 1),
        ({"args": ["--no-teardown"]}, 1, 0),
        ({"env": {"K6_NO_SETUP": "true"}}, 0, 1),
        ({"args": ["--no-setup", "--no-setup=false"]}, 1, 1),
    ],
    ids=["script-option-noSetup", "flag-no-teardown", "env-K6_NO_SETUP", "last-flag-wins"],
)
def test_the_users_no_setup_and_no_teardown_are_honoured(
    k6_image: str,
    k6_bin: str,
    tmp_path: Path,
    no_leftovers: list[str],
    how: dict[str, object],
    setups: int,
    teardowns: int,
) -> None:
    """k6's REST API runs setup() whatever the options say: novaload reads them itself."""
    source = SCRIPT.replace("setupTimeout:", f"{how.get('script', '')} setupTimeout:")
    source = source.replace("${data.token}", "${data ? data.token : 'none'}")
    run_id = _run_id()
    no_leftovers.append(run_id)
    with lifecycle_server() as (url, calls):
        plan = ExecutionPlan(
            run_id=run_id,
            script=_script(tmp_path, source),
            run_dir=tmp_path / "run",
            k6_args=tuple(how.get("args", ())),  # type: ignore[arg-type]
            env={"LIFECYCLE_URL": url, **how.get("env", {})},  # type: ignore[dict-item]
            k6_binary=k6_bin,  # the script's options are read with the local k6, as in a run
            parallelism=2,
            image=k6_image,
        )
        execution = DockerRunner(on_log=lambda line: None).run(plan)
    assert execution.exit_codes == (0, 0)
    assert (len(calls.setup_tokens), len(calls.teardown_tokens)) == (setups, teardowns)
    assert len(calls.seen) == ITERATIONS


def test_k6s_own_lifecycle_example_split_three_ways(
    k6_image: str, tmp_path: Path, no_leftovers: list[str]
) -> None:
    """QuickPizza's lifecycle example (tests/corpus, unchanged but for its durations): its
    setup() checks the service with one request, its teardown() logs one line."""
    from novaload import RunRequest, run_test

    standin = subprocess.Popen(
        [sys.executable, str(CORPUS / "standin.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert standin.stdout is not None
        port = standin.stdout.readline().split()[1]
        out = tmp_path / "out"
        outcome = run_test(
            RunRequest(
                target=str(CORPUS / "scripts" / "qp-03.lifecycle.js"),
                runner="docker",
                parallelism=3,
                image=k6_image,
                out_dir=out,
                record_history=False,
                extra_k6_args=("-e", f"BASE_URL=http://127.0.0.1:{port}"),
            )
        )
    finally:
        standin.terminate()
        standin.wait(timeout=10)
    no_leftovers.append(outcome.run_id)
    assert outcome.exit_code == 0, outcome.verdict
    files = sorted(out.glob("k6-results-*of3.json"))
    assert len(files) == 3 and _group_requests(files, "::setup") == 1
    assert (out / "k6.log").read_text().count("That's all folks!") == 1
    assert outcome.results is not None
    assert outcome.results.metrics["http_reqs"].values["count"] == sum(
        1 for p in _points(files) if p["metric"] == "http_reqs"
    )
