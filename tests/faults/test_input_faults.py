"""Fault probes on input k6 would reject at start, and config files that can't be read.

Each is refused before anything starts: exit 2, one line naming the file and the key path
(or the flag), no traceback, no demo target started, no run folder made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_WIRING = ("ENVIRONMENT", "PROFILE", "CONCURRENT_USERS", "TEST_DURATION", "API_TARGET", "NOVALOAD_DEBUG")


def novaload(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in _WIRING}
    full.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    try:
        return subprocess.run(
            [sys.executable, "-m", "novaload", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=full,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"novaload {' '.join(args)} hung")


def refused(proc: subprocess.CompletedProcess[str], out: Path, *needles: str) -> str:
    """Exit 2, one error line holding ``needles``, no traceback, nothing started or made."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert "demo target started" not in proc.stderr
    assert not out.exists()
    return errors[0]


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A copy of the shipped configs/ to break."""
    copy = tmp_path / "configs"
    shutil.copytree(REPO / "configs", copy)
    return copy


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "run"


def run_api(
    configs: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return novaload(
        "--config-dir",
        str(configs),
        "run",
        "api",
        "--env",
        "local",
        "--profile",
        "dev",
        "--out-dir",
        str(out),
        *extra,
        env=env,
    )


# ---- what k6 rejects at start -------------------------------------------------------------


def test_a_malformed_scenario_threshold(configs: Path, out: Path) -> None:
    path = configs / "scenarios" / "api.yaml"
    path.write_text(path.read_text().replace("p(95)<800", "p(95)<<3", 1))
    refused(run_api(configs, out), out, "api.yaml", "invalid threshold", "endpoints")


def test_a_malformed_threshold_under_thresholds(configs: Path, out: Path) -> None:
    path = configs / "scenarios" / "api.yaml"
    text = path.read_text()
    assert "\nthresholds:\n" in text
    path.write_text(text.replace("\nthresholds:\n", "\nthresholds:\n  http_reqs: ['count>>1']\n", 1))
    refused(run_api(configs, out), out, "api.yaml", "thresholds", "http_reqs")


@pytest.mark.parametrize("flag", [["--duration", "0s"], ["--duration", "0m0s"]], ids=["0s", "0m0s"])
def test_a_zero_duration_for_a_scenario(configs: Path, out: Path, flag: list[str]) -> None:
    refused(run_api(configs, out, *flag), out, "--duration", "longer than 0s")


def test_a_zero_test_duration_from_the_environment(configs: Path, out: Path) -> None:
    refused(run_api(configs, out, env={"TEST_DURATION": "0s"}), out, "TEST_DURATION", "longer than 0s")


def test_a_zero_duration_for_a_users_script(tmp_path: Path, out: Path) -> None:
    script = tmp_path / "own.js"
    script.write_text("export default function () {}\n")
    refused(novaload("run", str(script), "--duration", "0s", "--out-dir", str(out)), out, "--duration")


def test_a_zero_duration_in_a_profile(configs: Path, out: Path) -> None:
    path = configs / "profiles.yaml"
    path.write_text(path.read_text().replace("    duration: 5s\n", "    duration: 0s\n", 1))
    refused(run_api(configs, out), out, "profiles.yaml", "profiles.dev.duration", "longer than 0s")


def test_a_scenario_name_k6_rejects(configs: Path, out: Path) -> None:
    shutil.copy(configs / "scenarios" / "api.yaml", configs / "scenarios" / "api🔥.yaml")
    line = refused(
        novaload("--config-dir", str(configs), "run", "api🔥", "--env", "local", "--out-dir", str(out)),
        out,
        "api🔥.yaml",
        "scenario name",
    )
    assert "latin letters" in line


def test_a_k6_scenario_name_in_params_k6_rejects(configs: Path, out: Path) -> None:
    path = configs / "scenarios" / "mixed.yaml"
    text = path.read_text()
    assert "k6_scenarios:" in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "k6_scenarios:")
    child = lines[at + 1]
    indent = child[: len(child) - len(child.lstrip())]
    name = child.strip().split(":")[0]
    lines[at + 1] = child.replace(f"{indent}{name}:", f"{indent}'{name} two':", 1)
    path.write_text("\n".join(lines) + "\n")
    refused(run_api(configs, out), out, "mixed.yaml", "params.k6_scenarios", "scenario name")


# ---- config files that can't be read ------------------------------------------------------


def test_a_config_file_that_is_not_utf8(configs: Path, out: Path) -> None:
    path = configs / "profiles.yaml"
    path.write_bytes(path.read_bytes() + "# caf\u00e9\n".encode("latin-1"))
    refused(run_api(configs, out), out, "profiles.yaml", "not UTF-8", "line")


def test_a_scenario_file_that_is_not_utf8(configs: Path, out: Path) -> None:
    path = configs / "scenarios" / "api.yaml"
    path.write_bytes(b"description: \xff\xfe\n" + path.read_bytes())
    refused(run_api(configs, out), out, "api.yaml", "not UTF-8", "line 1")


def test_a_config_dir_that_is_a_file(tmp_path: Path, out: Path) -> None:
    blocker = tmp_path / "configs"
    blocker.write_text("not a folder")
    refused(run_api(blocker, out), out, str(blocker))


def test_a_config_file_that_is_a_folder(configs: Path, out: Path) -> None:
    (configs / "profiles.yaml").unlink()
    (configs / "profiles.yaml").mkdir()
    refused(run_api(configs, out), out, "profiles.yaml")
