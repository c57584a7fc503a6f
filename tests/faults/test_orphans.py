"""Probes: the Docker runner's containers die with the run, whatever ends it.

Containers are not novaload's children: SIGKILL of novaload used to leave them sending
load and then lying around as exited containers. Each probe finds the run's containers
by the owner label (novaload's PID) and checks they are gone within seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

pytestmark = [pytest.mark.k6, pytest.mark.docker]

LONG_RUN = {
    "body": "http.get(__ENV.NOVALOAD_BASE_URL + '/health'); sleep(0.1);",
    "options": "{ vus: 2, duration: '30s' }",
}
# Seconds within which a dead novaload's containers must be gone (measured: 1.6 s; the
# margin is for a CI machine running the suite in parallel).
GONE_WITHIN_S = 15


@pytest.fixture
def started_runs(probe):
    """Run ids of the probe's Docker runs; containers still there after the test (the probe
    has already failed then) are removed, so one failure does not leave load running."""
    run_ids: list[str] = []
    yield run_ids
    for run_id in run_ids:
        probe.remove_containers(probe.containers(run_id))


def start_docker_run(
    probe,
    k6_image: str,
    started_runs: list[str],
    parallelism: int = 2,
    options: str | None = None,
    name: str = "run",
):
    script = probe.script(LONG_RUN["body"], options=options or LONG_RUN["options"], name=f"{name}.js")
    out = probe.tmp / name
    proc = probe.start(
        "run", str(script), "--env", "local", "--out-dir", str(out),
        "--runner", "docker", "--image", k6_image, "--parallelism", str(parallelism),
    )  # fmt: skip
    first = out / ("k6-results-1of2.json" if parallelism == 2 else "k6-results.json")
    if not probe.wait_for(lambda: first.is_file() and first.stat().st_size > 5_000, 60, 0.1):
        proc.kill()
        code, _, err = probe.finish(proc)
        pytest.fail(f"k6 containers did not start sending load (exit {code}): {err[-2000:]}")
    run_id = probe.record(out)["run_id"]  # the record written before k6 starts
    started_runs.append(run_id)
    assert len(probe.containers(run_id)) == parallelism
    return proc, out, run_id


def test_sigkill_of_novaload_removes_its_containers_within_seconds(probe, k6_image, started_runs):
    proc, out, run_id = start_docker_run(probe, k6_image, started_runs)
    proc.kill()
    proc.wait()
    assert probe.wait_for(lambda: not probe.containers(run_id), GONE_WITHIN_S, 0.2), probe.containers(run_id)


def test_containers_of_a_dead_run_are_reaped_by_the_next_novaload_command(probe, k6_image, started_runs):
    """Even when the watchdog dies with novaload, any later command removes them."""
    proc, out, run_id = start_docker_run(probe, k6_image, started_runs)
    watchdogs = probe.processes_named("novaload.runners.watchdog")
    assert len(watchdogs) == 1, watchdogs
    os.kill(watchdogs[0], signal.SIGKILL)
    proc.kill()
    proc.wait()
    # Without the watchdog nothing removes them but a novaload command: this one, or one
    # that a test running in parallel started a moment earlier.
    listed = probe.run("list")
    probe.exit_ok(listed.returncode, 0, listed.stdout, listed.stderr)
    assert not probe.containers(run_id)


def test_ctrl_c_of_a_split_docker_run_keeps_the_report_and_removes_the_containers(
    probe, k6_image, started_runs
):
    proc, out, run_id = start_docker_run(probe, k6_image, started_runs)
    probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 105, stdout, stderr)
    record = probe.record(out)
    assert record["interrupted"] is True and record["exit_code"] == 105
    assert (out / "report.html").is_file()
    assert not probe.containers(record["run_id"])


def test_two_quick_ctrl_c_of_a_split_docker_run_kill_k6_and_keep_the_record(probe, k6_image, started_runs):
    proc, out, run_id = start_docker_run(probe, k6_image, started_runs)
    probe.ctrl_c(proc)
    time.sleep(0.1)
    probe.ctrl_c(proc)
    code, stdout, stderr = probe.finish(proc)
    assert code != 0
    probe.no_traceback(stdout, stderr)
    record = probe.record(out)
    assert record["interrupted"] is True and record["exit_code"] == code
    assert "run " + run_id in stdout  # the verdict line was printed
    assert not probe.containers(run_id)


def test_a_killed_container_fails_the_run_and_leaves_nothing(probe, k6_image, started_runs):
    from novaload.runners.image import docker_client

    proc, out, run_id = start_docker_run(probe, k6_image, started_runs)
    client = docker_client()
    try:
        client.containers.get(probe.containers(run_id)[0]).kill()
    finally:
        client.close()
    code, stdout, stderr = probe.finish(proc, timeout=20)  # the other instance is stopped too
    probe.no_traceback(stdout, stderr)
    assert code not in (0, 1, 99), stderr  # the killed instance's status (137), not a pass
    assert "stopping the others" in stderr
    record = probe.record(out)
    assert record["exit_code"] == code
    assert not probe.containers(run_id)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("engine", ["socket-without-daemon", "missing-socket", "closed-tcp-port"])
def test_a_dead_docker_engine_is_a_one_line_error_before_anything_starts(probe, engine):
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = probe.tmp / "docker.sock"
    if engine == "socket-without-daemon":  # what a crashed dockerd leaves behind
        dead.bind(str(path))
        host = f"unix://{path}"
    elif engine == "missing-socket":
        host = f"unix://{path}"
    else:
        host = f"tcp://127.0.0.1:{_closed_port()}"
    try:
        env = {"DOCKER_HOST": host}
        script = probe.script(**LONG_RUN)
        out = probe.tmp / "run"
        proc = probe.run(
            "run", str(script), "--env", "local", "--out-dir", str(out), "--runner", "docker", env=env
        )
        probe.one_line_error(proc, 2, "Docker engine unreachable", host)
        assert "demo target started" not in proc.stderr  # checked before anything starts
        # Every other command still works: reaping leftovers never fails a command.
        listed = probe.run("list", env=env)
        probe.exit_ok(listed.returncode, 0, listed.stdout, listed.stderr)
    finally:
        dead.close()


def test_sigterm_of_a_docker_run_is_a_graceful_stop_and_removes_the_container(probe, k6_image, started_runs):
    proc, out, run_id = start_docker_run(probe, k6_image, started_runs, parallelism=1)
    os.kill(proc.pid, signal.SIGTERM)
    code, stdout, stderr = probe.finish(proc)
    probe.exit_ok(code, 105, stdout, stderr)
    record = probe.record(out)
    assert record["interrupted"] is True and (out / "report.html").is_file()
    assert not probe.containers(run_id)


def test_killing_one_run_leaves_a_concurrent_runs_containers_alone(probe, k6_image, started_runs):
    """The watchdog and the reaper remove the dead run's containers only."""
    victim, _, victim_id = start_docker_run(probe, k6_image, started_runs, parallelism=1, name="victim")
    other, other_out, other_id = start_docker_run(
        probe, k6_image, started_runs, parallelism=1, options="{ vus: 1, duration: '6s' }", name="other"
    )
    victim.kill()
    victim.wait()
    assert probe.wait_for(lambda: not probe.containers(victim_id), GONE_WITHIN_S, 0.2), probe.containers(
        victim_id
    )
    listed = probe.run("list")  # reaps: must not touch the live run
    probe.exit_ok(listed.returncode, 0, listed.stdout, listed.stderr)
    assert other_id not in listed.stderr, listed.stderr
    code, stdout, stderr = probe.finish(other)
    probe.exit_ok(code, 0, stdout, stderr)
    assert probe.record(other_out)["interrupted"] is False
    assert not probe.containers(other_id), probe.containers(other_id)


def test_ci_and_the_tests_never_stop_processes_by_name():
    """``pkill -x prometheus`` in .ci/run could end processes that were not the run's.

    Processes are stopped by the PID of what started them (or by the service manager
    that started them); a name matches strangers too.
    """
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    by_name = re.compile(r"\b(pkill|killall)\b|pgrep[^\n|]*\|\s*xargs\s+kill")
    files = [repo / ".ci" / "run", repo / "Makefile", *repo.glob("mk/*"), *(repo / "tests").rglob("*.py")]
    files += [*(repo / "benchmarks").rglob("*.sh")]
    offenders = [
        f"{path.relative_to(repo)}:{n}"
        for path in files
        if path.is_file() and path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if by_name.search(line) and not line.lstrip().startswith("#")
    ]
    assert not offenders, offenders
