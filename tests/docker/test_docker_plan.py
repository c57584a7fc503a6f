"""What the Docker runner asks of Docker and k6, checked without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from novaload.run.outcome import k6_exit_code as combined_exit_code
from novaload.runners.base import ExecutionPlan
from novaload.runners.docker import (
    InstanceFiles,
    container_name,
    instance_env,
    k6_command,
    label_filters,
    volume_binds,
)


def _plan(tmp_path: Path, script: Path | None = None, **kw: object) -> ExecutionPlan:
    return ExecutionPlan(
        run_id="api-20261121-1",
        script=script or tmp_path / "scripts" / "api.js",
        run_dir=tmp_path / "run",
        k6_args=("--tag", "testid=api-20261121-1"),
        env={"TOKEN": "s3cret-value"},
        k6_binary="k6",
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0], 0),
        ([99], 99),
        ([107], 107),
        ([0, 0, 0], 0),
        ([0, 99], 99),
        ([99, 99], 99),
        ([99, 107], 107),
        ([0, 105, 137], 105),
        ([137, 99], 137),
    ],
    ids=[
        "one-ok",
        "one-99",
        "one-107",
        "all-ok",
        "one-threshold",
        "all-threshold",
        "crash-beats-threshold",
        "first-failure",
        "kill-beats-threshold",
    ],
)
def test_combined_exit_code(codes: list[int], expected: int) -> None:
    assert combined_exit_code(codes) == expected


def test_single_instance_command_has_outputs_and_no_segment(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    files = InstanceFiles.for_instance(plan, 0, 1)
    cmd = k6_command(plan, files, 0, 1, "127.0.0.1:7000")
    run_dir = (tmp_path / "run").resolve()
    assert cmd[:2] == ["run", str(plan.script.resolve())]
    assert cmd[2:4] == ["--tag", "testid=api-20261121-1"]
    assert f"json={run_dir / 'k6-results.json'}" in cmd
    assert cmd[cmd.index("--summary-export") + 1] == str(run_dir / "k6-summary-export.json")
    assert cmd[cmd.index("--address") + 1] == "127.0.0.1:7000"
    assert "--execution-segment" not in cmd
    assert "--paused" not in cmd  # nothing to synchronise with


@pytest.mark.parametrize(
    ("index", "segment", "suffix"),
    [
        (0, "0:1/3", "1of3"),
        (1, "1/3:2/3", "2of3"),
        (2, "2/3:1", "3of3"),
    ],
    ids=["first", "middle", "last"],
)
def test_split_instance_command(tmp_path: Path, index: int, segment: str, suffix: str) -> None:
    plan = _plan(tmp_path, parallelism=3)
    files = InstanceFiles.for_instance(plan, index, 3)
    cmd = k6_command(plan, files, index, 3, "127.0.0.1:7000")
    assert cmd[cmd.index("--execution-segment") + 1] == segment
    assert cmd[cmd.index("--execution-segment-sequence") + 1] == "0,1/3,2/3,1"
    assert "--paused" in cmd  # released together once every instance is up
    assert files.results.name == f"k6-results-{suffix}.json"
    assert f"json={files.results}" in cmd
    assert instance_env(plan, files)["NOVALOAD_K6_SUMMARY"] == str(files.summary)
    assert files.summary.name == f"k6-summary-{suffix}.json"


def test_env_keeps_plan_values_and_sets_summary_path(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    env = instance_env(plan, InstanceFiles.for_instance(plan, 0, 1))
    assert env["TOKEN"] == "s3cret-value"
    assert env["NOVALOAD_K6_SUMMARY"] == str((tmp_path / "run" / "k6-summary.json").resolve())


def test_binds_script_folder_read_only_and_run_folder_read_write(tmp_path: Path) -> None:
    binds = volume_binds(_plan(tmp_path))
    scripts, run = str((tmp_path / "scripts").resolve()), str((tmp_path / "run").resolve())
    assert binds == {run: {"bind": run, "mode": "rw"}, scripts: {"bind": scripts, "mode": "ro"}}


def test_users_working_directory_is_bound_read_write_for_handle_summary(tmp_path: Path) -> None:
    """A user's script runs in their directory, as `k6 run` does: handleSummary writes there."""
    binds = volume_binds(_plan(tmp_path, working_dir=tmp_path / "cwd"))
    cwd = str((tmp_path / "cwd").resolve())
    assert binds[cwd] == {"bind": cwd, "mode": "rw"}
    assert str((tmp_path / "scripts").resolve()) in binds


def test_script_inside_run_folder_is_one_read_write_bind(tmp_path: Path) -> None:
    binds = volume_binds(_plan(tmp_path, script=tmp_path / "run" / "api.js"))
    run = str((tmp_path / "run").resolve())
    assert binds == {run: {"bind": run, "mode": "rw"}}


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [
        ("api-20261121-1", "novaload-api-20261121-1-2of4"),
        ("my run/1", "novaload-my-run-1-2of4"),
    ],
    ids=["plain", "unsafe-chars"],
)
def test_container_name(run_id: str, expected: str) -> None:
    assert container_name(run_id, 1, 4) == expected


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [
        (None, ["io.novaload.managed=true"]),
        ("r1", ["io.novaload.managed=true", "io.novaload.run-id=r1"]),
    ],
    ids=["all-runs", "one-run"],
)
def test_label_filters(run_id: str | None, expected: list[str]) -> None:
    assert label_filters(run_id) == expected
