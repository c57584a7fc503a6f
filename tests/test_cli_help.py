"""Every command's ``--help``, as a Typer or click user reads it, at 80 columns.

The help of every command and subcommand is rendered through the real CLI and each of its
parameters is checked against what the help shows: a help text that survived rendering
word for word (nothing eaten as markup), its default, its choices, and a value named by a
metavar (``--env NAME``), not by a type placeholder (``<str>``, ``<bool>``, ``<list[Path]>``).
``novaload/cli/app.py`` states the conventions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from novaload.cli import app

runner = CliRunner()
WIDTH = 80
# What typer prints when a value has no metavar: the type, not what the value means.
TYPE_PLACEHOLDER = re.compile(
    r"<(?:str|bool|int|float|path|file|directory|int range|float range|list\[[^>]*\])>"
)


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not sub.hidden:
                yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


COMMANDS = list(_commands())


def _help(path: list[str], width: int = WIDTH) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(width)}, terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output


def _flat(text: str) -> str:
    """Wrapped help as one line: click breaks lines at spaces and after hyphens."""
    return re.sub(r"\s+", " ", re.sub(r"(?<=\w-)\n\s+", "", text))


def _context(path: list[str], command: Any) -> Any:
    root = typer.main.get_command(app)
    ctx = root.make_context("novaload", [], resilient_parsing=True)
    for name in path:
        ctx = ctx.command.get_command(ctx, name).make_context(name, [], parent=ctx, resilient_parsing=True)
    return ctx


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "novaload" for p, _ in COMMANDS])
def test_help_shows_every_parameter_with_its_help_default_and_choices(path: list[str], command: Any):
    shown = _help(path)
    flat = _flat(shown)
    assert command.help and command.help.strip(), f"{path}: the command has no help"
    for line in shown.splitlines():
        assert len(line) <= WIDTH, f"{path}: wider than {WIDTH} columns: {line!r}"
    ctx = _context(path, command)
    for param in command.params:
        if param.hidden or param.name == "help":
            continue
        where = f"novaload {' '.join(path)} {param.opts[0]}"
        text = (param.help or "").strip()
        assert text, f"{where}: no help text"
        assert "[default" not in text, f"{where}: a default in the help text (use show_default=)"
        # Every word written survived: rich markup would have eaten "[default: …]", "[b]".
        assert _flat(text) in flat, f"{where}: help text not shown as written: {text!r}"
        names, record = param.get_help_record(ctx)
        if param.param_type_name == "argument":
            # Typer prints an argument's type after its name; the name is a metavar.
            assert param.metavar and param.metavar.removeprefix("-- ")[0].isupper(), (
                f"{where}: give the argument a metavar in capitals"
            )
            assert names.startswith(param.metavar), f"{where}: {names!r}"
        else:
            assert not TYPE_PLACEHOLDER.search(names), f"{where}: shows {names!r}; give it a metavar"
            assert _flat(names) in flat, f"{where}: {names!r} missing from the help"
            has_default = isinstance(param.show_default, str) or param.default not in (None, False, ())
            if has_default and not param.is_flag:
                assert "[default:" in record or "default:" in record, f"{where}: its default is not shown"
                assert _flat(record.split("[", 1)[1]) in flat, f"{where}: default not rendered"


def test_no_help_has_a_type_placeholder_or_a_bool():
    for path, _ in COMMANDS:
        options = _help(path).split("Options:", 1)[-1]
        found = TYPE_PLACEHOLDER.findall(options)
        assert not found, f"novaload {' '.join(path)} --help: {found}"


@pytest.mark.parametrize(
    ("path", "option", "choices"),
    [
        (["run"], "--runner", "novaload.runners:RUNNER_NAMES"),
        (["run"], "--k8s-mode", "novaload.runners.base:K8S_MODES"),
        (["run"], "--raw", "novaload.runfolder:RAW_RESULTS_NAMES"),
        (["run"], "--no-data", "novaload.thresholds:NO_DATA_CHOICES"),
        (["report"], "--no-data", "novaload.thresholds:NO_DATA_CHOICES"),
        (["suite"], "--mode", "novaload.config.suite:Suite.mode"),
    ],
)
def test_choices_are_listed_from_the_library(path: list[str], option: str, choices: str):
    import importlib
    import typing

    module, _, name = choices.partition(":")
    if name == "Suite.mode":
        expected = typing.get_args(importlib.import_module(module).Suite.model_fields["mode"].annotation)
    else:
        expected = tuple(getattr(importlib.import_module(module), name))
    assert f"{option} [{'|'.join(expected)}]" in _help(path)


def test_help_at_40_columns_still_renders():
    """A very narrow terminal wraps; nothing raises and every option is still named."""
    shown = _help(["run"], width=40)
    for opt in ("--env", "--out-dir", "--runner", "--no-data"):
        assert opt in shown
