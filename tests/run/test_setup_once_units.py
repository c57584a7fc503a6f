"""``--setup once`` without an engine: the flags each runner gets, what the user switched
off, k6's error answers, and the exit code a coordinated split run ends with."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from novaload.errors import UsageError
from novaload.run.outcome import k6_exit_code, setup_teardown_exit_code
from novaload.run.prepare import RunRequest, prepare
from novaload.runners.base import SETUP_ONCE, SETUP_PER_RUNNER, SetupTeardown
from novaload.runners.ports import free_port
from novaload.runners.segments import segment_args
from novaload.runners.setup_once import (
    Coordination,
    HttpK6Api,
    Switches,
    error_detail,
    instance_args,
    script_options,
    user_switches,
)


def test_only_the_last_runner_lingers_and_nobody_runs_setup_by_itself() -> None:
    assert [instance_args(i, 3) for i in range(3)] == [
        ["--no-setup", "--no-teardown"],
        ["--no-setup", "--no-teardown"],
        ["--no-setup", "--no-teardown", "--linger"],
    ]


@pytest.mark.parametrize(
    ("args", "env", "config", "script", "expected"),
    [
        ((), {}, None, None, Switches(True, True)),
        (("--no-setup",), {}, None, None, Switches(False, True)),
        (("--no-teardown=true",), {}, None, None, Switches(True, False)),
        (("--no-setup", "--no-setup=false"), {}, None, None, Switches(True, True)),
        ((), {"K6_NO_SETUP": "1"}, None, None, Switches(False, True)),
        ((), {"K6_NO_TEARDOWN": "TRUE"}, None, {"noTeardown": False}, Switches(True, False)),
        (("--no-teardown=false",), {"K6_NO_TEARDOWN": "true"}, None, None, Switches(True, True)),
        ((), {}, {"noSetup": True}, None, Switches(False, True)),
        ((), {}, {"noSetup": False}, {"noSetup": True}, Switches(True, True)),
        ((), {}, None, {"noSetup": True, "noTeardown": None}, Switches(False, True)),
        ((), {"K6_NO_SETUP": "yes"}, None, None, Switches(True, True)),  # not a Go bool: k6 refuses it itself
    ],
    ids=[
        "nothing",
        "flag",
        "flag-value",
        "last-flag-wins",
        "env",
        "env-beats-script",
        "flag-beats-env",
        "config-file",
        "config-beats-script",
        "script-options",
        "env-not-a-bool",
    ],
)
def test_user_switches_follow_k6s_precedence(
    tmp_path: Path,
    args: tuple[str, ...],
    env: dict[str, str],
    config: dict[str, object] | None,
    script: dict[str, object] | None,
    expected: Switches,
) -> None:
    """Flag, then environment, then the --config file, then the script's options."""
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        args = (*args, "--config", str(path))
    assert user_switches(args, env, script) == expected


def test_script_options_are_read_by_k6_inspect_with_the_runners_environment(
    k6_bin: str, tmp_path: Path
) -> None:
    script = tmp_path / "s.js"
    script.write_text(
        "export const options = { noSetup: __ENV.SKIP === 'yes', noTeardown: __ENV.FROM_FLAG === 'on' };\n"
        "export default function () {}\n"
    )
    options = script_options(k6_bin, script, ("-e", "FROM_FLAG=on"), {"SKIP": "yes"}, tmp_path)
    assert options is not None
    assert (options["noSetup"], options["noTeardown"]) == (True, True)
    broken = tmp_path / "broken.js"
    broken.write_text("throw new Error('init fails');\nexport default function () {}\n")
    assert script_options(k6_bin, broken, (), {}, tmp_path) is None  # the runners report it, as k6


def test_error_detail_is_k6s_message_on_one_line() -> None:
    body = json.dumps(
        {
            "errors": [
                {
                    "status": "500",
                    "title": "Error executing setup",
                    "detail": "Error: boom\n\tat setup (file:///s.js:4:61(8))\n",
                }
            ]
        }
    ).encode()
    assert error_detail(body) == "Error: boom at setup (file:///s.js:4:61(8))"
    assert error_detail(b"not json") == "not json"


@pytest.mark.parametrize(
    ("phase", "error", "code"),
    [
        ("setup", "Error: boom at setup (file:///s.js:4:61(8))", 107),
        ("setup", "setup() execution timed out after 2 seconds", 100),
        ("teardown", "teardown() execution timed out after 2 seconds", 101),
        ("teardown", "test aborted: enough at teardown (file:///s.js:9:3(5))", 108),
        ("setup", "teardown() execution timed out after 2 seconds", 107),
    ],
)
def test_setup_teardown_exit_code_is_k6s(phase: str, error: str, code: int) -> None:
    """The codes `k6 run` exits with for the same failure (seen with k6 1.1.0)."""
    assert setup_teardown_exit_code(phase, error) == code


def _once(**kw: object) -> SetupTeardown:
    return SetupTeardown(mode=SETUP_ONCE, runner=3, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "lifecycle", "expected"),
    [
        ((0, 0, 0), _once(setup="called", teardown="called", runner_exit_code=0), 0),
        ((105, 105, 105), _once(setup="failed", error="Error: boom", runner_exit_code=105), 107),
        ((105, 105, 105), _once(setup="failed", error="setup() execution timed out after 1 seconds"), 100),
        ((0, 0, 0), _once(setup="called", teardown="failed", error="Error: boom", runner_exit_code=0), 107),
        ((99, 0, 0), _once(setup="called", teardown="failed", error="Error: boom", runner_exit_code=0), 107),
        (
            (108, 0, 103),
            _once(setup="called", teardown="failed", error="Error: boom", runner_exit_code=103),
            108,
        ),
        (
            (105, 105, 103),
            _once(setup="called", teardown="called", runner_exit_code=103, stopped_for_interrupt=True),
            105,
        ),
        (
            (0, 0, 103),
            _once(setup="called", teardown="called", runner_exit_code=103, stopped_for_interrupt=True),
            105,
        ),
        (
            (0, 0, 0),
            _once(setup="called", teardown="called", runner_exit_code=0, stopped_for_interrupt=True),
            105,
        ),
        (
            (0, 0, 137),
            _once(setup="called", teardown="not called", runner_exit_code=137, stopped_for_interrupt=True),
            137,
        ),
        ((0, 0, 103), _once(setup="called", teardown="called", runner_exit_code=103), 103),
        ((0, 0, 0), SetupTeardown(mode=SETUP_PER_RUNNER), 0),
    ],
    ids=[
        "all-ran",
        "setup-threw",
        "setup-timed-out",
        "teardown-threw",
        "teardown-beats-a-slice-threshold",
        "a-crash-beats-teardown",
        "ctrl-c-others-105",
        "ctrl-c-after-the-others-ended",
        "ctrl-c-during-teardown",
        "killed-stays-killed",
        "stopped-by-someone-else",
        "per-runner",
    ],
)
def test_a_coordinated_split_run_exits_as_one_k6(
    codes: tuple[int, ...], lifecycle: SetupTeardown, expected: int
) -> None:
    assert k6_exit_code(codes, rejudged=True, setup_teardown=lifecycle) == expected


NULL_OR_UNDEFINED = """
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 2, iterations: 2 } } };
export function setup() { return __ENV.RETURN === 'null' ? null : undefined; }
export default function (data) { console.log('SAW ' + (data === null ? 'null' : typeof data)); }
"""


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("returned", ["null", "undefined"])
def test_two_local_k6_get_setups_null_or_undefined_as_it_was(
    k6_bin: str, tmp_path: Path, returned: str
) -> None:
    """k6 tells undefined (no data in its answer) from null: every VU sees what setup()
    returned. Two real k6 processes on loopback, driven as a runner drives them."""
    script = tmp_path / "s.js"
    script.write_text(NULL_OR_UNDEFINED)
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [
                k6_bin,
                "run",
                "--quiet",
                "--paused",
                "--address",
                f"127.0.0.1:{port}",
                *segment_args(i, 2),
                *instance_args(i, 2),
                str(script),
            ],
            env={**os.environ, "K6_NO_USAGE_REPORT": "true", "RETURN": returned},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i, port in enumerate(ports)
    ]
    try:
        apis = [HttpK6Api(f"http://127.0.0.1:{port}") for port in ports]
        coordination = Coordination(apis, Switches(), lambda line: None)

        def answers(api: HttpK6Api) -> bool:
            try:
                return api.call("GET", "v1/status")[0] == 200
            except OSError:
                return False

        _wait(lambda: all(answers(api) for api in apis), "k6's REST APIs")
        _wait(lambda: coordination.before_release() == "release", "setup()")
        body = json.dumps({"data": {"type": "status", "id": "default", "attributes": {"paused": False}}})
        for api in apis:
            assert api.call("PATCH", "v1/status", body.encode())[0] == 200
        _wait(lambda: procs[0].poll() is not None, "the first runner's end")
        _wait(lambda: coordination.after_release(True, False) == "end", "the coordinator's iterations")
        procs[1].send_signal(signal.SIGINT)  # ends its --linger
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0]
    assert coordination.setup == "called" and coordination.teardown == "called"
    assert [out.count(f"SAW {returned}") for out in outputs] == [1, 1], outputs


def test_setup_option_is_validated_before_anything_runs(tmp_path: Path) -> None:
    script = tmp_path / "s.js"
    script.write_text("export default function () {}\n")
    with pytest.raises(UsageError, match="--setup 'twice'"):
        prepare(RunRequest(target=str(script), setup="twice"), "r", tmp_path / "run")
