"""``doctor`` says "docker compose ok" only for a compose that answered ``version``: the v2
plugin (``docker compose version``) or the v1 binary (``docker-compose version``), each
actually run, found on the PATH of the environment it is given."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support import require_tool

from novaload.doctor import run_checks


def _compose_check(path: Path) -> tuple[str, str]:
    (check,) = [
        c for c in run_checks(environ={**os.environ, "PATH": str(path)}) if c.name == "docker compose"
    ]
    return check.status, check.detail


def _link(folder: Path, name: str, target: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).symlink_to(target)


def test_neither_on_the_path_is_a_warning_naming_both(tmp_path: Path) -> None:
    status, detail = _compose_check(tmp_path)
    assert status == "warn"
    assert "`docker compose` (v2 plugin): docker not found" in detail
    assert "`docker-compose` (v1): docker-compose not found" in detail
    assert "needed only for `novaload monitor`" in detail


def test_a_docker_cli_without_the_plugin_is_not_a_compose(tmp_path: Path) -> None:
    """The case `doctor` got wrong: a `docker` whose `compose version` fails (here a program
    that fails every command) and no v1 binary."""
    _link(tmp_path / "bin", "docker", shutil.which("false") or "/bin/false")
    status, detail = _compose_check(tmp_path / "bin")
    assert status == "warn", detail
    assert "`docker compose version` (v2 plugin) failed" in detail


def test_the_v1_binary_is_run_and_its_version_shown(tmp_path: Path) -> None:
    v1 = shutil.which("docker-compose")
    require_tool(v1 is not None, "docker-compose (v1) not installed")
    assert v1 is not None
    _link(tmp_path / "bin", "docker", shutil.which("false") or "/bin/false")
    _link(tmp_path / "bin", "docker-compose", v1)
    status, detail = _compose_check(tmp_path / "bin")
    assert status == "ok", detail
    assert detail.startswith("`docker-compose` (v1): docker-compose version ")


def test_a_broken_v1_binary_is_not_a_compose(tmp_path: Path) -> None:
    _link(tmp_path / "bin", "docker-compose", shutil.which("false") or "/bin/false")
    status, detail = _compose_check(tmp_path / "bin")
    assert status == "warn" and "`docker-compose version` (v1) failed" in detail
