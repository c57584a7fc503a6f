"""The CLI through typer's test runner: parsing, wiring and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from novaload.cli import main
from novaload.cli.app import app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(
        app, ["--config-dir", str(REPO / "configs"), "--scenarios-dir", str(REPO / "k6-scenarios"), *args]
    )


def test_list_shows_every_kind():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for word in (
        "scenarios",
        "api",
        "environments",
        "staging",
        "requires --yes",
        "profiles",
        "smoke",
        "soak",
    ):
        assert word in result.output


def test_render_to_file(tmp_path: Path):
    out = tmp_path / "api.js"
    result = invoke("render", "api", "--env", "staging", "--profile", "smoke", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "export const options" in text and '"p(95)<1000"' in text


def test_render_to_stdout():
    result = invoke("render", "api", "--vus", "3", "--duration", "7s")
    assert result.exit_code == 0
    assert '"vus": 3' in result.output and '"duration": "7s"' in result.output


def test_version():
    from novaload import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["render", "nope"], 2),
        (["run"], 2),
        (["frobnicate"], 2),
        (["run", "api", "--runner", "kubernetes"], 2),
    ],
    ids=["unknown-scenario", "missing-argument", "unknown-command", "unknown-runner"],
)
def test_main_maps_errors_to_exit_codes(argv: list[str], code: int, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--config-dir", str(REPO / "configs"), *argv])
    assert info.value.code == code
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_doctor_reports_k6_and_config():
    result = invoke("doctor")
    assert "k6" in result.output and "configuration" in result.output
    assert result.exit_code == 0, result.output


def test_main_exits_with_the_commands_code(monkeypatch):
    """typer.Exit(99) inside a command must become the process exit status."""
    import typer

    @app.command("exit-probe", hidden=True)
    def _probe() -> None:
        raise typer.Exit(99)

    try:
        with pytest.raises(SystemExit) as info:
            main(["exit-probe"])
        assert info.value.code == 99
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "exit-probe"]


def test_cli_start_up_does_not_import_the_heavy_engines():
    """`novaload --help` / `list` / `render` must not pay for pandas, DuckDB or docker:
    command modules import them inside the commands that need them. (What `run` imports
    before k6 starts: tests/test_startup.py.)"""
    import subprocess
    import sys

    from support import import_chains

    heavy = (
        "pandas",
        "numpy",
        "duckdb",
        "docker",
        "kubernetes",
        "influxdb_client",
        "pydantic",
        "jinja2",
        "yaml",
        "aiohttp",
        "sqlite3",
        "http.client",
        "novaload.config.models",
        "novaload.run.pipeline",
    )
    code = f"import sys, novaload.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    found = [m for m in out.stdout.strip().split(",") if m]
    chains = import_chains(out.stderr, set(found))
    assert not found, "imported by `import novaload.cli`:\n" + "\n".join(
        f"{m} (via {chains.get(m, '?')})" for m in found
    )
